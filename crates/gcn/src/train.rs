//! The training loop of gcn-train: batches, class weights, Adam, ReduceLROnPlateau, checkpoints.

use crate::batch::{Batch, BatchGraph};
use crate::model::{self, Adam, ModelConfig, Task, Weights};
use crate::ops::Backend;
use crate::store::{GraphStore, StoredGraph};
use anyhow::{bail, ensure, Context, Result};
use nextgnn_stream::{Graph, Schema};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Graphs looked at by `--class-weights auto`, as in the reference.
pub const AUTO_WEIGHT_EVENTS: usize = 1000;
/// Leading bytes of a checkpoint file.
pub const CKPT_MAGIC: &[u8; 8] = b"NXGCKPT1";

/// How the loss weighs the classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClassWeights {
    /// Inverse class frequency over the first 1000 training graphs, normalised to sum 1.
    Auto,
    /// Given weights, one per class.
    List(Vec<f32>),
}

impl std::str::FromStr for ClassWeights {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(ClassWeights::Auto);
        }
        let v: Result<Vec<f32>, _> = s.split(',').map(|t| t.trim().parse::<f32>()).collect();
        match v {
            Ok(v) if v.iter().all(|w| w.is_finite() && *w >= 0.0) && v.iter().any(|w| *w > 0.0) => {
                Ok(ClassWeights::List(v))
            }
            _ => Err(format!(
                "'{s}' is neither 'auto' nor a comma-separated list of non-negative numbers, not all zero"
            )),
        }
    }
}

/// Every hyperparameter of a run (saved in checkpoints; a resumed run keeps them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Classification or segmentation.
    pub task: Task,
    /// Convolution blocks.
    pub nconv: usize,
    /// Width multiplier per block.
    pub mult: usize,
    /// Dropout probability.
    pub dropout: f64,
    /// Loss class weights.
    pub class_weights: ClassWeights,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam betas.
    pub betas: [f64; 2],
    /// Adam epsilon.
    pub eps: f64,
    /// Adam L2 weight decay.
    pub weight_decay: f64,
    /// ReduceLROnPlateau factor.
    pub lr_factor: f64,
    /// ReduceLROnPlateau patience (epochs).
    pub patience: usize,
    /// ReduceLROnPlateau lower bound on the learning rate.
    pub min_lr: f64,
    /// Epochs to run.
    pub epochs: usize,
    /// Training batch size (graphs).
    pub batch: usize,
    /// Validation batch size (graphs).
    pub valid_batch: usize,
    /// Seed of initialisation, shuffling and dropout.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// The reference's GCNClass template, as gcn-train's defaults (20 epochs, seed 0).
    fn default() -> Self {
        TrainConfig {
            task: Task::Classification,
            nconv: 4,
            mult: 2,
            dropout: 0.1,
            class_weights: ClassWeights::Auto,
            lr: 5e-4,
            betas: [0.9, 0.999],
            eps: 1e-6,
            weight_decay: 0.0,
            lr_factor: 0.6,
            patience: 10,
            min_lr: 1e-6,
            epochs: 20,
            batch: 64,
            valid_batch: 64,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Each hyperparameter as its gcn-train option (long name) and value, as typed on the command
    /// line; `epochs` is left out because a resumed run may change it.
    fn options(&self) -> [(&'static str, String); 15] {
        let weights = match &self.class_weights {
            ClassWeights::Auto => "auto".to_string(),
            ClassWeights::List(v) => v.iter().map(f32::to_string).collect::<Vec<_>>().join(","),
        };
        [
            ("task", self.task.to_string()),
            ("nconv", self.nconv.to_string()),
            ("mult", self.mult.to_string()),
            ("dropout", self.dropout.to_string()),
            ("class-weights", weights),
            ("lr", self.lr.to_string()),
            ("betas", format!("{},{}", self.betas[0], self.betas[1])),
            ("eps", self.eps.to_string()),
            ("weight-decay", self.weight_decay.to_string()),
            ("lr-factor", self.lr_factor.to_string()),
            ("patience", self.patience.to_string()),
            ("min-lr", self.min_lr.to_string()),
            ("batch", self.batch.to_string()),
            ("valid-batch", self.valid_batch.to_string()),
            ("seed", self.seed.to_string()),
        ]
    }

    /// The gcn-train options whose values differ between `self` and `other`, with both values
    /// (`epochs` is not compared).
    pub fn differences(&self, other: &TrainConfig) -> Vec<(&'static str, String, String)> {
        self.options()
            .into_iter()
            .zip(other.options())
            .filter(|((_, a), (_, b))| a != b)
            .map(|((name, a), (_, b))| (name, a, b))
            .collect()
    }
}

/// PyTorch's ReduceLROnPlateau (mode min, relative threshold 1e-4, no cooldown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    /// Best metric so far.
    pub best: f64,
    /// Epochs without improvement.
    pub bad_epochs: usize,
}

impl Plateau {
    /// Feeds one epoch's validation loss; returns the new learning rate.
    pub fn step(&mut self, metric: f64, lr: f64, cfg: &TrainConfig) -> f64 {
        if metric < self.best * (1.0 - 1e-4) {
            self.best = metric;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.bad_epochs > cfg.patience {
            self.bad_epochs = 0;
            let new = (lr * cfg.lr_factor).max(cfg.min_lr);
            if lr - new > 1e-8 {
                return new;
            }
        }
        lr
    }
}

/// Sums of a partly done epoch, kept in checkpoints so that an interrupted epoch resumes exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochAcc {
    /// Sum of batch losses.
    pub loss_sum: f64,
    /// Batches done.
    pub batches: usize,
    /// Confusion matrix [true][pred], flattened.
    pub confusion: Vec<u64>,
    /// Graphs trained on.
    pub graphs: usize,
    /// Seconds spent in this epoch before the interruption.
    pub seconds: f64,
}

/// Everything needed to use or continue a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Hyperparameters.
    pub config: TrainConfig,
    /// Schema of the training stream.
    pub schema: Schema,
    /// Weights and BatchNorm statistics.
    pub weights: Weights,
    /// Class weights actually used by the loss.
    pub class_weights: Vec<f32>,
    /// Optimizer state, including the current learning rate.
    pub adam: Adam,
    /// Scheduler state.
    pub plateau: Plateau,
    /// Epoch in progress (0-based): epochs before it are complete.
    pub epoch: usize,
    /// Next training batch of that epoch.
    pub batch_pos: usize,
    /// Sums of the epoch in progress.
    pub acc: EpochAcc,
    /// Lowest validation loss so far.
    pub best_valid: f64,
    /// The run's seed; shuffling and dropout draw from counter-based streams of it (per epoch and
    /// per batch), so this and the position above are the complete generator state.
    pub rng_seed: u64,
}

