//! The bad inputs listed in docs/FORMAT.md, each run through the built tools: exact one-line
//! error, exit status 1, no panic, no partial output file.

use nextgnn_stream::testing::{golden, golden_graphs, tool_path, write_stream_file};
use nextgnn_stream::Graph;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcOutput, Stdio};

fn golden_stream(dir: &Path, json: &str) -> (PathBuf, Vec<u8>) {
    let (s, g) = golden_graphs(json);
    let p = dir.join(format!("{json}.gs"));
    write_stream_file(&p, &s, &g);
    let bytes = std::fs::read(&p).unwrap();
    (p, bytes)
}

fn run(tool: &str, args: &[&str], dir: &Path) -> ProcOutput {
    Command::new(tool_path(tool))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn sh(cmd: &str, dir: &Path) -> ProcOutput {
    let cmd = cmd
        .replace("graphinfo", tool_path("graphinfo").to_str().unwrap())
        .replace("graphsplit", tool_path("graphsplit").to_str().unwrap());
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Exit status 1 and exactly this one line on stderr.
fn assert_error(out: &ProcOutput, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert_eq!(err, format!("{want}\n"));
}

/// Byte offset of frame `k` (its length prefix) in a stream with one header.
fn frame_offset(bytes: &[u8], k: usize) -> usize {
    let mut at = 14 + u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
    for _ in 0..k {
        at += 4 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    at
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = golden_stream(dir.path(), "graphs_classic_cloud.json");
    let third = frame_offset(&bytes, 2);
    let len = u32::from_le_bytes(bytes[third..third + 4].try_into().unwrap());
    std::fs::write(dir.path().join("cut.gs"), &bytes[..third + 100]).unwrap();
    assert_error(
        &run("graphinfo", &["--check", "cut.gs"], dir.path()),
        &format!("error: cut.gs: truncated frame: 96 of {len} bytes (stream cut short) (at byte {third}, after 2 graphs)"),
    );
    // Cut inside a length prefix, and inside the header.
    std::fs::write(dir.path().join("cut2.gs"), &bytes[..third + 2]).unwrap();
    assert_error(
        &run("graphinfo", &["cut2.gs"], dir.path()),
        &format!("error: cut2.gs: truncated frame length (stream cut short) (at byte {third}, after 2 graphs)"),
    );
    std::fs::write(dir.path().join("cut3.gs"), &bytes[..20]).unwrap();
    assert_error(
        &run("graphinfo", &["cut3.gs"], dir.path()),
        "error: cut3.gs: truncated stream header (at byte 0, after 0 graphs)",
    );
}

#[test]
fn wrong_magic() {
    let dir = tempfile::tempdir().unwrap();
    let json = golden("graphs_classic_cloud.json");
    let j = json.to_str().unwrap();
    assert_error(
        &run("graphinfo", &[j], dir.path()),
        &format!("error: {j}: not a nextgnn graph stream (wrong magic bytes) (at byte 0, after 0 graphs)"),
    );
    assert_error(
        &run("graphsplit", &[j, "--prefix", "p"], dir.path()),
        &format!("error: {j}: not a nextgnn graph stream (wrong magic bytes) (at byte 0, after 0 graphs)"),
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no output left behind"
    );
    // A label file where a stream belongs: the error says which tool comes first.
    let h5 = golden("MC_dataset.h5");
    let h = h5.to_str().unwrap();
    assert_error(
        &run("graphinfo", &[h], dir.path()),
        &format!("error: {h}: an HDF5 file, not a graph stream: turn label files into graphs with voxel2graph first (voxel2graph FILE.h5 -o FILE.gs) (at byte 0, after 0 graphs)"),
    );
}

#[test]
fn schema_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (a, abytes) = golden_stream(dir.path(), "graphs_classic_cloud.json");
    let (b, _) = golden_stream(dir.path(), "graphs_classic_nocloud.json");
    let (a, b) = (
        a.file_name().unwrap().to_str().unwrap(),
        b.file_name().unwrap().to_str().unwrap(),
    );
    assert_error(
        &sh(&format!("cat {a} {b} | graphinfo --check"), dir.path()),
        &format!(
            "error: -: concatenated stream has a different schema (node features [\"ener\", \"nhits\", \"cloud_ener\", \"cloud_nhits\"] vs [\"ener\", \"nhits\"]); join only streams made with the same options (at byte {}, after 6 graphs)",
            abytes.len()
        ),
    );
    assert_error(
        &run("graphsplit", &[a, b, "--prefix", "p"], dir.path()),
        &format!("error: {b}: schema differs from the first input (node features [\"ener\", \"nhits\", \"cloud_ener\", \"cloud_nhits\"] vs [\"ener\", \"nhits\"]); streams made with different options cannot be mixed"),
    );
    assert!(!dir.path().join("p_train.gs").exists());
}

#[test]
fn huge_length_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut bytes) = golden_stream(dir.path(), "graphs_knn6_template.json");
    let second = frame_offset(&bytes, 1);
    bytes[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(dir.path().join("huge.gs"), &bytes).unwrap();
    let want = format!("error: huge.gs: frame length 4294967295 exceeds the 268435456 byte limit (corrupt stream) (at byte {second}, after 1 graphs)");
    assert_error(
        &run("graphinfo", &["--check", "huge.gs"], dir.path()),
        &want,
    );
    // graphsplit never decodes frames, but it still refuses the length before reading the payload.
    assert_error(
        &run("graphsplit", &["huge.gs", "--prefix", "p"], dir.path()),
        &want,
    );
    assert!(!dir.path().join("p_train.gs").exists());
}

/// Walks a frame's leading fields as docs/FORMAT.md lays them out and returns the offset of the
/// first byte of the `src` array (all varints here are one byte: small values).
fn src_offset(payload: &[u8]) -> usize {
    let mut at = 5 + 4; // fnum, dataset_id, binclass, num_nodes, num_edges; flags and three widths
    for _ in 0..3 {
        // x, y, coords: varint length then bytes
        let (len, skip) = varint(&payload[at..]);
        at += skip + len;
    }
    at + varint(&payload[at..]).1
}

fn varint(b: &[u8]) -> (usize, usize) {
    match b[0] {
        v @ 0..=250 => (v as usize, 1),
        251 => (u16::from_le_bytes([b[1], b[2]]) as usize, 3),
        252 => (u32::from_le_bytes(b[1..5].try_into().unwrap()) as usize, 5),
        _ => panic!("unexpected varint"),
    }
}

#[test]
fn edge_index_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let (_, g) = golden_graphs("graphs_synthetic_classic_cloud.json");
    // The smallest reference graph: 12 nodes, 2 directed edges, so every varint is one byte.
    let small = g.iter().find(|g| g.num_nodes == 12).unwrap().clone();
    let schema = nextgnn_stream::testing::golden_schema("graphs_synthetic_classic_cloud.json");
    let p = dir.path().join("one.gs");
    write_stream_file(&p, &schema, &[small.clone(), small.clone()]);
    let mut bytes = std::fs::read(&p).unwrap();
    let second = frame_offset(&bytes, 1);
    let payload_start = second + 4;
    let at = payload_start + src_offset(&bytes[payload_start..]);
    assert_eq!(
        bytes[at] as u32, small.src[0],
        "the walk found the first edge source"
    );
    bytes[at] = 12;
    std::fs::write(dir.path().join("bad.gs"), &bytes).unwrap();
    assert_error(
        &run("graphinfo", &["--check", "bad.gs"], dir.path()),
        &format!(
            "error: bad.gs: invalid graph: edge 0 = (12, {}) points past num_nodes 12 (at byte {second}, after 1 graphs)",
            small.dst[0]
        ),
    );
    // --show of the good first graph still works; the bad one is named when asked for.
    let ok = run("graphinfo", &["--show", "0", "bad.gs"], dir.path());
    assert!(ok.status.success());
    assert_error(
        &run("graphinfo", &["--show", "1", "bad.gs"], dir.path()),
        &format!(
            "error: bad.gs: invalid graph: edge 0 = (12, {}) points past num_nodes 12 (at byte {second}, after 1 graphs)",
            small.dst[0]
        ),
    );
}

