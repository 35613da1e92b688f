//! The gcn-eval report: what is computed from a predictions file and how it is printed.

use crate::classify::{BinaryConfusion, Roc, WorkingPoint};
use crate::input::{read_predictions_many, PredKind, Predictions};
use crate::plots::roc_plot;
use crate::segment::{argmax, class_name, SegMetrics};
use anyhow::{bail, Context, Result};
use nextgnn_stream::write_atomic;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Default background rejections at which the signal efficiency is reported.
pub const DEFAULT_REJECTIONS: [f64; 3] = [0.90, 0.95, 0.99];
/// Default signal efficiencies at which the background rejection is reported.
pub const DEFAULT_EFFICIENCIES: [f64; 5] = [0.5, 0.6, 0.7, 0.8, 0.9];

/// What gcn-eval was asked to do.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// gcn-predict files (CSV or HDF5; `-` = CSV on stdin), concatenated.
    pub inputs: Vec<String>,
    /// Print JSON instead of the human table.
    pub json: bool,
    /// Where to write the ROC curve as CSV.
    pub curve_csv: Option<PathBuf>,
    /// Where to draw the ROC curve (SVG, or PNG by extension).
    pub plot: Option<PathBuf>,
    /// Cut on the signal probability for the confusion matrix and accuracy.
    pub threshold: f64,
    /// Background rejections for the efficiency table.
    pub rejections: Vec<f64>,
    /// Signal efficiencies for the rejection table.
    pub efficiencies: Vec<f64>,
    /// Minimum background events passing for a cut to compete for the best `εs/√εb`.
    pub fom_min_background: u64,
    /// Legend name of the curve in the plot (default: the first input's file name).
    pub label: Option<String>,
}

/// Event classification results.
#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    /// Input files.
    pub inputs: Vec<String>,
    /// Number of events.
    pub events: u64,
    /// Number of signal events (binclass 1).
    pub signal: u64,
    /// Number of background events (binclass 0).
    pub background: u64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Confusion matrix and accuracy at the chosen cut.
    pub confusion: BinaryConfusion,
    /// Minimum background events a cut had to pass to compete for the best figure of merit.
    pub fom_min_background: u64,
    /// The cut with the best `εs / sqrt(εb)`.
    pub best_fom: Option<WorkingPoint>,
    /// Signal efficiency at each requested background rejection.
    pub at_rejection: Vec<WorkingPoint>,
    /// Background rejection at each requested signal efficiency.
    pub at_efficiency: Vec<WorkingPoint>,
}

/// Voxel segmentation results.
#[derive(Debug, Clone, Serialize)]
pub struct SegReport {
    /// Input files.
    pub inputs: Vec<String>,
    /// Number of distinct events.
    pub events: u64,
    /// Names of the classes, in order.
    pub class_names: Vec<String>,
    /// Confusion matrix, IoU, accuracy.
    #[serde(flatten)]
    pub metrics: SegMetrics,
}

/// A gcn-eval report of either kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum Report {
    /// From an EventPred table.
    Classification(ClassReport),
    /// From a VoxelPred table.
    Segmentation(SegReport),
}

/// Checks that a list of fractions lies in [0, 1]; `what` names the option in the error.
fn check_fractions(values: &[f64], what: &str) -> Result<()> {
    if let Some(v) = values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        bail!("{what}: {v} is not a fraction between 0 and 1");
    }
    Ok(())
}

/// Event-level inputs of the ROC: truth and signal score, refusing an event listed twice.
pub fn event_scores(p: &Predictions) -> Result<(Vec<bool>, Vec<f64>)> {
    let mut seen: HashMap<(i64, i64), usize> = HashMap::with_capacity(p.len());
    for r in 0..p.len() {
        if let Some(first) = seen.insert((p.file_id[r], p.dataset_id[r]), r) {
            bail!(
                "event file_id {} dataset_id {} appears twice ({} and {})",
                p.file_id[r],
                p.dataset_id[r],
                p.row_origin(first),
                p.row_origin(r)
            );
        }
    }
    let is_signal = p.binclass.iter().map(|&b| b == 1).collect();
    let scores = (0..p.len()).map(|r| p.probs_row(r)[1]).collect();
    Ok((is_signal, scores))
}

/// Refuses a voxel (file_id, dataset_id, x, y, z) listed twice: it would count twice in the IoU.
fn voxels_once(p: &Predictions) -> Result<()> {
    let mut seen: HashMap<(i64, i64, [u64; 3]), usize> = HashMap::with_capacity(p.len());
    for r in 0..p.len() {
        let xyz = p.xyz[r].map(f64::to_bits);
        if let Some(first) = seen.insert((p.file_id[r], p.dataset_id[r], xyz), r) {
            let [x, y, z] = p.xyz[r];
            bail!(
                "voxel ({x}, {y}, {z}) of event file_id {} dataset_id {} appears twice ({} and {})",
                p.file_id[r],
                p.dataset_id[r],
                p.row_origin(first),
                p.row_origin(r)
            );
        }
    }
    Ok(())
}