impl Checkpoint {
    /// Serialises the checkpoint (magic, then bincode).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut v = CKPT_MAGIC.to_vec();
        v.extend(bincode::serde::encode_to_vec(
            self,
            bincode::config::standard(),
        )?);
        Ok(v)
    }

    /// Reads a checkpoint file, with an error naming it when it is not one.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("{}: cannot read checkpoint", path.display()))?;
        if bytes.len() < 8 || &bytes[..8] != CKPT_MAGIC {
            bail!("{}: not a gcn-train checkpoint (bad magic)", path.display());
        }
        let (c, _): (Checkpoint, usize) =
            bincode::serde::decode_from_slice(&bytes[8..], bincode::config::standard())
                .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), decode_problem(&e)))?;
        Ok(c)
    }

    /// Writes atomically (temporary name, then rename).
    pub fn save(&self, path: &Path) -> Result<()> {
        nextgnn_stream::write_atomic(path, &self.to_bytes()?)
    }
}

/// What is wrong with a checkpoint that bincode could not decode, in words for the user.
pub fn decode_problem(e: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as E;
    let truncated = matches!(e, E::UnexpectedEnd { .. })
        || matches!(e, E::Io { inner, .. } if inner.kind() == std::io::ErrorKind::UnexpectedEof);
    if truncated {
        return "checkpoint is truncated or corrupt (bincode: unexpected end of data); \
                was the writing job killed? use best.ckpt/last.ckpt from a finished run"
            .into();
    }
    let detail = match e {
        E::LimitExceeded => "size limit exceeded".to_string(),
        E::InvalidIntegerType { .. } => "bad integer encoding".into(),
        E::NonZeroTypeIsZero { .. } => "zero where a non-zero integer belongs".into(),
        E::UnexpectedVariant {
            type_name, found, ..
        } => {
            format!("unknown variant {found} of {type_name}")
        }
        E::Utf8 { .. } => "invalid UTF-8 in a string".into(),
        E::InvalidCharEncoding(_) => "invalid character".into(),
        E::InvalidBooleanValue(b) => format!("byte {b} where a boolean belongs"),
        E::ArrayLengthMismatch { required, found } => {
            format!("array of {found} elements where {required} belong")
        }
        E::OutsideUsizeRange(n) => format!("length {n} too large for this machine"),
        E::Io { inner, .. } => format!("read error: {inner}"),
        E::Other(m) => (*m).to_string(),
        E::OtherString(m) => m.clone(),
        _ => "malformed data".into(),
    };
    format!(
        "checkpoint is corrupt (bincode: {detail}); was it written by another version of \
         gcn-train? use best.ckpt/last.ckpt from a finished run of this version"
    )
}

