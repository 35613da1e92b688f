//! Converts a reference graph JSON file (`graphs_*.json`, golden README section 2) to a graph stream.
//!
//! Used by the Python reader's tests and the benchmark to make streams from the reference graphs:
//! `json2stream graphs_classic_cloud.json out.gs [REPEAT]` (REPEAT copies with dataset_id offset).

use nextgnn_stream::testing::{golden_schema, graphs_from_json};
use nextgnn_stream::{command_line, run_main, Output, StreamWriter};

fn main() {
    run_main(|| {
        let args: Vec<String> = std::env::args().collect();
        if args.len() < 3 {
            anyhow::bail!("usage: json2stream GRAPHS.json OUT.gs|- [REPEAT]");
        }
        let text =
            std::fs::read_to_string(&args[1]).map_err(|e| anyhow::anyhow!("{}: {e}", args[1]))?;
        let graphs = graphs_from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args[1]))?;
        let repeat: i64 = match args.get(3) {
            Some(r) => r
                .parse()
                .map_err(|_| anyhow::anyhow!("REPEAT {r:?} is not an integer"))?,
            None => 1,
        };
        let name = std::path::Path::new(&args[1])
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let out = Output::create(&args[2])?;
        let mut w = StreamWriter::new(out, golden_schema(&name), &command_line())?;
        // Copies keep every array and move dataset_id past the originals', so (fnum, dataset_id) stays unique.
        let stride = graphs.iter().map(|g| g.dataset_id).max().unwrap_or(0) + 1;
        for r in 0..repeat {
            for g in &graphs {
                let mut g = g.clone();
                g.dataset_id += r * stride;
                w.write(&g)?;
            }
        }
        w.finish()?.commit()
    })
}
