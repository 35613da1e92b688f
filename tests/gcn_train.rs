//! gcn-train end to end: learning, resumption, SIGTERM, real graphs, bad inputs.

mod gcn_support;
use gcn_support::*;
use nextgnn_gcn::train::Checkpoint;
use std::path::Path;

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[test]
fn learns_a_learnable_synthetic_set() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    write_synthetic(&tr, 256, 1, true);
    write_synthetic(&va, 128, 2, true);
    let out = d.path().join("run");
    let log = train_ok(
        &tr,
        &va,
        &out,
        &[
            "--epochs",
            "8",
            "--batch",
            "16",
            "--lr",
            "5e-3",
            "--dropout",
            "0.1",
            "--seed",
            "3",
        ],
    );
    let (h, rows) = read_csv(&out.join("metrics.csv"));
    assert_eq!(rows.len(), 8);
    let acc: f64 = rows.last().unwrap()[col(&h, "valid_acc")].parse().unwrap();
    assert!(acc > 0.95, "validation accuracy after 8 epochs is {acc}");
    assert!(!log.contains("has not learned"), "{log}");
    let first: f64 = rows[0][col(&h, "train_loss")].parse().unwrap();
    let last: f64 = rows.last().unwrap()[col(&h, "train_loss")].parse().unwrap();
    assert!(
        last < first,
        "training loss did not fall: {first} -> {last}"
    );
    assert!(out.join("best.ckpt").is_file() && out.join("last.ckpt").is_file());
    let svg = std::fs::read_to_string(out.join("curves.svg")).unwrap();
    assert!(svg.contains("<svg"), "curves.svg is not an SVG");

    // The best model classifies the validation events as well on prediction.
    let pred = d.path().join("pred.csv");
    let err = predict_ok(&out.join("best.ckpt"), &va, &pred, &[]);
    let acc: f64 = err
        .split("accuracy ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(acc > 0.95, "prediction accuracy {acc}: {err}");
}

#[test]
fn segmentation_trains_per_voxel() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    write_synthetic(&tr, 128, 4, true);
    write_synthetic(&va, 32, 5, true);
    let out = d.path().join("seg");
    train_ok(
        &tr,
        &va,
        &out,
        &[
            "--task",
            "segmentation",
            "--epochs",
            "4",
            "--batch",
            "8",
            "--lr",
            "2e-3",
            "--class-weights",
            "0,1,1",
            "--seed",
            "2",
        ],
    );
    let (h, rows) = read_csv(&out.join("metrics.csv"));
    for k in 0..3 {
        col(&h, &format!("valid_iou_{k}"));
    }
    let first: f64 = rows[0][col(&h, "valid_loss")].parse().unwrap();
    let last: f64 = rows.last().unwrap()[col(&h, "valid_loss")].parse().unwrap();
    assert!(last < 0.7 * first, "validation loss {first} -> {last}");
}