/// Number of classes of a task on a stream.
pub fn nclass_for(task: Task, schema: &Schema) -> usize {
    match task {
        Task::Classification => 2,
        Task::Segmentation => schema.num_node_classes as usize,
    }
}

/// Checks that a stream's schema can be used for `task` with `nclass` classes.
pub fn check_schema(task: Task, schema: &Schema, name: &str) -> Result<()> {
    check_coords(schema, name)?;
    if task == Task::Segmentation {
        ensure!(
            schema.has_node_labels,
            "{name}: segmentation needs node labels (y) but this stream has none \
             (make it with voxel2graph from a labelled file)"
        );
        ensure!(
            schema.num_node_classes >= 2,
            "{name}: the schema declares {} node classes",
            schema.num_node_classes
        );
    }
    Ok(())
}

/// Refuses a stream without three coordinate columns: gcn-predict's tables hold x, y, z, so a
/// model trained on it could never predict (better said before training than after).
pub fn check_coords(schema: &Schema, name: &str) -> Result<()> {
    ensure!(
        schema.coord_names.len() == 3,
        "{name}: the stream has {} coordinate column(s) [{}]; the prediction tables need three \
         (x, y, z): rebuild the graphs with voxel2graph --coords naming three columns",
        schema.coord_names.len(),
        schema.coord_names.join(", ")
    );
    Ok(())
}

/// Checks graph `k` of stream `name` against the schema and the classes of `task`.
pub fn check_graph(
    task: Task,
    schema: &Schema,
    g: &Graph,
    nclass: usize,
    name: &str,
    k: usize,
) -> Result<()> {
    g.validate(schema).map_err(|e| {
        anyhow::anyhow!(
            "{name}: graph {k} (file {} event {}): {e}",
            g.fnum,
            g.dataset_id
        )
    })?;
    match task {
        Task::Classification => ensure!(
            (0..nclass as i64).contains(&g.binclass),
            "{name}: graph {k} (file {} event {}): binclass {} is not 0 or 1",
            g.fnum,
            g.dataset_id,
            g.binclass
        ),
        Task::Segmentation => {
            if let Some(y) = g.y.iter().find(|&&y| !(0..nclass as i64).contains(&y)) {
                bail!(
                    "{name}: graph {k} (file {} event {}): node label {y} outside 0..{}",
                    g.fnum,
                    g.dataset_id,
                    nclass
                );
            }
        }
    }
    Ok(())
}

/// Checks that the graphs of a stream can be used for `task` with `nclass` classes.
pub fn check_stream(
    task: Task,
    schema: &Schema,
    graphs: &[Graph],
    nclass: usize,
    name: &str,
) -> Result<()> {
    check_schema(task, schema, name)?;
    for (k, g) in graphs.iter().enumerate() {
        check_graph(task, schema, g, nclass, name, k)?;
    }
    Ok(())
}

