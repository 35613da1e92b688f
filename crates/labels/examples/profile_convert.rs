//! Times the conversion stages on one label file, for profiling (not a benchmark of record).
//!
//!   cargo run --release -p nextgnn-labels --example profile_convert -- FILE [classic]
//!
//! Prints process CPU time per event of: reading and building every graph (graphs dropped), and the
//! same plus encoding each graph as a stream frame (nothing written).

use nextgnn_labels::{convert, schema, EdgeMode, Options};
use nextgnn_stream::Graph;

/// Process CPU seconds (user + system) from /proc, so that a loaded machine does not matter.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of the file (utime, stime) in clock ticks of 1/100 s.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = Options {
        inputs: vec![args[0].clone().into()],
        ..Default::default()
    };
    if args.get(1).map(String::as_str) == Some("classic") {
        opts.build.edges = EdgeMode::Classic;
        opts.build.cloud_info = true;
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()?;
    let pb = indicatif::ProgressBar::hidden();
    for round in 0..3 {
        let t = cpu();
        let mut edges = 0usize;
        let s = convert(&opts, &pb, &mut |g: &Graph| {
            edges += g.src.len();
            Ok(())
        })?;
        let build = cpu() - t;
        let sch = schema(&opts);
        let t = cpu();
        let mut bytes = 0usize;
        convert(&opts, &pb, &mut |g: &Graph| {
            bytes += nextgnn_stream::format::encode_frame(g, &sch)?.len();
            Ok(())
        })?;
        let enc = cpu() - t;
        let ev = s.events as f64;
        println!(
            "round {round}: {} events, {edges} edges: read+build {:.2} us/event, +encode {:.2} us/event ({bytes} bytes)",
            s.events,
            build / ev * 1e6,
            enc / ev * 1e6
        );
    }
    Ok(())
}