/// Computes the report (and the ROC curve, for classification) from predictions.
pub fn evaluate(p: &Predictions, opts: &EvalOptions) -> Result<(Report, Option<Roc>)> {
    check_fractions(&opts.rejections, "--rejections")?;
    check_fractions(&opts.efficiencies, "--efficiencies")?;
    p.check_truth()?;
    let inputs = p.sources.clone();
    match p.kind {
        Some(PredKind::Event) => {
            let (is_signal, scores) = event_scores(p)?;
            let roc = Roc::new(&is_signal, &scores).with_context(|| inputs.join(", "))?;
            let report = ClassReport {
                inputs,
                events: p.len() as u64,
                signal: roc.n_signal,
                background: roc.n_background,
                auc: roc.auc(),
                confusion: BinaryConfusion::new(&is_signal, &scores, opts.threshold),
                fom_min_background: opts.fom_min_background,
                best_fom: roc.best_fom(opts.fom_min_background),
                at_rejection: opts
                    .rejections
                    .iter()
                    .filter_map(|&r| roc.at_rejection(r))
                    .collect(),
                at_efficiency: opts
                    .efficiencies
                    .iter()
                    .filter_map(|&e| roc.at_efficiency(e))
                    .collect(),
            };
            Ok((Report::Classification(report), Some(roc)))
        }
        Some(PredKind::Voxel) => {
            voxels_once(p)?;
            let k = p.num_classes;
            let truth: Vec<usize> = p.label.iter().map(|&l| l as usize).collect();
            let pred: Vec<usize> = (0..p.len()).map(|r| argmax(p.probs_row(r))).collect();
            let mut events: Vec<(i64, i64)> = p
                .file_id
                .iter()
                .copied()
                .zip(p.dataset_id.iter().copied())
                .collect();
            events.sort_unstable();
            events.dedup();
            let report = SegReport {
                inputs,
                events: events.len() as u64,
                class_names: (0..k).map(class_name).collect(),
                metrics: SegMetrics::new(&truth, &pred, k),
            };
            Ok((Report::Segmentation(report), None))
        }
        None => bail!("no input"),
    }
}

