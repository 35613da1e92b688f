//! gcn-train: train the GCN (event classification or voxel segmentation) on graph streams.

use clap::Parser;
use nextgnn_gcn::model::Task;
use nextgnn_gcn::tool::{self, DeviceKind, TrainArgs};
use nextgnn_gcn::train::{ClassWeights, Outcome, TrainConfig};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const EXAMPLES: &str = "\
Examples:
  gcn-train --train p_train.gs --valid p_valid.gs --out runs/cls
  gcn-train --task segmentation --train p_train.gs --valid p_valid.gs --out runs/seg --epochs 50
  gcn-train --train t.gs --valid v.gs --out runs/cls --class-weights 0.3,0.7 --threads 8
  gcn-train --train t.gs --valid v.gs --out runs/cls --resume runs/cls/last.ckpt

Writes into --out: best.ckpt (lowest validation loss), last.ckpt (after every epoch, and when
stopped), metrics.csv (one row per epoch) and curves.svg. On SIGTERM (sent by SLURM before the
time limit) or Ctrl-C the current batch is finished, last.ckpt written, and the program exits
with status 0; --resume DIR/last.ckpt then continues to the same final weights as a run that was
never interrupted. A resumed run keeps the checkpoint's hyperparameters: an option that
contradicts them is an error (only --epochs may change). An --out that holds another run's files
is refused, so that no run overwrites another. Training batches are reshuffled every epoch from
--seed and the last incomplete batch is dropped, as in the reference. If the final model predicts
one class for the whole validation stream, a warning says that it has not learned.";

/// Train the NEXT graph convolutional network (the reference GCNClass layout) on graph streams.
#[derive(Parser, Debug)]
#[command(name = "gcn-train", version, after_help = EXAMPLES)]
struct Args {
    /// Training graph stream (`-` for stdin).
    #[arg(long)]
    train: String,
    /// Validation graph stream: scored after every epoch, drives the scheduler and best.ckpt.
    #[arg(long)]
    valid: String,
    /// Output directory for checkpoints and metrics (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// What to predict.
    #[arg(long, value_enum, default_value = "classification")]
    task: Task,
    /// Number of convolution blocks (GCNConv, BatchNorm, ReLU, dropout).
    #[arg(long, default_value_t = 4)]
    nconv: usize,
    /// Feature multiplier per block: d → mult·d.
    #[arg(long, default_value_t = 2)]
    mult: usize,
    /// Dropout probability after each block and inside each head.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    dropout: f64,
    /// Loss class weights: `auto` (inverse frequency over the first 1000 training graphs,
    /// normalised to sum 1) or one weight per class, e.g. `0.4,0.6`.
    #[arg(long, default_value = "auto")]
    class_weights: ClassWeights,
    /// Adam learning rate.
    #[arg(long, default_value_t = 5e-4, allow_negative_numbers = true)]
    lr: f64,
    /// Adam β1,β2: one value, two numbers in [0, 1) separated by a comma.
    #[arg(long, value_name = "B1,B2", value_parser = parse_betas, default_value = "0.9,0.999")]
    betas: [f64; 2],
    /// Adam ε.
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    eps: f64,
    /// Adam L2 weight decay.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    weight_decay: f64,
    /// ReduceLROnPlateau: multiply the learning rate by this when the validation loss stalls.
    #[arg(long, default_value_t = 0.6, allow_negative_numbers = true)]
    lr_factor: f64,
    /// ReduceLROnPlateau: epochs without improvement before reducing.
    #[arg(long, default_value_t = 10)]
    patience: usize,
    /// ReduceLROnPlateau: lowest learning rate.
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    min_lr: f64,
    /// Epochs [default: 20] (with --resume: the total to reach, overriding the checkpoint's).
    #[arg(long, value_parser = parse_epochs)]
    epochs: Option<u64>,
    /// Graphs per training batch.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Graphs per validation batch.
    #[arg(long, default_value_t = 64)]
    valid_batch: usize,
    /// Seed of the weights, the shuffles and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to compute.
    #[arg(long, value_enum, default_value = "cpu")]
    device: DeviceKind,
    /// CPU threads (0 = one per core); results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = nextgnn_stream::output::parse_threads, env = "SLURM_CPUS_PER_TASK")]
    threads: usize,
    /// Continue the run saved in this checkpoint (normally DIR/last.ckpt); its hyperparameters are used.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Stop as if signalled after this many training batches (for testing resumption).
    #[arg(long, hide = true)]
    max_batches: Option<usize>,
}

