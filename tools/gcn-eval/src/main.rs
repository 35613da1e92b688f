//! gcn-eval: judge gcn-predict output as physicists do (efficiency vs rejection, IoU).

use clap::Parser;
use nextgnn_eval::report::{run, EvalOptions};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  gcn-eval preds.csv                              table: AUC, best εs/√εb, working points
  gcn-eval preds.h5 --json > eval.json            the same as JSON (infinite values are null)
  gcn-eval preds.csv --csv roc.csv --plot roc.svg ROC curve as a table and a picture
  gcn-eval preds.csv --plot roc.png               PNG instead of SVG
  gcn-eval run_*.csv --rejections 0.8,0.9         several files (e.g. one per SLURM task) at once
  gcn-eval voxels.csv                             segmentation: IoU per class, confusion matrix
  gcn-eval --curves model/metrics.csv --plot curves.svg
                                                  redraw gcn-train's training curves

Signal is binclass 1; an event is selected when class_1 >= cut. Background rejection is
1 - εb and the rejection factor 1/εb (NEXT-White's blob cut: about 5x at 72 % signal
efficiency). Uncertainties are binomial, sqrt(p(1-p)/n). The kind of file (EventPred or
VoxelPred) is told by its columns.";

/// Evaluate gcn-predict output: ROC curve, AUC, figure of merit, efficiency at fixed
/// rejection (classification) or per-class IoU (segmentation).
#[derive(Parser, Debug)]
#[command(name = "gcn-eval", version, after_help = EXAMPLES)]
struct Args {
    /// gcn-predict output files: CSV with header, or HDF5 with an EventPred / VoxelPred table;
    /// `-` reads CSV from stdin. Several files are evaluated together.
    #[arg(required_unless_present = "curves", value_name = "PRED")]
    inputs: Vec<String>,

    /// Instead of evaluating predictions, draw the training curves (loss, accuracy or IoU, lr
    /// per epoch) of this gcn-train metrics.csv to the --plot file.
    #[arg(long, value_name = "METRICS.csv", conflicts_with_all = ["inputs", "json", "curve_csv"], requires = "plot")]
    curves: Option<std::path::PathBuf>,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// Write the ROC curve (threshold, efficiencies, rejection, uncertainties) to this CSV file.
    #[arg(long = "csv", value_name = "CURVE.csv")]
    curve_csv: Option<PathBuf>,

    /// Draw the ROC curve to this file: SVG, or PNG when the name ends in .png.
    #[arg(long, value_name = "ROC.svg")]
    plot: Option<PathBuf>,

    /// Cut on the signal probability class_1 for the confusion matrix and accuracy.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,

    /// Background rejections (1 - εb) at which to report the best signal efficiency.
    #[arg(long, value_delimiter = ',', default_value = "0.9,0.95,0.99")]
    rejections: Vec<f64>,

    /// Signal efficiencies at which to report the best background rejection.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.6,0.7,0.8,0.9")]
    efficiencies: Vec<f64>,

    /// Cuts passing fewer background events than this are left out of the best εs/√εb search:
    /// with a handful of events εb, hence the figure of merit, is mostly noise.
    #[arg(long, default_value_t = nextgnn_eval::classify::DEFAULT_FOM_MIN_BACKGROUND, value_name = "N")]
    fom_min_background: u64,

    /// Name of the curve in the plot legend (default: the first input's file name).
    #[arg(long)]
    label: Option<String>,
}

fn main() {
    nextgnn_stream::run_main(|| {
        let a: Args = nextgnn_stream::parse_args();
        if let (Some(metrics), Some(plot)) = (&a.curves, &a.plot) {
            nextgnn_eval::training_curves(metrics, plot)?;
            eprintln!("gcn-eval: wrote training curves {}", plot.display());
            return Ok(());
        }
        run(&EvalOptions {
            inputs: a.inputs,
            json: a.json,
            curve_csv: a.curve_csv,
            plot: a.plot,
            threshold: a.threshold,
            rejections: a.rejections,
            efficiencies: a.efficiencies,
            fom_min_background: a.fom_min_background,
            label: a.label,
        })
    });
}