/// Inverse class frequency over the first [`AUTO_WEIGHT_EVENTS`] graphs, normalised to sum 1.
pub fn auto_class_weights(task: Task, graphs: &GraphStore, nclass: usize) -> Result<Vec<f32>> {
    let mut count = vec![0f64; nclass];
    for g in (0..graphs.len().min(AUTO_WEIGHT_EVENTS)).map(|k| graphs.get(k)) {
        match task {
            Task::Classification => count[g.binclass() as usize] += 1.0,
            Task::Segmentation => g.labels().iter().for_each(|&y| count[y as usize] += 1.0),
        }
    }
    if let Some(c) = count.iter().position(|&c| c == 0.0) {
        bail!(
            "--class-weights auto: class {c} never occurs in the first {AUTO_WEIGHT_EVENTS} training graphs; \
             give the weights explicitly, e.g. --class-weights {}",
            vec!["1"; nclass].join(",")
        );
    }
    let inv: Vec<f64> = count.iter().map(|c| 1.0 / c).collect();
    let s: f64 = inv.iter().sum();
    Ok(inv.iter().map(|v| (v / s) as f32).collect())
}

/// One row of metrics.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Mean batch loss in training.
    pub train_loss: f64,
    /// Mean batch loss on the validation stream.
    pub valid_loss: f64,
    /// Accuracy (classification) or per-class IoU (segmentation), training.
    pub train_score: Vec<f64>,
    /// Same on validation.
    pub valid_score: Vec<f64>,
    /// Wall seconds of the epoch (training and validation).
    pub seconds: f64,
    /// Training graphs per second.
    pub graphs_per_s: f64,
    /// Validation predictions per class (graphs, or voxels in segmentation); not in metrics.csv.
    pub valid_predicted: Vec<u64>,
}

impl EpochMetrics {
    /// The one class predicted for every validation graph or voxel, if the model predicts only
    /// one: a model that has not learned (its validation accuracy is that class's fraction).
    pub fn constant_prediction(&self) -> Option<usize> {
        let mut used = self
            .valid_predicted
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0);
        match (used.next(), used.next()) {
            (Some((k, _)), None) => Some(k),
            _ => None,
        }
    }
}

/// Header line of metrics.csv for a task with `nclass` classes.
pub fn metrics_header(task: Task, nclass: usize) -> String {
    let mut h = vec![
        "epoch".to_string(),
        "lr".into(),
        "train_loss".into(),
        "valid_loss".into(),
    ];
    match task {
        Task::Classification => {
            h.push("train_acc".into());
            h.push("valid_acc".into());
        }
        Task::Segmentation => {
            for split in ["train", "valid"] {
                for k in 0..nclass {
                    h.push(format!("{split}_iou_{k}"));
                }
            }
        }
    }
    h.push("seconds".into());
    h.push("graphs_per_s".into());
    h.join(",")
}

impl EpochMetrics {
    /// The CSV line (no newline).
    pub fn csv(&self) -> String {
        let mut v = vec![
            self.epoch.to_string(),
            format!("{:e}", self.lr),
            format!("{:.6}", self.train_loss),
            format!("{:.6}", self.valid_loss),
        ];
        v.extend(self.train_score.iter().map(|s| format!("{s:.6}")));
        v.extend(self.valid_score.iter().map(|s| format!("{s:.6}")));
        v.push(format!("{:.3}", self.seconds));
        v.push(format!("{:.1}", self.graphs_per_s));
        v.join(",")
    }
}

/// Accuracy (one value) or IoU per class from a confusion matrix, as the reference defines them.
pub fn scores(task: Task, confusion: &[u64], nclass: usize) -> Vec<f64> {
    let c = |t: usize, p: usize| confusion[t * nclass + p] as f64;
    match task {
        Task::Classification => {
            let total: f64 = confusion.iter().map(|&v| v as f64).sum();
            let right: f64 = (0..nclass).map(|k| c(k, k)).sum();
            vec![if total > 0.0 { right / total } else { 0.0 }]
        }
        Task::Segmentation => (0..nclass)
            .map(|k| {
                let eps = f64::EPSILON;
                let row: f64 = (0..nclass).map(|p| c(k, p)).sum();
                let col: f64 = (0..nclass).map(|t| c(t, k)).sum();
                (c(k, k) + eps) / (row + col - c(k, k) + eps)
            })
            .collect(),
    }
}