/// The IoU per class that gcn-predict prints on stderr ("IoU class 0 a, class 1 b, class 2 c").
fn printed_iou(err: &str) -> Vec<f64> {
    let line = err
        .lines()
        .find(|l| l.contains("IoU class 0"))
        .unwrap_or_else(|| panic!("no IoU line in: {err}"));
    (0..3)
        .map(|k| {
            line.split(&format!("class {k} "))
                .nth(1)
                .and_then(|s| s.split([',', ' ']).next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no IoU of class {k} in: {line}"))
        })
        .collect()
}

#[test]
fn segmentation_learns_voxel_classes_of_toy_events() {
    // Toy events with the two cloud features (F = 4), as the production graphs have them. With
    // these settings every class ends up with a real overlap; predicting the majority class
    // (track, ~80% of voxels) everywhere gives IoU 0, ~0.8, 0 (mean ~0.27). At --lr 5e-3 the
    // validation loss jumps between epochs and the best checkpoint hangs on rounding details.
    let d = tempfile::tempdir().unwrap();
    let mc = d.path().join("mc");
    let mut streams = Vec::new();
    for (events, seed, fnum) in [("300", "11", "3"), ("100", "12", "4")] {
        run_ok(
            "toymc",
            &[
                "--kind",
                "mix",
                "--events",
                events,
                "--seed",
                seed,
                "--file-number",
                fnum,
                "-o",
                mc.to_str().unwrap(),
            ],
        );
        let gs = d.path().join(format!("{fnum}.gs"));
        let label = mc.join(format!("nexus_label_{fnum}_mix.h5"));
        run_ok(
            "voxel2graph",
            &[
                "--edges",
                "classic",
                "--cloud-info",
                label.to_str().unwrap(),
                "-o",
                gs.to_str().unwrap(),
            ],
        );
        streams.push(gs);
    }
    let out = d.path().join("seg");
    train_ok(
        &streams[0],
        &streams[1],
        &out,
        &[
            "--task",
            "segmentation",
            "--epochs",
            "12",
            "--batch",
            "16",
            "--lr",
            "2e-3",
            "--seed",
            "5",
        ],
    );
    let (h, rows) = read_csv(&out.join("metrics.csv"));
    let first: f64 = rows[0][col(&h, "train_loss")].parse().unwrap();
    let last: f64 = rows.last().unwrap()[col(&h, "train_loss")].parse().unwrap();
    // ln 3 = 1.0986 is the class-weighted loss of a constant prediction.
    assert!(last < 0.9, "training loss {first} -> {last}");
    let err = predict_ok(
        &out.join("best.ckpt"),
        &streams[1],
        &d.path().join("voxels.csv"),
        &[],
    );
    let iou = printed_iou(&err);
    let mean = iou.iter().sum::<f64>() / 3.0;
    assert!(
        iou[0] > 0.12 && iou[1] > 0.5 && iou[2] > 0.2 && mean > 0.33,
        "validation IoU {iou:?} (mean {mean:.3})"
    );
}

fn final_weights(p: &Path) -> Vec<Vec<f32>> {
    let c = Checkpoint::load(p).unwrap();
    let mut v: Vec<Vec<f32>> = c.weights.params.iter().map(|p| p.data.clone()).collect();
    v.extend(
        c.weights
            .bn
            .iter()
            .flat_map(|b| [b.running_mean.clone(), b.running_var.clone()]),
    );
    v.extend(c.adam.m.clone());
    v
}

#[test]
fn resume_reaches_the_same_weights_as_an_uninterrupted_run() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    write_synthetic(&tr, 70, 6, true);
    write_synthetic(&va, 20, 7, true);
    let train = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "--epochs",
            "3",
            "--batch",
            "8",
            "--seed",
            "11",
            "--patience",
            "0",
            "--lr",
            "2e-3",
        ];
        args.extend_from_slice(extra);
        train_ok(&tr, &va, out, &args)
    };
    let a = d.path().join("a");
    train(&a, &[]);
    // 8 batches per epoch: stop in the middle of epoch 2, then resume twice more.
    let b = d.path().join("b");
    let err = train(&b, &["--max-batches", "11"]);
    assert!(err.contains("stopped at epoch 2 after batch 3"), "{err}");
    let ck = Checkpoint::load(&b.join("last.ckpt")).unwrap();
    assert_eq!((ck.epoch, ck.batch_pos), (1, 3));
    let last = b.join("last.ckpt");
    train(&b, &["--resume", p(&last), "--max-batches", "7"]);
    train(&b, &["--resume", p(&last)]);
    assert_eq!(
        final_weights(&a.join("last.ckpt")),
        final_weights(&b.join("last.ckpt"))
    );
    assert_eq!(
        final_weights(&a.join("best.ckpt")),
        final_weights(&b.join("best.ckpt"))
    );
    // The scheduler state and learning rate too (patience 0 makes it act every epoch).
    let (ca, cb) = (
        Checkpoint::load(&a.join("last.ckpt")).unwrap(),
        Checkpoint::load(&b.join("last.ckpt")).unwrap(),
    );
    assert_eq!(ca.adam.lr, cb.adam.lr);
    assert_eq!(ca.plateau, cb.plateau);
    // metrics.csv agrees except for timings.
    let strip = |p: &Path| -> Vec<Vec<String>> {
        let (h, rows) = read_csv(p);
        let s = col(&h, "seconds");
        rows.into_iter().map(|r| r[..s].to_vec()).collect()
    };
    assert_eq!(strip(&a.join("metrics.csv")), strip(&b.join("metrics.csv")));
}