#[test]
fn empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let want = "error: -: empty input: not a graph stream (expected a header; was the producing step killed or given no events?) (at byte 0, after 0 graphs)";
    assert_error(&sh("graphinfo < /dev/null", dir.path()), want);
    assert_error(&sh("graphsplit --prefix p < /dev/null", dir.path()), want);
    std::fs::write(dir.path().join("empty.gs"), b"").unwrap();
    assert_error(
        &run("graphinfo", &["--check", "empty.gs"], dir.path()),
        &want.replace("error: -:", "error: empty.gs:"),
    );
}

#[test]
fn unwritable_output() {
    let dir = tempfile::tempdir().unwrap();
    golden_stream(dir.path(), "graphs_classic_cloud.json");
    assert_error(
        &run("graphsplit", &["graphs_classic_cloud.json.gs", "--prefix", "missing/dir/p"], dir.path()),
        "error: missing/dir/p_train.gs: cannot create output (is the directory there and writable?): No such file or directory (os error 2)",
    );
    // Writing into a path that is a file, not a directory.
    assert_error(
        &run("graphsplit", &["graphs_classic_cloud.json.gs", "--prefix", "graphs_classic_cloud.json.gs/p"], dir.path()),
        "error: graphs_classic_cloud.json.gs/p_train.gs: cannot create output (is the directory there and writable?): Not a directory (os error 20)",
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "only the input remains: {left:?}");
}

#[test]
fn sigpipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (s, g) = golden_graphs("graphs_classic_cloud.json");
    let many: Vec<Graph> = (0..2000)
        .map(|i| {
            let mut x = g[i % g.len()].clone();
            x.dataset_id = i as i64;
            x
        })
        .collect();
    write_stream_file(&dir.path().join("many.gs"), &s, &many);
    for args in [
        &["--head", "2000", "many.gs"][..],
        &["--json", "--show", "0", "many.gs"][..],
    ] {
        let mut child = Command::new(tool_path("graphinfo"))
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is gone (like `| head -1`): the tool dies of SIGPIPE, silently.
        let out = child.wait_with_output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.signal() == Some(13) || out.status.success(),
            "{:?}",
            out.status
        );
    }
    // Through a real shell pipe: nothing on stderr.
    let out = sh("graphinfo --head 2000 many.gs | head -n 1", dir.path());
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("     0  Graph(x=[55, 4]"));
}
