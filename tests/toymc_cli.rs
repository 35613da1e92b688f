//! toymc end to end: the built binary, its file layout against the reference label file,
//! determinism, bad inputs, and the chain toymc → voxel2graph → graphinfo --check.

use nextgnn_stream::testing::{golden, tool_path};
use nextgnn_toymc::h5table::{read_attr, read_table, TableData};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn toymc(args: &[&str]) -> Output {
    Command::new(tool_path("toymc"))
        .args(args)
        .output()
        .unwrap()
}

fn generate(dir: &Path, args: &[&str]) -> PathBuf {
    let mut a = vec!["-o", dir.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = toymc(&a);
    assert!(
        o.status.success(),
        "toymc failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "exactly the output file, no temporary left: {files:?}"
    );
    files[0].clone()
}

fn layout(t: &TableData) -> Vec<(String, &'static str, usize)> {
    t.members
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.class,
                if m.class == "integer" { 0 } else { m.size },
            )
        })
        .collect()
}

#[test]
fn file_has_the_reference_layout_and_consistent_columns() {
    let dir = tempfile::tempdir().unwrap();
    let f = generate(
        dir.path(),
        &[
            "--events",
            "300",
            "--kind",
            "mix",
            "--seed",
            "5",
            "--file-number",
            "12",
        ],
    );
    assert_eq!(f.file_name().unwrap(), "nexus_label_12_mix.h5");
    let gold = golden("nexus_label_0_doublescape.h5");
    for table in [
        "DATASET/MCVoxels",
        "DATASET/EventsInfo",
        "DATASET/BinsInfo",
        "DATASET/BeershebaVoxels",
    ] {
        let (a, b) = (
            read_table(&f, table).unwrap(),
            read_table(&gold, table).unwrap(),
        );
        // same names, order and classes; integer widths may differ (the reference downcasts)
        assert_eq!(layout(&a), layout(&b), "{table}");
        assert_eq!(read_attr(&f, table, "CLASS").unwrap(), "TABLE");
        assert_eq!(read_attr(&f, table, "VERSION").unwrap(), "2.7");
        assert_eq!(read_attr(&f, table, "NROWS").unwrap(), a.len().to_string());
        for (i, m) in a.members.iter().enumerate() {
            assert_eq!(
                read_attr(&f, table, &format!("FIELD_{i}_NAME")).unwrap(),
                m.name
            );
        }
    }
    assert_eq!(
        read_attr(&f, "/", "PYTABLES_FORMAT_VERSION").unwrap(),
        "2.1"
    );
    assert_eq!(read_attr(&f, "/DATASET", "CLASS").unwrap(), "GROUP");

    let v = read_table(&f, "DATASET/MCVoxels").unwrap();
    let info = read_table(&f, "DATASET/EventsInfo").unwrap();
    assert_eq!(info.len(), 300);
    let mut binclass = BTreeMap::new();
    for r in 0..info.len() {
        assert_eq!(info.int(r, "dataset_id"), r as i64);
        binclass.insert(r as i64, info.int(r, "binclass"));
        assert_eq!(info.str(r, "label_basename"), "nexus_label_12_mix.h5");
    }
    let mut prev: Option<[i64; 4]> = None;
    let mut events: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for r in 0..v.len() {
        let key = [
            v.int(r, "dataset_id"),
            v.int(r, "x"),
            v.int(r, "y"),
            v.int(r, "z"),
        ];
        if let Some(p) = prev {
            assert!(
                key > p,
                "row {r}: rows not sorted by dataset_id, x, y, z (or duplicate voxel)"
            );
        }
        prev = Some(key);
        events.entry(key[0]).or_default().push(r);
    }
    assert_eq!(events.len(), 300, "every event has voxels");
    let bins = read_table(&f, "DATASET/BinsInfo").unwrap();
    assert_eq!(
        (
            bins.f64(0, "min_x"),
            bins.f64(0, "size_z"),
            bins.f64(0, "nbins_z")
        ),
        (-500.0, 4.0, 326.0)
    );
    for (id, rows) in &events {
        let bc = binclass[id];
        let mut elems: BTreeMap<String, (f64, f64, i64)> = BTreeMap::new();
        let mut clouds: BTreeSet<String> = BTreeSet::new();
        let mut classes: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
        let nblob = v.int(rows[0], "nblob");
        for &r in rows {
            let seg = v.int(r, "segclass");
            assert!((1..=3).contains(&seg));
            assert_eq!(v.int(r, "binclass"), bc, "event {id}");
            assert_eq!(v.int(r, "nblob"), nblob);
            assert_eq!(v.int(r, "blob_success") == 1, nblob == bc + 1);
            let ratio = v.f64(r, "ratio");
            assert!(ratio > 0.0 && ratio <= 1.0 + 1e-12, "ratio {ratio}");
            assert!(v.int(r, "nhits") >= 1 && v.f64(r, "ener") > 0.0);
            let elem = v.str(r, "elem");
            assert!(
                elem.starts_with(&format!("{seg}_")),
                "elem {elem} of segclass {seg}"
            );
            let e = elems
                .entry(elem.clone())
                .or_insert((0.0, v.f64(r, "elem_ener"), seg));
            e.0 += v.f64(r, "ener");
            classes.entry(seg).or_default().insert(elem);
            let cloud = v.str(r, "cloud");
            assert!(cloud.starts_with("c_"));
            clouds.insert(cloud);
        }
        for (name, (sum, stored, seg)) in &elems {
            assert!(
                (sum - stored).abs() < 1e-9,
                "event {id} {name}: {sum} vs {stored}"
            );
            let count = classes[seg].len() as f64;
            for &r in rows.iter().filter(|&&r| &v.str(r, "elem") == name) {
                assert_eq!(v.f64(r, "elem_count"), count);
            }
        }
        assert_eq!(
            classes.get(&3).map_or(0, |s| s.len()) as i64,
            nblob,
            "event {id}"
        );
        for &r in rows {
            assert_eq!(v.f64(r, "cloud_count"), clouds.len() as f64);
        }
    }
}