/// `--epochs`: a whole number, at least 1.
fn parse_epochs(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(0) => Err("--epochs must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("--epochs takes a whole number of epochs, at least 1".into()),
    }
}

/// `--betas`: β1,β2 as one comma-separated value.
fn parse_betas(s: &str) -> Result<[f64; 2], String> {
    let usage = "--betas takes two numbers in [0, 1) separated by a comma, β1,β2 (e.g. 0.9,0.999)";
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| usage.to_string())?;
    match v[..] {
        [b1, b2] if (0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2) => Ok([b1, b2]),
        _ => Err(usage.into()),
    }
}

fn main() {
    nextgnn_stream::run_main(|| {
        let (a, given) = nextgnn_stream::parse_args_given::<Args>();
        anyhow::ensure!(
            a.batch > 0 && a.valid_batch > 0,
            "--batch and --valid-batch must be positive"
        );
        anyhow::ensure!(a.lr > 0.0 && a.eps > 0.0, "--lr and --eps must be positive");
        anyhow::ensure!(
            a.weight_decay >= 0.0 && a.min_lr >= 0.0,
            "--weight-decay and --min-lr must not be negative"
        );
        anyhow::ensure!(
            a.lr_factor > 0.0 && a.lr_factor < 1.0,
            "--lr-factor must be in (0, 1): it multiplies the learning rate when the validation loss stalls (got {})",
            a.lr_factor
        );
        tool::tune_allocator();
        tool::set_threads(a.threads)?;
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, stop.clone())?;
        }
        let cfg = TrainConfig {
            task: a.task,
            nconv: a.nconv,
            mult: a.mult,
            dropout: a.dropout,
            class_weights: a.class_weights.clone(),
            lr: a.lr,
            betas: a.betas,
            eps: a.eps,
            weight_decay: a.weight_decay,
            lr_factor: a.lr_factor,
            patience: a.patience,
            min_lr: a.min_lr,
            epochs: a
                .epochs
                .map_or(TrainConfig::default().epochs, |e| e as usize),
            batch: a.batch,
            valid_batch: a.valid_batch,
            seed: a.seed,
        };
        let args = TrainArgs {
            train: a.train.clone(),
            valid: a.valid.clone(),
            out: a.out.clone(),
            resume: a.resume.clone(),
            epochs_override: a.epochs.map(|e| e as usize),
            device: a.device,
            max_batches: a.max_batches,
            given,
        };
        let curves = a.out.join("curves.svg");
        let mut constant = None;
        let outcome = tool::train_command(cfg, &args, &stop, |m, metrics| {
            constant = m.constant_prediction();
            let score = m
                .valid_score
                .iter()
                .map(|s| format!("{s:.4}"))
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!(
                "epoch {:>3}  lr {:.2e}  train loss {:.5}  valid loss {:.5}  valid {}  {:.1} s  {:.0} graphs/s",
                m.epoch, m.lr, m.train_loss, m.valid_loss, score, m.seconds, m.graphs_per_s
            );
            if let Err(e) = nextgnn_eval::plots::training_curves(metrics, &curves) {
                eprintln!("warning: curves.svg not drawn: {e:#}");
            }
        })?;
        if let (Outcome::Finished { .. }, Some(k)) = (&outcome, constant) {
            eprintln!(
                "gcn-train: warning: the model predicts class {k} for the whole validation stream: \
                 it has not learned (its score is that class's share). Try another --seed, a larger \
                 --lr or more --epochs, or graphs with more features (voxel2graph --cloud-info)"
            );
        }
        match outcome {
            Outcome::Finished { best_valid } => eprintln!(
                "gcn-train: done; best validation loss {best_valid:.5} in {}",
                a.out.join("best.ckpt").display()
            ),
            Outcome::Stopped { epoch, batch } => eprintln!(
                "gcn-train: stopped at epoch {epoch} after batch {batch}; continue with --resume {}",
                a.out.join("last.ckpt").display()
            ),
        }
        Ok(())
    })
}
