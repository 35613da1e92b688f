//! graphsplit: deterministic, counts add up, every graph lands in exactly one part,
//! `--by-hash` follows the documented hash, `--stratify binclass` keeps the balance.

use nextgnn_stream::testing::{golden_graphs, tool_path};
use nextgnn_stream::{Graph, Output, StreamReader, StreamWriter};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// 1000 graphs built from the reference ones: unique (fnum, dataset_id), one in four of binclass 1.
fn make_input(dir: &Path, name: &str, range: std::ops::Range<i64>) {
    let (s, g) = golden_graphs("graphs_classic_cloud.json");
    let out = Output::create(dir.join(name).to_str().unwrap()).unwrap();
    let mut w = StreamWriter::new(out, s, "test input").unwrap();
    for i in range {
        let mut x = g[i as usize % g.len()].clone();
        x.fnum = i / 100;
        x.dataset_id = i % 100;
        x.binclass = (i % 4 == 0) as i64;
        w.write(&x).unwrap();
    }
    w.finish().unwrap().commit().unwrap();
}

/// Runs graphsplit in `dir`.
fn graphsplit(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(tool_path("graphsplit"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn split(dir: &Path, args: &[&str]) -> String {
    let out = graphsplit(dir, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ids(path: &Path) -> Vec<(i64, i64, i64)> {
    StreamReader::open(path.to_str().unwrap())
        .unwrap()
        .map(|g| {
            let g: Graph = g.unwrap();
            (g.fnum, g.dataset_id, g.binclass)
        })
        .collect()
}

fn parts(dir: &Path, prefix: &str) -> [Vec<(i64, i64, i64)>; 3] {
    ["train", "valid", "test"].map(|p| ids(&dir.join(format!("{prefix}_{p}.gs"))))
}

#[test]
fn shuffle_split_is_deterministic_and_complete() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for d in [a.path(), b.path()] {
        make_input(d, "all.gs", 0..1000);
    }
    let out_a = split(a.path(), &["all.gs", "--prefix", "p"]);
    let out_b = split(b.path(), &["all.gs", "--prefix", "p"]);
    assert_eq!(
        out_a,
        "train       800 graphs  p_train.gs\nvalid       100 graphs  p_valid.gs\ntest        100 graphs  p_test.gs\ntotal      1000 graphs\n"
    );
    assert_eq!(out_a, out_b);
    for part in ["train", "valid", "test"] {
        let f = format!("p_{part}.gs");
        assert_eq!(
            std::fs::read(a.path().join(&f)).unwrap(),
            std::fs::read(b.path().join(&f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    let p = parts(a.path(), "p");
    let mut all: Vec<_> = p.concat();
    all.sort();
    let mut want = ids(&a.path().join("all.gs"));
    want.sort();
    assert_eq!(all, want, "every graph in exactly one part");
    // Shuffled: the training part is not the first 800 graphs in input order.
    assert_ne!(p[0][..10], want[..10]);
    // stdin gives the same split as the file; another seed a different one.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --prefix q < all.gs",
            tool_path("graphsplit").display()
        ))
        .current_dir(a.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(parts(a.path(), "q"), p);
    split(a.path(), &["all.gs", "--prefix", "r", "--seed", "7"]);
    assert_ne!(parts(a.path(), "r")[0], p[0]);
    // Custom fractions with an empty part.
    let out = split(
        a.path(),
        &["all.gs", "--prefix", "s", "--fractions", "0.7,0,0.3"],
    );
    assert!(
        out.contains("train       700")
            && out.contains("valid         0")
            && out.contains("test        300"),
        "{out}"
    );
}

#[test]
fn stratify_keeps_class_balance() {
    let d = tempfile::tempdir().unwrap();
    make_input(d.path(), "all.gs", 0..1000);
    split(
        d.path(),
        &[
            "all.gs",
            "--prefix",
            "st",
            "--stratify",
            "binclass",
            "--fractions",
            "0.6,0.2,0.2",
        ],
    );
    let p = parts(d.path(), "st");
    let ones: Vec<usize> = p
        .iter()
        .map(|v| v.iter().filter(|t| t.2 == 1).count())
        .collect();
    let sizes: Vec<usize> = p.iter().map(Vec::len).collect();
    assert_eq!(sizes, [600, 200, 200]);
    assert_eq!(ones, [150, 50, 50], "250 signal graphs split 60/20/20");
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn by_hash_follows_documented_hash_and_agrees_across_pieces() {
    let d = tempfile::tempdir().unwrap();
    make_input(d.path(), "all.gs", 0..1000);
    make_input(d.path(), "a.gs", 0..400);
    make_input(d.path(), "b.gs", 400..1000);
    split(
        d.path(),
        &["all.gs", "--prefix", "h", "--by-hash", "--seed", "3"],
    );
    split(
        d.path(),
        &["a.gs", "--prefix", "ha", "--by-hash", "--seed", "3"],
    );
    split(
        d.path(),
        &["b.gs", "--prefix", "hb", "--by-hash", "--seed", "3"],
    );
    let whole = parts(d.path(), "h");
    let (pa, pb) = (parts(d.path(), "ha"), parts(d.path(), "hb"));
    // Two independent jobs on two pieces put every graph where one job on the whole puts it.
    for k in 0..3 {
        assert_eq!([pa[k].clone(), pb[k].clone()].concat(), whole[k]);
    }
    // Each graph is where the formula of docs/FORMAT.md puts it; input order is kept.
    let mut counts = [0usize; 3];
    let mut by_part: BTreeMap<(i64, i64), usize> = BTreeMap::new();
    for (k, p) in whole.iter().enumerate() {
        for t in p {
            by_part.insert((t.0, t.1), k);
        }
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(&sorted, p, "input order kept in part {k}");
    }
    for (&(fnum, id), &k) in &by_part {
        let h = splitmix64(splitmix64(splitmix64(3) ^ fnum as u64) ^ id as u64);
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        let want = if u < 0.8 {
            0
        } else if u < 0.9 {
            1
        } else {
            2
        };
        assert_eq!(k, want, "fnum {fnum} dataset_id {id}");
        counts[k] += 1;
    }
    assert_eq!(counts.iter().sum::<usize>(), 1000);
    assert!((760..840).contains(&counts[0]), "{counts:?}");
}

#[test]
fn bad_fractions_are_refused() {
    let d = tempfile::tempdir().unwrap();
    make_input(d.path(), "all.gs", 0..10);
    let out = Command::new(tool_path("graphsplit"))
        .args(["all.gs", "--prefix", "p", "--fractions", "0.8,0.3,0.1"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --fractions must add up to 1, got [0.8, 0.3, 0.1] (sum 1.2000)\n"
    );
    assert!(!d.path().join("p_train.gs").exists());
}

#[test]
fn a_prefix_whose_outputs_include_an_input_is_refused() {
    // `graphsplit p_train.gs --prefix p` would replace its own input with the training part.
    let dir = tempfile::tempdir().unwrap();
    make_input(dir.path(), "p_train.gs", 0..50);
    let before = std::fs::read(dir.path().join("p_train.gs")).unwrap();
    let out = Command::new(tool_path("graphsplit"))
        .args(["p_train.gs", "--prefix", "p"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: p_train.gs: the output is also an input (p_train.gs); it would be replaced: choose another output name\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("p_train.gs")).unwrap(),
        before
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Runs graphsplit in `dir`, which must fail with exit status 1; returns stderr.
fn split_fails(dir: &Path, args: &[&str]) -> String {
    let out = graphsplit(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn an_input_given_twice_or_a_repeated_event_is_refused() {
    // Either would put copies of one event into both the training and the test part.
    let d = tempfile::tempdir().unwrap();
    make_input(d.path(), "a.gs", 0..300);
    make_input(d.path(), "b.gs", 250..400);
    std::os::unix::fs::symlink(d.path().join("a.gs"), d.path().join("alias.gs")).unwrap();
    assert_eq!(
        split_fails(d.path(), &["a.gs", "a.gs", "--prefix", "p"]),
        "error: a.gs: input given twice (also as a.gs); each of its graphs would be read twice: give each file once\n"
    );
    assert_eq!(
        split_fails(d.path(), &["a.gs", "alias.gs", "--prefix", "p"]),
        "error: alias.gs: input given twice (also as a.gs); each of its graphs would be read twice: give each file once\n"
    );
    // b.gs starts with events 250..299 of a.gs: file 2 event 50 is graph 250 of a.gs.
    assert_eq!(
        split_fails(
            d.path(),
            &["a.gs", "b.gs", "--prefix", "p", "--stratify", "binclass"]
        ),
        "error: b.gs: graph 0 (file 2 event 50) repeats graph 250 of a.gs: one event twice could \
         land in both training and test; remove the copy (or, if they are different events, give \
         their label files different file numbers: voxel2graph --fnum)\n"
    );
    assert_eq!(
        split_fails(d.path(), &["a.gs", "--prefix", ""]),
        "error: --prefix is empty; give a path prefix, e.g. --prefix data/next (writes data/next_train.gs, ...)\n"
    );
    assert!(!d.path().join("p_train.gs").exists());
    // Disjoint events in two files split fine.
    make_input(d.path(), "c.gs", 300..400);
    let out = split(d.path(), &["a.gs", "c.gs", "--prefix", "p"]);
    assert!(out.ends_with("total       400 graphs\n"), "{out}");
}