/// Adds argmax predictions of `logits` against `labels` to a confusion matrix.
pub fn add_confusion(confusion: &mut [u64], logits: &[f32], labels: &[i64], nclass: usize) {
    for (row, &y) in logits.chunks(nclass).zip(labels) {
        let mut best = 0;
        for k in 1..nclass {
            if row[k] > row[best] {
                best = k;
            }
        }
        confusion[y as usize * nclass + best] += 1;
    }
}

/// Inputs of a run besides the hyperparameters.
pub struct RunSetup {
    /// Training graphs.
    pub train: GraphStore,
    /// Validation graphs.
    pub valid: GraphStore,
    /// Schema shared by both streams.
    pub schema: Schema,
    /// Output directory (checkpoints, metrics.csv).
    pub out: PathBuf,
    /// Stop (as if signalled) after this many training batches in this process; for tests.
    pub max_batches: Option<usize>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All epochs done.
    Finished {
        /// Lowest validation loss.
        best_valid: f64,
    },
    /// Interrupted; last.ckpt holds the position.
    Stopped {
        /// Epoch in progress (1-based).
        epoch: usize,
        /// Batches of it done.
        batch: usize,
    },
}

/// Runs (or continues, from `ckpt`) a training; `stop` is polled after every batch.
pub fn run<B: Backend>(
    backend: &B,
    mut ck: Checkpoint,
    setup: &RunSetup,
    stop: &AtomicBool,
    mut on_epoch: impl FnMut(&EpochMetrics),
) -> Result<Outcome> {
    let cfg = ck.config.clone();
    let task = cfg.task;
    let nclass = ck.weights.config.nclass;
    let nfeat = ck.schema.node_features.len();
    let n_train = setup.train.len();
    let nbatches = n_train / cfg.batch;
    ensure!(
        nbatches > 0,
        "the training stream has {n_train} graphs, fewer than one batch of {} (the last incomplete batch is dropped, as in the reference)",
        cfg.batch
    );
    let metrics_path = setup.out.join("metrics.csv");
    let mut done_batches = 0usize;
    while ck.epoch < cfg.epochs {
        let epoch = ck.epoch;
        let t0 = Instant::now();
        let mut order: Vec<usize> = (0..n_train).collect();
        let mut shuffle_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        shuffle_rng.set_stream(1 + epoch as u64);
        order.shuffle(&mut shuffle_rng);
        if ck.acc.confusion.is_empty() {
            ck.acc.confusion = vec![0; nclass * nclass];
        }
        let pb = nextgnn_stream::progress(nbatches as u64, &format!("epoch {}", epoch + 1));
        pb.set_position(ck.batch_pos as u64);
        while ck.batch_pos < nbatches {
            if stop.load(Ordering::SeqCst) || setup.max_batches.is_some_and(|m| done_batches >= m) {
                pb.finish_and_clear();
                ck.acc.seconds += t0.elapsed().as_secs_f64();
                ck.save(&setup.out.join("last.ckpt"))?;
                return Ok(Outcome::Stopped {
                    epoch: epoch + 1,
                    batch: ck.batch_pos,
                });
            }
            let b = ck.batch_pos;
            let graphs: Vec<StoredGraph> = order[b * cfg.batch..(b + 1) * cfg.batch]
                .iter()
                .map(|&i| setup.train.get(i))
                .collect();
            let batch = Batch::assemble(&graphs, nfeat);
            let mut drop_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x6472_6f70);
            drop_rng.set_stream(((epoch as u64) << 32) | b as u64);
            let step = model::train_forward_backward(
                backend,
                &mut ck.weights,
                &batch,
                &ck.class_weights,
                &mut drop_rng,
                false,
            );
            ensure!(
                step.loss.is_finite(),
                "training diverged: loss is {} at epoch {} batch {} (try a lower --lr)",
                step.loss,
                epoch + 1,
                b + 1
            );
            ck.adam.update(&mut ck.weights, &step.grads);
            ck.acc.loss_sum += step.loss as f64;
            ck.acc.batches += 1;
            ck.acc.graphs += graphs.len();
            add_confusion(
                &mut ck.acc.confusion,
                &step.logits,
                model::targets(task, &batch),
                nclass,
            );
            ck.batch_pos += 1;
            done_batches += 1;
            pb.inc(1);
        }
        pb.finish_and_clear();
        let train_secs = ck.acc.seconds + t0.elapsed().as_secs_f64();
        let (valid_loss, valid_conf) = evaluate(
            backend,
            &ck.weights,
            &setup.valid,
            cfg.valid_batch,
            &ck.class_weights,
            nfeat,
        )?;
        let lr_used = ck.adam.lr;
        let m = EpochMetrics {
            epoch: epoch + 1,
            lr: lr_used,
            train_loss: ck.acc.loss_sum / ck.acc.batches.max(1) as f64,
            valid_loss,
            train_score: scores(task, &ck.acc.confusion, nclass),
            valid_score: scores(task, &valid_conf, nclass),
            seconds: ck.acc.seconds + t0.elapsed().as_secs_f64(),
            graphs_per_s: ck.acc.graphs as f64 / train_secs.max(1e-9),
            valid_predicted: (0..nclass)
                .map(|p| (0..nclass).map(|t| valid_conf[t * nclass + p]).sum())
                .collect(),
        };
        ck.adam.lr = ck.plateau.step(valid_loss, ck.adam.lr, &cfg);
        ck.epoch += 1;
        ck.batch_pos = 0;
        ck.acc = EpochAcc::default();
        append_metrics(&metrics_path, task, nclass, &m)?;
        if valid_loss < ck.best_valid {
            ck.best_valid = valid_loss;
            ck.save(&setup.out.join("best.ckpt"))?;
        }
        ck.save(&setup.out.join("last.ckpt"))?;
        on_epoch(&m);
    }
    Ok(Outcome::Finished {
        best_valid: ck.best_valid,
    })
}

