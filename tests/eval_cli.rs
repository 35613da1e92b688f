//! gcn-eval end to end: hand-computed numbers through the binary, every output, and bad inputs.

mod gcn_support;

use nextgnn_stream::testing::tool_path;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// Held while spawning and while an HDF5 file is open for writing: a child forked from another
/// test thread would inherit the open file (and HDF5's lock on it) and make gcn-eval's open fail.
static FORK_GUARD: Mutex<()> = Mutex::new(());

fn gcn_eval(args: &[&str]) -> Output {
    let child = {
        let _g = FORK_GUARD.lock().unwrap_or_else(|e| e.into_inner());
        Command::new(tool_path("gcn-eval"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running gcn-eval")
    };
    child.wait_with_output().expect("running gcn-eval")
}

fn ok_stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "gcn-eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The single `error: ...` line of a failed run.
fn error_line(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stdout {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "error must be one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Eight events ranked by hand: s b s s b b s b with class_1 = 0.9 .. 0.2.
fn eight_events(dir: &Path) -> String {
    let mut s = String::from("file_id,dataset_id,binclass,num_nodes,num_edges,mean_x,mean_y,mean_z,maxE_x,maxE_y,maxE_z,mean_dist,class_0,class_1\n");
    let sig = [1, 0, 1, 1, 0, 0, 1, 0];
    for (i, b) in sig.iter().enumerate() {
        let p1 = 0.9 - 0.1 * i as f64;
        s += &format!(
            "0,{i},{b},10,20,0,0,0,0,0,0,1.0,{:.1},{:.1}\n",
            1.0 - p1,
            p1
        );
    }
    let p = dir.join("events.csv");
    std::fs::write(&p, s).unwrap();
    p.to_string_lossy().to_string()
}

fn close(v: &Value, want: f64) -> bool {
    (v.as_f64().unwrap_or(f64::NAN) - want).abs() < 1e-12
}

#[test]
fn classification_json_matches_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let f = eight_events(dir.path());
    let out = gcn_eval(&[
        &f,
        "--json",
        "--rejections",
        "0.75,0.9",
        "--efficiencies",
        "0.5,0.8",
        "--fom-min-background",
        "1",
    ]);
    let j: Value = serde_json::from_str(&ok_stdout(&out)).unwrap();
    assert_eq!(j["task"], "classification");
    assert_eq!(
        (
            j["events"].as_u64(),
            j["signal"].as_u64(),
            j["background"].as_u64()
        ),
        (Some(8), Some(4), Some(4))
    );
    assert!(close(&j["auc"], 11.0 / 16.0), "{}", j["auc"]);
    // Cut 0.5 selects s0.9 b0.8 s0.7 s0.6 b0.5.
    assert_eq!(
        j["confusion"]["matrix"],
        serde_json::json!([[2, 2], [1, 3]])
    );
    assert!(close(&j["confusion"]["accuracy"], 0.625));
    let best = &j["best_fom"];
    assert!(
        close(&best["threshold"], 0.6)
            && close(&best["fom"], 1.5)
            && close(&best["rejection_factor"], 4.0),
        "{best}"
    );
    let e = (0.75f64 * 0.25 / 4.0).sqrt();
    assert!(close(&best["efficiency_err"], e));
    let r = &j["at_rejection"];
    assert!(
        close(&r[0]["target"], 0.75)
            && close(&r[0]["efficiency"], 0.75)
            && close(&r[0]["threshold"], 0.6),
        "{r}"
    );
    // No background passes at 90 % rejection: infinite factor and figure of merit are null.
    assert!(
        close(&r[1]["efficiency"], 0.25) && close(&r[1]["rejection"], 1.0),
        "{r}"
    );
    assert!(
        r[1]["rejection_factor"].is_null() && r[1]["fom"].is_null(),
        "{r}"
    );
    let a = &j["at_efficiency"];
    assert!(
        close(&a[0]["rejection"], 0.75) && close(&a[0]["threshold"], 0.6),
        "{a}"
    );
    assert!(
        close(&a[1]["efficiency"], 1.0)
            && close(&a[1]["rejection"], 0.25)
            && close(&a[1]["threshold"], 0.3),
        "{a}"
    );

    // The default minimum (10 background events) is clamped to the 4 there are: the loosest cut.
    let out = gcn_eval(&[&f, "--json"]);
    let j: Value = serde_json::from_str(&ok_stdout(&out)).unwrap();
    assert!(
        close(&j["best_fom"]["threshold"], 0.2) && close(&j["best_fom"]["fom"], 1.0),
        "{}",
        j["best_fom"]
    );
}

#[test]
fn table_curve_csv_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let f = eight_events(dir.path());
    let curve = dir.path().join("roc.csv");
    let svg = dir.path().join("roc.svg");
    let out = gcn_eval(&[
        &f,
        "--csv",
        curve.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
        "--label",
        "toy GCN",
    ]);
    let table = ok_stdout(&out);
    assert!(
        table.contains("8 events (4 signal, 4 background)"),
        "{table}"
    );
    assert!(
        table.contains("AUC                         0.6875"),
        "{table}"
    );
    assert!(
        table.contains("  true sig (1)                1              3"),
        "{table}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wrote ROC plot") && stderr.contains("roc.svg"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(&curve).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("threshold,signal_pass,background_pass,signal_efficiency,"));
    assert_eq!(
        lines.len(),
        1 + 9,
        "one row per distinct score plus the nothing-selected row"
    );
    assert!(lines[1].starts_with("inf,0,0,0,"), "{}", lines[1]);
    let row: Vec<&str> = lines[5].split(',').collect();
    assert_eq!(&row[..4], &["0.6", "3", "1", "0.75"]);
    assert_eq!(row[6], "0.75");
    assert_eq!(row[8], "4");

    let doc_text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&doc_text).expect("valid SVG");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.is_text())
        .map(|n| n.text().unwrap().trim().to_string())
        .collect();
    for want in [
        "signal efficiency εs",
        "background rejection 1 − εb",
        "toy GCN (AUC 0.688)",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "{want} missing from {texts:?}"
        );
    }

    let png = dir.path().join("roc.png");
    ok_stdout(&gcn_eval(&[&f, "--plot", png.to_str().unwrap()]));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian, right after the signature and chunk header.
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 800);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 700);
}

