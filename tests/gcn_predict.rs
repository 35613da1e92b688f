//! gcn-predict end to end: CSV and HDF5 tables, order, determinism, errors.

mod gcn_support;
use gcn_support::*;
use nextgnn_gcn::predict::{EventPred, VoxelPred};
use std::path::{Path, PathBuf};

fn train(dir: &Path, task: &str) -> (PathBuf, PathBuf) {
    let (tr, va) = (dir.join("train.gs"), dir.join("valid.gs"));
    write_synthetic(&tr, 64, 1, true);
    write_synthetic(&va, 40, 2, true);
    let out = dir.join(task);
    let weights = if task == "classification" {
        "1,1"
    } else {
        "1,1,1"
    };
    train_ok(
        &tr,
        &va,
        &out,
        &[
            "--task",
            task,
            "--epochs",
            "2",
            "--batch",
            "8",
            "--class-weights",
            weights,
        ],
    );
    (out.join("best.ckpt"), va)
}

#[test]
fn event_table_csv_and_h5_agree_and_are_sorted() {
    let d = tempfile::tempdir().unwrap();
    let (model, va) = train(d.path(), "classification");
    let csv = d.path().join("p.csv");
    let h5 = d.path().join("p.h5");
    predict_ok(&model, &va, &csv, &["--threads", "1"]);
    predict_ok(&model, &va, &h5, &["--format", "h5", "--batch", "7"]);
    let (h, rows) = read_csv(&csv);
    assert_eq!(h.join(","), "file_id,dataset_id,binclass,num_nodes,num_edges,mean_x,mean_y,mean_z,maxE_x,maxE_y,maxE_z,mean_dist,class_0,class_1");
    assert_eq!(rows.len(), 40);
    // The stream holds ids 40..1; rows come sorted.
    let ids: Vec<i64> = rows.iter().map(|r| r[1].parse().unwrap()).collect();
    assert_eq!(ids, (1..=40).collect::<Vec<i64>>());
    for r in &rows {
        let p0: f64 = r[12].parse().unwrap();
        let p1: f64 = r[13].parse().unwrap();
        assert!((p0 + p1 - 1.0).abs() < 1e-12 && p0 > 0.0 && p1 > 0.0);
        // Chains lie along x with 2*(n-1) directed edges.
        let n: i64 = r[3].parse().unwrap();
        assert_eq!(r[4].parse::<i64>().unwrap(), 2 * (n - 1));
        assert_eq!(r[5].parse::<f64>().unwrap(), (n - 1) as f64 / 2.0);
        // Voxel 0 or 1 (a blob) holds the highest energy.
        assert!(
            r[8] == "0"
                || r[8] == "1"
                || r[8] == (n - 1).to_string()
                || r[8] == (n - 2).to_string()
        );
    }
    let f = hdf5::File::open(&h5).unwrap();
    let ds = f.dataset("EventPred").unwrap();
    let class: hdf5::types::VarLenAscii = ds.attr("CLASS").unwrap().read_scalar().unwrap();
    assert_eq!(class.as_str(), "TABLE");
    let name: hdf5::types::VarLenAscii = ds.attr("FIELD_8_NAME").unwrap().read_scalar().unwrap();
    assert_eq!(name.as_str(), "maxE_x");
    let nrows: i64 = ds.attr("NROWS").unwrap().read_scalar().unwrap();
    assert_eq!(nrows, 40);
    let t: Vec<EventPred> = ds.read_raw().unwrap();
    assert_eq!(t.len(), rows.len());
    for (a, r) in t.iter().zip(&rows) {
        // Same values whatever the batch size and thread count, printed in round-trip form.
        assert_eq!(a.dataset_id.to_string(), r[1]);
        assert_eq!(a.mean_dist.to_string(), r[11]);
        assert_eq!(a.class_1.to_string(), r[13]);
    }
}