/// Rewrites metrics.csv with the rows of earlier epochs kept and `m` appended (atomic).
fn append_metrics(path: &Path, task: Task, nclass: usize, m: &EpochMetrics) -> Result<()> {
    let header = metrics_header(task, nclass);
    let mut lines: Vec<String> = match std::fs::read_to_string(path) {
        Ok(t) => t.lines().skip(1).map(str::to_string).collect(),
        Err(_) => Vec::new(),
    };
    // A resumed run may repeat an epoch whose row was written before the interruption.
    lines.retain(|l| {
        l.split(',')
            .next()
            .and_then(|e| e.parse::<usize>().ok())
            .is_some_and(|e| e < m.epoch)
    });
    lines.push(m.csv());
    let mut text = Vec::new();
    writeln!(text, "{header}")?;
    for l in lines {
        writeln!(text, "{l}")?;
    }
    nextgnn_stream::write_atomic(path, &text)
}

/// Eval-mode mean batch loss and confusion matrix over `graphs` (in stream order).
pub fn evaluate<B: Backend>(
    backend: &B,
    w: &Weights,
    graphs: &GraphStore,
    batch: usize,
    class_weights: &[f32],
    nfeat: usize,
) -> Result<(f64, Vec<u64>)> {
    let nclass = w.config.nclass;
    let mut conf = vec![0u64; nclass * nclass];
    let mut loss_sum = 0f64;
    let mut nb = 0usize;
    let all: Vec<usize> = (0..graphs.len()).collect();
    for chunk in all.chunks(batch.max(1)) {
        let refs: Vec<StoredGraph> = chunk.iter().map(|&k| graphs.get(k)).collect();
        let b = Batch::assemble(&refs, nfeat);
        let logits = model::eval_logits(backend, w, &b);
        let labels = model::targets(w.config.task, &b);
        loss_sum += model::host_cross_entropy(&logits, nclass, labels, class_weights);
        add_confusion(&mut conf, &logits, labels, nclass);
        nb += 1;
    }
    Ok((
        if nb > 0 {
            loss_sum / nb as f64
        } else {
            f64::NAN
        },
        conf,
    ))
}