#[test]
fn same_seed_gives_identical_tables_for_any_thread_count() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let args = [
        "--events",
        "1500",
        "--kind",
        "mix",
        "--seed",
        "3",
        "--file-number",
        "2",
    ];
    let fa = generate(a.path(), &[&args[..], &["--threads", "1"]].concat());
    let fb = generate(b.path(), &[&args[..], &["--threads", "2"]].concat());
    let fc = generate(
        c.path(),
        &[
            "--events",
            "1500",
            "--kind",
            "mix",
            "--seed",
            "4",
            "--file-number",
            "2",
        ],
    );
    for t in ["DATASET/MCVoxels", "DATASET/EventsInfo"] {
        let (x, y) = (read_table(&fa, t).unwrap(), read_table(&fb, t).unwrap());
        assert!(!x.is_empty());
        assert!(x.bytes == y.bytes, "{t} differs between 1 and 2 threads");
    }
    let (x, z) = (
        read_table(&fa, "DATASET/MCVoxels").unwrap(),
        read_table(&fc, "DATASET/MCVoxels").unwrap(),
    );
    assert!(x.bytes != z.bytes, "another seed gives another file");
}

fn fails_with(args: &[&str], needle: &str) {
    let o = toymc(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?} should fail: {err}");
    assert_eq!(err.lines().count(), 1, "one-line error expected: {err}");
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{args:?}: {err}"
    );
}

#[test]
fn bad_inputs_give_one_line_errors_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    fails_with(&["-o", d, "--pressure", "40"], "--pressure 40");
    fails_with(&["-o", d, "--events", "0"], "--events");
    fails_with(
        &["-o", d, "--total-size", "1000,1000,1301"],
        "--total-size 1301",
    );
    fails_with(&["-o", d, "--vertex-radius", "600"], "--vertex-radius 600");
    fails_with(&["-o", d, "--blob-fraction", "1.5"], "--blob-fraction");
    fails_with(
        &["-o", d, "--kind", "0nubb", "--signal-fraction", "0.3"],
        "--signal-fraction",
    );
    std::fs::write(format!("{d}/plain-file"), b"x").unwrap();
    fails_with(
        &["-o", &format!("{d}/plain-file/sub")],
        "cannot create output directory",
    );
    fails_with(
        &["-o", &format!("{d}/plain-file")],
        &format!(
            "error: {d}/plain-file: exists and is not a directory; -o names the directory the label files go into"
        ),
    );
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        1,
        "nothing left behind but the file the test made"
    );
    // malformed values are refused by the argument parser, naming the option
    for (args, needle) in [
        (["--kind", "2nubb"], "--kind"),
        (["--voxel-size", "5,5"], "--voxel-size"),
    ] {
        let o = toymc(&[&["-o", d][..], &args[..]].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
    }
}

#[test]
fn toymc_files_go_through_voxel2graph_and_graphinfo_check() {
    let dir = tempfile::tempdir().unwrap();
    let f = generate(
        dir.path(),
        &[
            "--events",
            "400",
            "--kind",
            "mix",
            "--seed",
            "9",
            "--file-number",
            "6",
        ],
    );
    let g = dir.path().join("g.bin");
    let o = Command::new(tool_path("voxel2graph"))
        .arg(&f)
        .arg("-o")
        .arg(&g)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "voxel2graph: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(tool_path("graphinfo"))
        .arg("--check")
        .arg(&g)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("ok: 400 graphs"),
        "graphinfo --check: {out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let graphs = nextgnn_stream::StreamReader::open(g.to_str().unwrap())
        .unwrap()
        .read_all()
        .unwrap();
    let info = read_table(&f, "DATASET/EventsInfo").unwrap();
    for (i, gr) in graphs.iter().enumerate() {
        assert_eq!(gr.fnum, 6, "file number parsed from the name");
        assert_eq!(gr.dataset_id, i as i64);
        assert_eq!(gr.binclass, info.int(i, "binclass"));
        assert!(gr.y.iter().all(|&y| (0..=2).contains(&y)));
    }
}