/// The ROC curve as CSV text (one row per cut; `inf` for the nothing-selected cut).
pub fn roc_csv(roc: &Roc) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "threshold",
        "signal_pass",
        "background_pass",
        "signal_efficiency",
        "signal_efficiency_err",
        "background_efficiency",
        "background_rejection",
        "background_rejection_err",
        "rejection_factor",
    ])?;
    for p in &roc.points {
        let wp = roc.working_point(p, None);
        w.write_record([
            p.threshold.to_string(),
            p.signal_pass.to_string(),
            p.background_pass.to_string(),
            wp.efficiency.to_string(),
            wp.efficiency_err.to_string(),
            wp.background_efficiency.to_string(),
            wp.rejection.to_string(),
            wp.rejection_err.to_string(),
            wp.rejection_factor.to_string(),
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

fn pm(v: f64, err: f64, digits: usize) -> String {
    format!("{v:.digits$} ± {err:.digits$}")
}

/// One table of working points at fixed targets (rejections or efficiencies).
fn working_point_table(s: &mut String, title: &str, target: &str, points: &[WorkingPoint]) {
    let _ = writeln!(s, "{title}");
    let _ = writeln!(
        s,
        "  {:>10}  {:>10}  {:>15}  {:>15}  rejection factor",
        target, "cut", "εs", "rejection"
    );
    for w in points {
        let _ = writeln!(
            s,
            "  {:>9.1}%  {:>10.4}  {:>15}  {:>15}  {}",
            w.target.unwrap_or(f64::NAN) * 100.0,
            w.threshold,
            pm(w.efficiency, w.efficiency_err, 4),
            pm(w.rejection, w.rejection_err, 4),
            factor(w)
        );
    }
}

fn factor(w: &WorkingPoint) -> String {
    if w.rejection_factor.is_finite() {
        format!("{:.1} ± {:.1}", w.rejection_factor, w.rejection_factor_err)
    } else {
        "inf (no background passes)".to_string()
    }
}

/// The human-readable table printed by gcn-eval.
pub fn human_table(report: &Report) -> String {
    let mut s = String::new();
    match report {
        Report::Classification(r) => {
            let _ = writeln!(
                s,
                "event classification: {} events ({} signal, {} background) from {}",
                r.events,
                r.signal,
                r.background,
                r.inputs.join(", ")
            );
            let _ = writeln!(s, "AUC                         {:.4}", r.auc);
            let c = &r.confusion;
            let _ = writeln!(
                s,
                "accuracy at cut {:<11.4} {}",
                c.threshold,
                pm(c.accuracy, c.accuracy_err, 4)
            );
            let _ = writeln!(
                s,
                "confusion matrix at cut {:.4} (rows: true class)",
                c.threshold
            );
            let _ = writeln!(s, "                  predicted bkg  predicted sig");
            let _ = writeln!(
                s,
                "  true bkg (0)    {:>13}  {:>13}",
                c.matrix[0][0], c.matrix[0][1]
            );
            let _ = writeln!(
                s,
                "  true sig (1)    {:>13}  {:>13}",
                c.matrix[1][0], c.matrix[1][1]
            );
            if let Some(w) = &r.best_fom {
                let _ = writeln!(
                    s,
                    "best εs/√εb                 {} at cut {:.4}: εs {}, rejection {} ({}×)\n  \
                     (among cuts passing at least {} background events)",
                    pm(w.fom, w.fom_err, 3),
                    w.threshold,
                    pm(w.efficiency, w.efficiency_err, 3),
                    pm(w.rejection, w.rejection_err, 3),
                    factor(w),
                    r.fom_min_background.clamp(1, r.background)
                );
            }
            working_point_table(
                &mut s,
                "signal efficiency at fixed background rejection",
                "rejection≥",
                &r.at_rejection,
            );
            working_point_table(
                &mut s,
                "background rejection at fixed signal efficiency",
                "εs≥",
                &r.at_efficiency,
            );
        }
        Report::Segmentation(r) => {
            let m = &r.metrics;
            let _ = writeln!(
                s,
                "voxel segmentation: {} voxels in {} events from {}",
                m.voxels,
                r.events,
                r.inputs.join(", ")
            );
            let _ = writeln!(s, "accuracy    {}", pm(m.accuracy, m.accuracy_err, 4));
            let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
            let _ = writeln!(s, "mean IoU    {}", opt(m.mean_iou));
            let _ = writeln!(
                s,
                "  {:<10} {:>8} {:>8} {:>10} {:>10}",
                "class", "IoU", "recall", "precision", "voxels"
            );
            for k in 0..m.num_classes {
                let _ = writeln!(
                    s,
                    "  {:<10} {:>8} {:>8} {:>10} {:>10}",
                    format!("{k} {}", r.class_names[k]),
                    opt(m.iou[k]),
                    opt(m.recall[k]),
                    opt(m.precision[k]),
                    m.confusion[k].iter().sum::<u64>()
                );
            }
            let _ = writeln!(
                s,
                "confusion matrix (rows: true class, columns: predicted class)"
            );
            let _ = write!(s, "  {:<10}", "");
            for name in &r.class_names {
                let _ = write!(s, " {name:>10}");
            }
            let _ = writeln!(s);
            for (k, row) in m.confusion.iter().enumerate() {
                let _ = write!(s, "  {:<10}", r.class_names[k]);
                for v in row {
                    let _ = write!(s, " {v:>10}");
                }
                let _ = writeln!(s);
            }
        }
    }
    s
}

/// Runs gcn-eval: reads the inputs, prints the table or JSON, writes the curve and plot if asked.
pub fn run(opts: &EvalOptions) -> Result<()> {
    if opts.inputs.is_empty() {
        bail!("no input file given");
    }
    if !(0.0..=1.0).contains(&opts.threshold) {
        bail!(
            "--threshold: {} is not a probability between 0 and 1",
            opts.threshold
        );
    }
    for out in [&opts.curve_csv, &opts.plot].into_iter().flatten() {
        nextgnn_stream::output::check_not_an_input(
            &out.to_string_lossy(),
            opts.inputs.iter().map(std::path::Path::new),
        )?;
    }
    let preds = read_predictions_many(&opts.inputs)?;
    let (report, roc) = evaluate(&preds, opts)?;
    if roc.is_none() && (opts.curve_csv.is_some() || opts.plot.is_some()) {
        bail!(
            "--csv and --plot write the event classification ROC curve, but {} holds VoxelPred (segmentation) rows",
            opts.inputs.join(", ")
        );
    }
    if let (Some(path), Some(roc)) = (&opts.curve_csv, &roc) {
        write_atomic(path, &roc_csv(roc)?)?;
        eprintln!("gcn-eval: wrote ROC curve table {}", path.display());
    }
    if let (Some(path), Some(roc)) = (&opts.plot, &roc) {
        let label = opts.label.clone().unwrap_or_else(|| {
            std::path::Path::new(&opts.inputs[0])
                .file_name()
                .map_or("predictions".into(), |n| n.to_string_lossy().to_string())
        });
        roc_plot(&[(label.as_str(), roc)], opts.fom_min_background, path)?;
        eprintln!("gcn-eval: wrote ROC plot {}", path.display());
    }
    let text = if opts.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        human_table(&report)
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