/// A fresh checkpoint (epoch 0) for a new run.
pub fn new_run(cfg: TrainConfig, schema: Schema, train: &GraphStore) -> Result<Checkpoint> {
    let nclass = nclass_for(cfg.task, &schema);
    let mc = ModelConfig {
        task: cfg.task,
        input_dim: schema.node_features.len(),
        nconv: cfg.nconv,
        mult: cfg.mult,
        nclass,
        dropout: cfg.dropout,
    };
    mc.check()?;
    let class_weights = match &cfg.class_weights {
        ClassWeights::Auto => auto_class_weights(cfg.task, train, nclass)?,
        ClassWeights::List(v) => {
            ensure!(
                v.len() == nclass,
                "--class-weights has {} values but the {} task has {nclass} classes",
                v.len(),
                cfg.task
            );
            v.clone()
        }
    };
    let weights = Weights::init(&mc, cfg.seed);
    let adam = Adam::new(&weights, cfg.lr, cfg.betas, cfg.eps, cfg.weight_decay);
    Ok(Checkpoint {
        rng_seed: cfg.seed,
        config: cfg,
        schema,
        weights,
        class_weights,
        adam,
        plateau: Plateau {
            best: f64::INFINITY,
            bad_epochs: 0,
        },
        epoch: 0,
        batch_pos: 0,
        acc: EpochAcc::default(),
        best_valid: f64::INFINITY,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_checkpoint() -> Checkpoint {
        let cfg = TrainConfig {
            nconv: 1,
            class_weights: ClassWeights::List(vec![0.5, 0.5]),
            epochs: 1,
            batch: 4,
            valid_batch: 4,
            seed: 3,
            ..TrainConfig::default()
        };
        let schema = Schema::reference(&["ener", "nhits"], &["x", "y", "z"]);
        new_run(cfg, schema, &GraphStore::new(2, false)).unwrap()
    }

    #[test]
    fn damaged_checkpoints_give_one_line_messages_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("best.ckpt");
        let ck = small_checkpoint();
        ck.save(&good).unwrap();
        assert_eq!(Checkpoint::load(&good).unwrap(), ck);

        let bytes = std::fs::read(&good).unwrap();
        assert!(bytes.len() > 1000, "checkpoint of {} bytes", bytes.len());
        let bad = dir.path().join("bad.ckpt");
        for cut in [9, 1000, bytes.len() - 1] {
            std::fs::write(&bad, &bytes[..cut]).unwrap();
            let msg = format!("{:#}", Checkpoint::load(&bad).unwrap_err());
            assert_eq!(
                msg,
                format!(
                    "{}: checkpoint is truncated or corrupt (bincode: unexpected end of data); \
                     was the writing job killed? use best.ckpt/last.ckpt from a finished run",
                    bad.display()
                ),
                "cut at {cut}"
            );
        }

        // The task enum (first field of the config) with an index no variant has.
        let mut wrong = bytes.clone();
        wrong[8] = 7;
        std::fs::write(&bad, &wrong).unwrap();
        let msg = format!("{:#}", Checkpoint::load(&bad).unwrap_err());
        assert_eq!(
            msg,
            format!(
                "{}: checkpoint is corrupt (bincode: invalid value: integer `7`, expected variant \
                 index 0 <= i < 2); was it written by another version of gcn-train? use \
                 best.ckpt/last.ckpt from a finished run of this version",
                bad.display()
            )
        );

        std::fs::write(&bad, b"NXGCKP").unwrap();
        let msg = format!("{:#}", Checkpoint::load(&bad).unwrap_err());
        assert_eq!(
            msg,
            format!("{}: not a gcn-train checkpoint (bad magic)", bad.display())
        );
    }

    #[test]
    fn decode_errors_are_described_without_debug_output() {
        use bincode::error::DecodeError as E;
        assert!(decode_problem(&E::UnexpectedEnd { additional: 1 })
            .starts_with("checkpoint is truncated or corrupt (bincode: unexpected end of data)"));
        assert_eq!(
            decode_problem(&E::InvalidBooleanValue(9)),
            "checkpoint is corrupt (bincode: byte 9 where a boolean belongs); was it written by \
             another version of gcn-train? use best.ckpt/last.ckpt from a finished run of this \
             version"
        );
        assert!(decode_problem(&E::ArrayLengthMismatch {
            required: 2,
            found: 3
        })
        .contains("(bincode: array of 3 elements where 2 belong)"));
    }
}