#[test]
fn segmentation_report() {
    let dir = tempfile::tempdir().unwrap();
    // truth 0 0 1 1 1 2 2 2 2 1, predicted 0 1 1 1 2 2 2 0 2 1 (argmax of the class columns).
    let truth = [0, 0, 1, 1, 1, 2, 2, 2, 2, 1];
    let pred = [0, 1, 1, 1, 2, 2, 2, 0, 2, 1];
    let mut s =
        String::from("file_id,dataset_id,binclass,x,y,z,energy,label,class_0,class_1,class_2\n");
    for (i, (t, p)) in truth.iter().zip(pred).enumerate() {
        let mut probs = [0.2, 0.2, 0.2];
        probs[p] = 0.6;
        s += &format!(
            "1,{},0,{i},0,0,0.1,{t},{},{},{}\n",
            i / 4,
            probs[0],
            probs[1],
            probs[2]
        );
    }
    let f = dir.path().join("vox.csv");
    std::fs::write(&f, s).unwrap();
    let f = f.to_str().unwrap();
    let j: Value = serde_json::from_str(&ok_stdout(&gcn_eval(&[f, "--json"]))).unwrap();
    assert_eq!(j["task"], "segmentation");
    assert_eq!(j["voxels"], 10);
    assert_eq!(j["events"], 3);
    assert_eq!(
        j["confusion"],
        serde_json::json!([[1, 1, 0], [0, 3, 1], [1, 0, 3]])
    );
    assert!(close(&j["accuracy"], 0.7));
    assert!(
        close(&j["iou"][0], 1.0 / 3.0) && close(&j["iou"][1], 0.6) && close(&j["iou"][2], 0.6),
        "{}",
        j["iou"]
    );
    assert_eq!(
        j["class_names"],
        serde_json::json!(["other", "track", "blob"])
    );
    let table = ok_stdout(&gcn_eval(&[f]));
    assert!(table.contains("accuracy    0.7000 ± 0.1449"), "{table}");
    assert!(table.contains("2 blob       0.6000"), "{table}");
    // The ROC outputs belong to event classification.
    let e = error_line(&gcn_eval(&[f, "--plot", "x.svg"]));
    assert!(e.contains("holds VoxelPred (segmentation) rows"), "{e}");
    // The same voxels twice (one file given twice, or as CSV and HDF5) would count twice.
    assert_eq!(
        error_line(&gcn_eval(&[f, f])),
        format!(
            "error: voxel (0, 0, 0) of event file_id 1 dataset_id 0 appears twice ({f}: row 1 and \
             {f}: row 1)\n"
        )
    );
    // An output that is an input would replace the predictions with the ROC table.
    let ev = eight_events(dir.path());
    assert_eq!(
        error_line(&gcn_eval(&[&ev, "--csv", &ev])),
        format!(
            "error: {ev}: the output is also an input ({ev}); it would be replaced: choose \
             another output name\n"
        )
    );
    assert!(std::fs::read_to_string(&ev)
        .unwrap()
        .starts_with("file_id,"));
}