#[test]
fn sigterm_writes_last_checkpoint_and_exits_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    write_synthetic(&tr, 400, 8, true);
    write_synthetic(&va, 20, 9, true);
    let out = d.path().join("run");
    let child = std::process::Command::new(nextgnn_stream::testing::tool_path("gcn-train"))
        .args([
            "--train",
            tr.to_str().unwrap(),
            "--valid",
            va.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "100000",
            "--batch",
            "4",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !out.join("metrics.csv").exists() {
        assert!(t0.elapsed().as_secs() < 120, "no epoch finished in 120 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "exit status {:?}: {err}", o.status);
    assert!(
        err.contains("stopped at epoch") && err.contains("--resume"),
        "{err}"
    );
    let ck = Checkpoint::load(&out.join("last.ckpt")).unwrap();
    assert!(ck.epoch >= 1, "last.ckpt is at epoch {}", ck.epoch);
}

#[test]
fn trains_on_real_graphs_from_voxel2graph() {
    let d = tempfile::tempdir().unwrap();
    let gs = d.path().join("real.gs");
    let label = nextgnn_stream::testing::golden("nexus_label_0_doublescape.h5");
    run_ok(
        "voxel2graph",
        &[label.to_str().unwrap(), "-o", gs.to_str().unwrap()],
    );
    for task in ["classification", "segmentation"] {
        let out = d.path().join(task);
        train_ok(
            &gs,
            &gs,
            &out,
            &[
                "--task",
                task,
                "--epochs",
                "2",
                "--batch",
                "2",
                "--class-weights",
                if task == "classification" {
                    "1,1"
                } else {
                    "auto"
                },
            ],
        );
        let (_, rows) = read_csv(&out.join("metrics.csv"));
        assert_eq!(rows.len(), 2);
        let pred = d.path().join(format!("{task}.csv"));
        predict_ok(&out.join("best.ckpt"), &gs, &pred, &[]);
        let (_, rows) = read_csv(&pred);
        // All six events are binclass 0 in this file; segmentation writes one row per voxel.
        assert_eq!(rows.len(), if task == "classification" { 6 } else { 318 });
    }
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let (lab, unl) = (d.path().join("l.gs"), d.path().join("u.gs"));
    write_synthetic(&lab, 20, 1, true);
    write_synthetic(&unl, 20, 1, false);
    let out = d.path().join("o");
    let o = d.path().join("o").to_str().unwrap().to_string();
    let fail = |args: &[&str], want: &str| {
        let r = run("gcn-train", args);
        let err = String::from_utf8_lossy(&r.stderr).to_string();
        assert!(!r.status.success(), "{args:?} succeeded");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert!(
            errors.len() == 1 && err.trim_end().lines().last() == Some(errors[0]),
            "{err}"
        );
        assert!(err.contains(want), "expected '{want}' in: {err}");
    };
    let (l, u) = (lab.to_str().unwrap(), unl.to_str().unwrap());
    fail(
        &[
            "--task",
            "segmentation",
            "--train",
            u,
            "--valid",
            u,
            "--out",
            &o,
        ],
        "needs node labels",
    );
    fail(
        &["--train", l, "--valid", l, "--out", &o, "--batch", "64"],
        "fewer than one batch",
    );
    fail(
        &[
            "--train",
            l,
            "--valid",
            l,
            "--out",
            &o,
            "--class-weights",
            "1,2,3",
            "--batch",
            "4",
        ],
        "--class-weights has 3 values",
    );
    fail(
        &["--train", "missing.gs", "--valid", l, "--out", &o],
        "missing.gs",
    );
    fail(
        &[
            "--train", l, "--valid", l, "--out", &o, "--resume", l, "--batch", "4",
        ],
        "not a gcn-train checkpoint",
    );
    // A checkpoint cut short, as when the job writing it was killed mid-copy.
    let cfg = nextgnn_gcn::train::TrainConfig {
        nconv: 1,
        class_weights: nextgnn_gcn::train::ClassWeights::List(vec![0.5, 0.5]),
        epochs: 1,
        batch: 4,
        valid_batch: 4,
        ..Default::default()
    };
    let store = nextgnn_gcn::store::GraphStore::new(2, false);
    let bytes = nextgnn_gcn::train::new_run(cfg, schema(true), &store)
        .unwrap()
        .to_bytes()
        .unwrap();
    let bad = d.path().join("bad.ckpt");
    std::fs::write(&bad, &bytes[..1000]).unwrap();
    fail(
        &[
            "--train",
            l,
            "--valid",
            l,
            "--out",
            &o,
            "--resume",
            bad.to_str().unwrap(),
            "--batch",
            "4",
        ],
        &format!(
            "error: {}: checkpoint is truncated or corrupt (bincode: unexpected end of data); \
             was the writing job killed? use best.ckpt/last.ckpt from a finished run\n",
            bad.display()
        ),
    );
    assert!(!out.join("best.ckpt").exists());
}

#[test]
fn argument_errors_exit_2_and_betas_is_one_value() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("l.gs");
    write_synthetic(&data, 8, 1, true);
    let l = data.to_str().unwrap();
    let out = d.path().join("o");
    let o = out.to_str().unwrap();
    let usage_error = |extra: &[&str], want: &str| {
        let mut args = vec!["--train", l, "--valid", l, "--out", o];
        args.extend(extra);
        let r = run("gcn-train", &args);
        assert_eq!(r.status.code(), Some(2), "{extra:?}");
        assert_eq!(String::from_utf8_lossy(&r.stderr), want, "{extra:?}");
    };
    usage_error(
        &["--epochs", "0"],
        "error: invalid value '0' for '--epochs <EPOCHS>': --epochs must be at least 1 \
         (see --help)\n",
    );
    usage_error(
        &["--epochs", "two"],
        "error: invalid value 'two' for '--epochs <EPOCHS>': --epochs takes a whole number of \
         epochs, at least 1 (see --help)\n",
    );
    for bad in ["0.9", "0.9,0.99,0.999", "0.9,1", "a,b"] {
        usage_error(
            &["--betas", bad],
            &format!(
                "error: invalid value '{bad}' for '--betas <B1,B2>': --betas takes two numbers in \
                 [0, 1) separated by a comma, β1,β2 (e.g. 0.9,0.999) (see --help)\n"
            ),
        );
    }
    // A negative number is a value (checked like any other), not an unknown option.
    for (extra, want) in [
        (["--lr", "-1"], "error: --lr and --eps must be positive"),
        (
            ["--dropout", "-0.1"],
            "error: --dropout must be in [0, 1) (got -0.1)",
        ),
        (
            ["--weight-decay", "-1"],
            "error: --weight-decay and --min-lr must not be negative",
        ),
        (
            ["--lr-factor", "2"],
            "error: --lr-factor must be in (0, 1): it multiplies the learning rate when the \
             validation loss stalls (got 2)",
        ),
    ] {
        let mut args = vec!["--train", l, "--valid", l, "--out", o, "--batch", "4"];
        args.extend(extra);
        assert_eq!(fail_line("gcn-train", &args), want, "{extra:?}");
    }
    assert!(!out.exists());
    let help = String::from_utf8(run("gcn-train", &["--help"]).stdout).unwrap();
    assert!(help.contains("      --betas <B1,B2>\n"), "{help}");
    assert!(!help.contains("<BETAS>"), "{help}");

    // One comma-separated value is used as given, and saved with the run.
    train_ok(
        &data,
        &data,
        &out,
        &[
            "--betas", "0.8,0.99", "--epochs", "1", "--batch", "4", "--nconv", "1",
        ],
    );
    let ck = Checkpoint::load(&out.join("last.ckpt")).unwrap();
    assert_eq!(ck.config.betas, [0.8, 0.99]);
    assert_eq!(ck.config.epochs, 1);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    // Batches of 96 chains (about 1 100 nodes) are large enough for every kernel to split its work.
    write_synthetic(&tr, 288, 21, true);
    write_synthetic(&va, 200, 22, true);
    for task in ["classification", "segmentation"] {
        let mut runs = Vec::new();
        for threads in ["1", "2", "3"] {
            let out = d.path().join(format!("{task}-{threads}"));
            train_ok(
                &tr,
                &va,
                &out,
                &[
                    "--task",
                    task,
                    "--class-weights",
                    if task == "classification" {
                        "0.5,0.5"
                    } else {
                        "0.3,0.3,0.4"
                    },
                    "--epochs",
                    "2",
                    "--batch",
                    "96",
                    "--valid-batch",
                    "100",
                    "--lr",
                    "5e-3",
                    "--dropout",
                    "0.2",
                    "--seed",
                    "5",
                    "--threads",
                    threads,
                ],
            );
            let (h, rows) = read_csv(&out.join("metrics.csv"));
            let s = col(&h, "seconds");
            let metrics: Vec<Vec<String>> = rows.into_iter().map(|r| r[..s].to_vec()).collect();
            let pred = d.path().join(format!("{task}-{threads}.csv"));
            predict_ok(&out.join("last.ckpt"), &va, &pred, &["--threads", threads]);
            runs.push((
                metrics,
                final_weights(&out.join("last.ckpt")),
                std::fs::read_to_string(&pred).unwrap(),
            ));
        }
        assert_eq!(runs[0].0.len(), 2);
        for r in &runs[1..] {
            assert_eq!(
                r.0, runs[0].0,
                "{task}: metrics differ between thread counts"
            );
            assert!(
                r.1 == runs[0].1,
                "{task}: weights differ between thread counts"
            );
            assert!(
                r.2 == runs[0].2,
                "{task}: predictions differ between thread counts"
            );
        }
    }
}

#[test]
fn a_model_that_predicts_one_class_for_everything_is_reported() {
    // Every graph the same but for its class: no model can tell them apart.
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("same.gs");
    let mut rng = Lcg::new(5);
    let g0 = chain_graph(&mut rng, 0, 0, 0);
    let graphs = (0..16).map(|k| {
        let mut g = g0.clone();
        g.dataset_id = k;
        g.binclass = k % 2;
        g
    });
    write_graphs(&path, schema(true), graphs);
    let out = d.path().join("run");
    let log = train_ok(&path, &path, &out, &["--epochs", "2", "--batch", "4"]);
    let (h, rows) = read_csv(&out.join("metrics.csv"));
    assert_eq!(rows[1][col(&h, "valid_acc")], "0.500000");
    let warning = log
        .lines()
        .find(|l| l.starts_with("gcn-train: warning: the model"))
        .unwrap_or_else(|| panic!("no warning in: {log}"));
    assert!(
        warning.starts_with("gcn-train: warning: the model predicts class ")
            && warning.contains(" for the whole validation stream: it has not learned"),
        "{warning}"
    );
}

#[test]
fn an_out_dir_of_another_run_and_options_contradicting_a_checkpoint_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    write_synthetic(&tr, 16, 1, true);
    write_synthetic(&va, 8, 2, true);
    let opts = ["--epochs", "1", "--batch", "4", "--nconv", "1"];
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    train_ok(&tr, &va, &a, &opts);
    train_ok(&tr, &va, &b, &opts);
    let metrics_a = std::fs::read(a.join("metrics.csv")).unwrap();
    let a_last = a.join("last.ckpt");
    let args = |out: &Path, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["--train", p(&tr), "--valid", p(&va), "--out", p(out)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let fail = |v: Vec<String>| {
        fail_line(
            "gcn-train",
            &v.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };
    // A second run into a's directory would replace its checkpoints.
    assert_eq!(
        fail(args(&a, &opts)),
        format!(
            "error: {}: already holds a training run (last.ckpt, best.ckpt, metrics.csv); continue it \
             with --resume {}, or give another --out (or remove {}) to start a new run",
            a.display(),
            a_last.display(),
            a.display()
        )
    );
    // Continuing a's run into b's directory would mix the two.
    assert_eq!(
        fail(args(&b, &["--resume", p(&a_last), "--epochs", "2"])),
        format!(
            "error: {}: holds another run's files (last.ckpt, best.ckpt, metrics.csv) and --resume {} \
             is not from it; a resumed run writes into --out: give --out {} or an empty directory",
            b.display(),
            a_last.display(),
            a.display()
        )
    );
    // A resumed run keeps its hyperparameters; an option saying otherwise is an error.
    assert_eq!(
        fail(args(&a, &["--resume", p(&a_last), "--task", "segmentation", "--seed", "5", "--lr", "5e-4"])),
        format!(
            "error: {}: --task segmentation (checkpoint: classification), --seed 5 (checkpoint: 0) \
             contradicts the checkpoint; a resumed run keeps its hyperparameters (only --epochs may \
             change): drop the option, or start a new run in another --out",
            a_last.display()
        )
    );
    assert_eq!(std::fs::read(a.join("metrics.csv")).unwrap(), metrics_a);
    // The same options again, --epochs raised: the run goes on in its own directory.
    let mut more = opts.to_vec();
    more[1] = "2";
    train_ok(
        &tr,
        &va,
        &a,
        &[&more[..], &["--resume", p(&a_last)]].concat(),
    );
    let (_, rows) = read_csv(&a.join("metrics.csv"));
    assert_eq!(rows.len(), 2);
    // A resumed run may branch into an empty directory.
    let c = d.path().join("c");
    train_ok(&tr, &va, &c, &["--resume", p(&a_last), "--epochs", "3"]);
    assert_eq!(read_csv(&c.join("metrics.csv")).1.len(), 1);
}

#[test]
fn cuda_without_the_feature_fails_first_and_leaves_no_directory() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let err = fail_line(
        "gcn-train",
        &[
            "--train",
            "missing.gs",
            "--valid",
            "missing.gs",
            "--out",
            p(&out),
            "--device",
            "cuda",
        ],
    );
    assert_eq!(
        err,
        "error: --device cuda: this build has no CUDA support; rebuild the GCN tools with \
         `cargo build --release -p gcn-train -p gcn-predict --features cuda` (needs the CUDA toolkit)"
    );
    assert!(!out.exists());
}

#[test]
fn streams_without_three_coordinates_are_refused_before_training() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("xy.gs");
    let mut s = schema(true);
    s.coord_names = vec!["x".into(), "y".into()];
    let mut rng = Lcg::new(2);
    let graphs = (0..8).map(|k| {
        let mut g = chain_graph(&mut rng, 0, k, k % 2);
        g.coords = g.coords.chunks(3).flat_map(|c| [c[0], c[1]]).collect();
        g
    });
    write_graphs(&path, s, graphs);
    let out = d.path().join("run");
    assert_eq!(
        fail_line(
            "gcn-train",
            &[
                "--train",
                p(&path),
                "--valid",
                p(&path),
                "--out",
                p(&out),
                "--batch",
                "4"
            ]
        ),
        format!(
            "error: {}: the stream has 2 coordinate column(s) [x, y]; the prediction tables need \
             three (x, y, z): rebuild the graphs with voxel2graph --coords naming three columns",
            path.display()
        )
    );
    assert!(!out.exists());
    // gcn-predict says the same, naming the stream, before it reads a graph.
    let good = d.path().join("good.gs");
    write_synthetic(&good, 8, 1, true);
    train_ok(
        &good,
        &good,
        &out,
        &["--epochs", "1", "--batch", "4", "--nconv", "1"],
    );
    let pred = d.path().join("pred.csv");
    assert_eq!(
        fail_line(
            "gcn-predict",
            &[
                "--model",
                p(&out.join("best.ckpt")),
                p(&path),
                "-o",
                p(&pred)
            ]
        ),
        format!(
            "error: {}: the stream has 2 coordinate column(s) [x, y]; the prediction tables need \
             three (x, y, z): rebuild the graphs with voxel2graph --coords naming three columns",
            path.display()
        )
    );
    assert!(!pred.exists());
}

#[test]
fn streams_and_settings_that_cannot_train_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (tr, va) = (d.path().join("train.gs"), d.path().join("valid.gs"));
    write_synthetic(&tr, 16, 1, true);
    write_synthetic(&va, 8, 2, true);
    let empty = d.path().join("empty.gs");
    write_graphs(&empty, schema(true), []);
    let out = d.path().join("run");
    let o = p(&out);
    assert_eq!(
        fail_line(
            "gcn-train",
            &["--train", p(&empty), "--valid", p(&va), "--out", o]
        ),
        "error: the training stream has no graphs"
    );
    assert_eq!(
        fail_line("gcn-train", &["--train", "-", "--valid", "-", "--out", o]),
        "error: --train and --valid are both stdin (-); at most one stream can come from stdin"
    );
    let r = run(
        "gcn-train",
        &[
            "--train",
            p(&tr),
            "--valid",
            p(&va),
            "--out",
            o,
            "--class-weights",
            "0,0",
        ],
    );
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&r.stderr),
        "error: invalid value '0,0' for '--class-weights <CLASS_WEIGHTS>': '0,0' is neither \
         'auto' nor a comma-separated list of non-negative numbers, not all zero (see --help)\n"
    );
    assert!(!out.exists());
    // Validating on the training stream itself is allowed, with a warning.
    let opts = ["--epochs", "1", "--batch", "4", "--nconv", "1"];
    let log = train_ok(&tr, &tr, &out, &opts);
    assert!(
        log.contains(
            "gcn-train: warning: --valid is the training stream: validation scores will measure \
             the fit, not how the model generalises (graphsplit makes a validation part)"
        ),
        "{log}"
    );
    // A resumed run whose --epochs are already done would train nothing and say "done".
    let last = out.join("last.ckpt");
    assert_eq!(
        fail_line(
            "gcn-train",
            &[
                "--train",
                p(&tr),
                "--valid",
                p(&tr),
                "--out",
                o,
                "--resume",
                p(&last),
                "--epochs",
                "1"
            ]
        ),
        format!(
            "error: {}: the run has already done 1 epochs, --epochs 1 leaves nothing to train: \
             give a larger --epochs to continue it",
            last.display()
        )
    );
}