#[test]
fn voxel_table_has_one_row_per_voxel() {
    let d = tempfile::tempdir().unwrap();
    let (model, va) = train(d.path(), "segmentation");
    let h5 = d.path().join("v.h5");
    let err = predict_ok(&model, &va, &h5, &["--format", "h5"]);
    assert!(err.contains("IoU class 0"), "{err}");
    let f = hdf5::File::open(&h5).unwrap();
    let t: Vec<VoxelPred> = f.dataset("VoxelPred").unwrap().read_raw().unwrap();
    let csv = d.path().join("v.csv");
    predict_ok(&model, &va, &csv, &[]);
    let (h, rows) = read_csv(&csv);
    assert_eq!(
        h.join(","),
        "file_id,dataset_id,binclass,x,y,z,energy,label,class_0,class_1,class_2"
    );
    assert_eq!(t.len(), rows.len());
    let graphs = nextgnn_stream::StreamReader::open(p(&va))
        .unwrap()
        .read_all()
        .unwrap();
    assert_eq!(t.len(), graphs.iter().map(|g| g.num_nodes).sum::<usize>());
    // Event 1 first; its first voxel is node 0 of that graph.
    let g1 = graphs.iter().find(|g| g.dataset_id == 1).unwrap();
    assert_eq!((t[0].dataset_id, t[0].x, t[0].label), (1, 0, g1.y[0]));
    assert_eq!(t[0].energy, g1.x[0] as f64);
    for v in &t {
        assert!((v.class_0 + v.class_1 + v.class_2 - 1.0).abs() < 1e-12);
    }
}

#[test]
fn predict_rejects_a_stream_of_another_schema() {
    let d = tempfile::tempdir().unwrap();
    let (model, _) = train(d.path(), "classification");
    let other = d.path().join("other.gs");
    let f = std::fs::File::create(&other).unwrap();
    let mut s = schema(true);
    s.node_features = vec!["ener".into()];
    let w = nextgnn_stream::StreamWriter::new(f, s, "t").unwrap();
    w.finish().unwrap();
    let o = run(
        "gcn-predict",
        &[
            "--model",
            p(&model),
            p(&other),
            "-o",
            p(&d.path().join("x.csv")),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("node features [ener] differ from the model's [ener, nhits]"),
        "{err}"
    );
    assert!(!d.path().join("x.csv").exists());
    let o = run("gcn-predict", &["--model", p(&other), p(&other)]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a gcn-train checkpoint"));
}

#[test]
fn unusable_output_names_are_refused_in_plain_words() {
    let d = tempfile::tempdir().unwrap();
    let (model, va) = train(d.path(), "classification");
    let missing = d.path().join("no-such-dir").join("p.h5");
    let cases = [
        (
            p(&missing),
            format!(
                "error: {}: cannot create output (is the directory there and writable?): No such \
                 file or directory (os error 2)",
                missing.display()
            ),
        ),
        (
            p(d.path()),
            format!(
                "error: {}: is a directory; give the output a file name (a path inside it, or \
                 another name)",
                d.path().display()
            ),
        ),
    ];
    for format in ["csv", "h5"] {
        for (output, want) in &cases {
            let args = [
                "--model",
                p(&model),
                p(&va),
                "-o",
                output,
                "--format",
                format,
            ];
            assert_eq!(&fail_line("gcn-predict", &args), want, "--format {format}");
        }
    }
}

#[test]
fn labels_outside_the_models_classes_are_refused() {
    // A 4-class stream (voxel2graph --simplify-segclass) against a 3-class model.
    let d = tempfile::tempdir().unwrap();
    let (model, _) = train(d.path(), "segmentation");
    let four = d.path().join("four.gs");
    let mut s = schema(true);
    s.num_node_classes = 4;
    let mut rng = Lcg::new(3);
    let mut graphs: Vec<_> = (0..3).map(|k| chain_graph(&mut rng, 7, k, 0)).collect();
    graphs[1].y[4] = 3;
    write_graphs(&four, s, graphs);
    let out = d.path().join("v.csv");
    assert_eq!(
        fail_line(
            "gcn-predict",
            &["--model", p(&model), p(&four), "-o", p(&out)]
        ),
        format!(
            "error: {}: graph 1 (file 7 event 1): node label 3 outside 0..3",
            four.display()
        )
    );
    assert!(!out.exists());
}
