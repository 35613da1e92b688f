//! Helpers of the gcn end-to-end tests: a learnable synthetic stream and running the tools.
#![allow(dead_code)]

use nextgnn_stream::{Graph, Schema, StreamWriter};
use std::path::Path;
use std::process::{Command, Output};

/// A small deterministic generator (64-bit LCG), enough for test data.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }
    pub fn next_f32(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32) / (1u64 << 24) as f32
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f32() * n as f32) as usize % n
    }
}

/// A track-like chain of voxels with a blob (high-energy, labelled 2) at one end for class 0 and
/// at both ends for class 1; other voxels are track (1). Features: energy, a noise feature.
pub fn chain_graph(rng: &mut Lcg, fnum: i64, id: i64, class: i64) -> Graph {
    let n = 10 + rng.below(4);
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut coords = Vec::new();
    for i in 0..n {
        let blob = i < 2 || (class == 1 && i >= n - 2);
        let e = if blob {
            0.8 + 0.2 * rng.next_f32()
        } else {
            0.02 + 0.08 * rng.next_f32()
        };
        x.extend([e, 0.2 + 0.8 * rng.next_f32()]);
        y.push(if blob { 2 } else { 1 });
        coords.extend([i as i64, (rng.below(3)) as i64, 0]);
    }
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for i in 0..n as u32 - 1 {
        src.extend([i, i + 1]);
        dst.extend([i + 1, i]);
    }
    let e = src.len();
    Graph {
        fnum,
        dataset_id: id,
        binclass: class,
        num_nodes: n,
        x,
        y,
        coords,
        src,
        dst,
        edge_attr: vec![1.0; e * 2],
        edge_weight: vec![1.0; e],
    }
}

/// The schema of the synthetic streams.
pub fn schema(labelled: bool) -> Schema {
    let mut s = Schema::reference(&["ener", "nhits"], &["x", "y", "z"]);
    s.has_node_labels = labelled;
    s
}

/// Writes `n` synthetic graphs (classes alternating, ids shuffled by the seed) to `path`.
pub fn write_synthetic(path: &Path, n: usize, seed: u64, labelled: bool) {
    let mut rng = Lcg::new(seed);
    let f = std::fs::File::create(path).unwrap();
    let mut w = StreamWriter::new(std::io::BufWriter::new(f), schema(labelled), "test").unwrap();
    for k in 0..n {
        let mut g = chain_graph(&mut rng, (seed % 3) as i64, (n - k) as i64, (k % 2) as i64);
        if !labelled {
            g.y.clear();
        }
        w.write(&g).unwrap();
    }
    w.finish().unwrap();
}

/// Writes `graphs` as a stream with `schema` to `path`.
pub fn write_graphs(path: &Path, schema: Schema, graphs: impl IntoIterator<Item = Graph>) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = StreamWriter::new(std::io::BufWriter::new(f), schema, "test").unwrap();
    for g in graphs {
        w.write(&g).unwrap();
    }
    w.finish().unwrap();
}

/// Runs a built tool and returns its output.
pub fn run(tool: &str, args: &[&str]) -> Output {
    Command::new(nextgnn_stream::testing::tool_path(tool))
        .args(args)
        .output()
        .unwrap()
}

/// Runs a tool that must succeed; returns stderr.
pub fn run_ok(tool: &str, args: &[&str]) -> String {
    let o = run(tool, args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{tool} {args:?} failed: {err}");
    err
}

/// Rows of a CSV file with a header: (header, rows of fields).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// A path as the `&str` the tools' argument lists take.
pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs gcn-train on `train` and `valid` into `out`, with `extra` options; returns stderr.
pub fn train_ok(train: &Path, valid: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["--train", p(train), "--valid", p(valid), "--out", p(out)];
    args.extend_from_slice(extra);
    run_ok("gcn-train", &args)
}

/// Runs gcn-predict with `model` on `input`, writing `output`, with `extra` options; returns stderr.
pub fn predict_ok(model: &Path, input: &Path, output: &Path, extra: &[&str]) -> String {
    let mut args = vec!["--model", p(model), p(input), "-o", p(output)];
    args.extend_from_slice(extra);
    run_ok("gcn-predict", &args)
}

/// Runs a tool that must fail with status 1 and print exactly one line, an error; returns it.
pub fn fail_line(tool: &str, args: &[&str]) -> String {
    let o = run(tool, args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{tool} {args:?}: {err}");
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{tool} {args:?}: not one error line: {err}"
    );
    err.trim_end().to_string()
}
