//! gcn-predict: classify events (or voxels) of a graph stream with a trained GCN.

use clap::Parser;
use nextgnn_gcn::tool::{self, DeviceKind, Format};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  gcn-predict --model runs/cls/best.ckpt p_test.gs -o pred.csv
  gcn-predict --model runs/cls/best.ckpt p_test.gs --format h5 -o pred.h5
  voxel2graph new.h5 | gcn-predict --model runs/seg/best.ckpt - -o voxels.csv

Classification models write one EventPred row per event: file_id, dataset_id, binclass,
num_nodes, num_edges, mean_x/y/z, maxE_x/y/z (coordinates of the voxel with the highest first
feature), mean_dist (mean voxel distance from the mean position), class_0, class_1 (softmax).
Segmentation models write one VoxelPred row per voxel: file_id, dataset_id, binclass, x, y, z,
energy, label, class_0..class_2. Rows are sorted by (file_id, dataset_id). The model runs in
evaluation mode (running BatchNorm statistics, no dropout), so the output is deterministic.
In Python: pandas.read_hdf('pred.h5', 'EventPred') (or 'VoxelPred'), or pandas.read_csv.
When the stream carries labels, the accuracy (or the IoU per class) is printed on stderr.";

/// Predict event classes (or voxel classes) of a graph stream with a model from gcn-train.
#[derive(Parser, Debug)]
#[command(name = "gcn-predict", version, after_help = EXAMPLES)]
struct Args {
    /// Checkpoint written by gcn-train (normally DIR/best.ckpt).
    #[arg(long)]
    model: PathBuf,
    /// Graph stream to predict; `-` reads stdin.
    #[arg(default_value = "-")]
    input: String,
    /// Output file; `-` writes CSV to stdout.
    #[arg(short, long, default_value = "-")]
    output: String,
    /// Output format [default: from the output name: h5 for .h5/.hdf5, else csv].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Graphs per evaluation batch (does not change the results).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Where to compute.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceKind,
    /// CPU threads (0 = one per core); results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = nextgnn_stream::output::parse_threads, env = "SLURM_CPUS_PER_TASK")]
    threads: usize,
}

fn main() {
    nextgnn_stream::run_main(|| {
        let a: Args = nextgnn_stream::parse_args();
        anyhow::ensure!(a.batch > 0, "--batch must be positive");
        nextgnn_stream::output::remove_temp_files_on_signals()?;
        nextgnn_stream::output::check_not_an_input(
            &a.output,
            [
                std::path::Path::new(&a.input),
                std::path::Path::new(&a.model),
            ],
        )?;
        tool::tune_allocator();
        tool::set_threads(a.threads)?;
        let by_name = if a.output.ends_with(".h5") || a.output.ends_with(".hdf5") {
            Format::H5
        } else {
            Format::Csv
        };
        let format = a.format.unwrap_or(by_name);
        let (task, score) =
            tool::predict_command(&a.model, &a.input, &a.output, format, a.batch, a.device)?;
        if let Some(s) = score {
            eprintln!("gcn-predict: {}", tool::score_line(task, &s));
        }
        Ok(())
    })
}