#[test]
fn hdf5_input() {
    #[derive(hdf5::H5Type, Clone, Copy)]
    #[repr(C)]
    struct Row {
        file_id: i64,
        dataset_id: i64,
        binclass: i8,
        num_nodes: i64,
        class_0: f32,
        class_1: f32,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pred.h5");
    let rows: Vec<Row> = [(1, 0.75f32), (0, 0.25), (1, 0.5), (0, 0.5)]
        .iter()
        .enumerate()
        .map(|(i, &(b, p))| Row {
            file_id: 0,
            dataset_id: i as i64,
            binclass: b,
            num_nodes: 3,
            class_0: 1.0 - p,
            class_1: p,
        })
        .collect();
    {
        let _g = FORK_GUARD.lock().unwrap_or_else(|e| e.into_inner());
        let f = hdf5::File::create(&path).unwrap();
        f.new_dataset_builder()
            .with_data(&rows)
            .create("EventPred")
            .unwrap();
        f.close().unwrap();
    }
    let j: Value =
        serde_json::from_str(&ok_stdout(&gcn_eval(&[path.to_str().unwrap(), "--json"]))).unwrap();
    // Pairs: (0.75 > 0.25) (0.75 > 0.5) (0.5 > 0.25) (0.5 = 0.5 -> 1/2): 3.5 of 4.
    assert!(close(&j["auc"], 0.875), "{}", j["auc"]);
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().to_string()
    };
    let cases = [
        ("empty.csv", "", "empty.csv: empty file"),
        (
            "cols.csv",
            "file_id,dataset_id,binclass,class_0\n0,0,1,0.5\n",
            "cols.csv: EventPred table is missing column class_1",
        ),
        (
            "nan.csv",
            "file_id,dataset_id,binclass,class_0,class_1\n0,0,1,0.5,0.5\n0,1,0,0.5,nan\n",
            "nan.csv: row 2 (file_id 0, dataset_id 1), column class_1: NaN is not a probability",
        ),
        (
            "one.csv",
            "file_id,dataset_id,binclass,class_0,class_1\n0,0,1,0.5,0.5\n0,1,1,0.2,0.8\n",
            "a ROC curve needs both classes, but there are 2 signal (binclass 1) and 0 background",
        ),
        (
            "dup.csv",
            "file_id,dataset_id,binclass,class_0,class_1\n0,0,1,0.5,0.5\n0,0,0,0.2,0.8\n",
            "event file_id 0 dataset_id 0 appears twice",
        ),
    ];
    for (name, text, want) in cases {
        let p = write(name, text);
        let e = error_line(&gcn_eval(&[&p]));
        assert!(e.contains(want), "{name}: {e}");
    }
    // Files that are not prediction tables at all: a graph stream (gcn-predict's input), binary
    // data, and a CSV that turns binary after its header.
    let gs = dir.path().join("events.gs");
    gcn_support::write_synthetic(&gs, 3, 1, true);
    let bin = dir.path().join("data.bin");
    std::fs::write(&bin, [0x1f, 0x8b, 0x08, 0x00, 0xff, b'\n', b'a']).unwrap();
    let half = dir.path().join("half.csv");
    std::fs::write(
        &half,
        b"file_id,dataset_id,binclass,class_0,class_1\n0,0,1,0.5,0.5\n0,1,\xff\xfe,0.5,0.5\n",
    )
    .unwrap();
    let (gs, bin, half) = (
        gs.to_str().unwrap(),
        bin.to_str().unwrap(),
        half.to_str().unwrap(),
    );
    for (path, want) in [
        (
            gs,
            format!(
                "error: {gs}: this is a graph stream, not a prediction file (CSV or HDF5 from \
                 gcn-predict); run gcn-predict on it first\n"
            ),
        ),
        (
            bin,
            format!(
                "error: {bin}: not a prediction file (CSV or HDF5 from gcn-predict): its first \
                 line is not text\n"
            ),
        ),
        (
            half,
            format!(
                "error: {half}: line 3 is not text (invalid UTF-8); is this a prediction file (CSV \
                 or HDF5 from gcn-predict)?\n"
            ),
        ),
    ] {
        assert_eq!(error_line(&gcn_eval(&[path])), want);
    }
    // The same graph stream on stdin.
    let out = {
        let _g = FORK_GUARD.lock().unwrap_or_else(|e| e.into_inner());
        Command::new(tool_path("gcn-eval"))
            .arg("-")
            .stdin(std::fs::File::open(gs).unwrap())
            .output()
            .unwrap()
    };
    assert_eq!(
        error_line(&out),
        "error: -: this is a graph stream, not a prediction file (CSV or HDF5 from gcn-predict); \
         run gcn-predict on it first\n"
    );
    let f = eight_events(dir.path());
    let e = error_line(&gcn_eval(&[&f, "--rejections", "90"]));
    assert!(
        e.contains("--rejections: 90 is not a fraction between 0 and 1"),
        "{e}"
    );
    let e = error_line(&gcn_eval(&[&f, "--threshold", "1.5"]));
    assert!(e.contains("--threshold"), "{e}");
    let e = error_line(&gcn_eval(&[
        &f,
        "--plot",
        dir.path().join("no/dir/roc.svg").to_str().unwrap(),
    ]));
    assert!(e.contains("roc.svg"), "{e}");
    let e = error_line(&gcn_eval(&[dir
        .path()
        .join("missing.csv")
        .to_str()
        .unwrap()]));
    assert!(e.contains("missing.csv: cannot open"), "{e}");
    // Nothing half-written is left behind by the failures above.
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
