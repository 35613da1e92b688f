//! The GCN of the reference (`GCNClass`): parameters, forward pass, loss and one training step.

use crate::batch::Batch;
use crate::ops::{Backend, BnBatchStats, M, V};
use dfdx::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// BatchNorm momentum for the running statistics (PyTorch default).
pub const BN_MOMENTUM: f64 = 0.1;
/// BatchNorm epsilon (PyTorch default).
pub const BN_EPS: f64 = 1e-5;

/// What the network predicts (gcn-train's `--task` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Task {
    /// One class per event (binclass), after global mean pooling.
    Classification,
    /// One class per voxel (y: other, track, blob), no pooling.
    Segmentation,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Segmentation => "segmentation",
        })
    }
}

/// The architecture: everything needed to build the parameter set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Classification or segmentation.
    pub task: Task,
    /// Node feature count d of the input stream.
    pub input_dim: usize,
    /// Number of convolution blocks.
    pub nconv: usize,
    /// Feature multiplier per block: block i maps d·mult^i → d·mult^(i+1).
    pub mult: usize,
    /// Output classes (2 for classification, the node class count for segmentation).
    pub nclass: usize,
    /// Dropout probability after every block and inside every head.
    pub dropout: f64,
}

impl ModelConfig {
    /// Width after block i (i = 0 is the input).
    pub fn width(&self, i: usize) -> usize {
        self.input_dim * self.mult.pow(i as u32)
    }

    /// (in, out) of head i: heads.0 ends in the classes, heads.i (i ≥ 1) halves d·mult^i to d·mult^(i-1).
    pub fn head_dims(&self, i: usize) -> (usize, usize) {
        if i == 0 {
            (self.input_dim, self.nclass)
        } else {
            (self.width(i), self.width(i - 1))
        }
    }

    /// Checks that the sizes make a usable network.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.input_dim > 0, "the stream has no node features");
        anyhow::ensure!(self.nconv > 0, "--nconv must be at least 1");
        anyhow::ensure!(self.mult > 0, "--mult must be at least 1");
        anyhow::ensure!(
            self.nclass >= 2,
            "at least two classes are needed (got {})",
            self.nclass
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.dropout),
            "--dropout must be in [0, 1) (got {})",
            self.dropout
        );
        let top = (self.input_dim as u128) * (self.mult as u128).pow(self.nconv as u32);
        anyhow::ensure!(top <= 1 << 16, "d·mult^nconv = {top} features is too wide");
        Ok(())
    }
}

/// One named parameter tensor, in PyTorch layout (Linear weights are [out, in]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// PyTorch state_dict name, e.g. `blocks.0.conv.lin.weight`.
    pub name: String,
    /// Shape ([out, in] for weights, [n] for vectors).
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// Running statistics of one BatchNorm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BnState {
    /// Running mean per channel.
    pub running_mean: Vec<f32>,
    /// Running unbiased variance per channel.
    pub running_var: Vec<f32>,
    /// Training batches seen.
    pub num_batches_tracked: i64,
}

/// All weights of a model: trainable parameters in a fixed order plus BatchNorm buffers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// The architecture.
    pub config: ModelConfig,
    /// Trainable tensors; the order is [`Weights::names`].
    pub params: Vec<Param>,
    /// One per block.
    pub bn: Vec<BnState>,
}

/// Index of each kind of tensor inside [`Weights::params`] for block or head `i`.
mod slot {
    pub fn conv_w(i: usize) -> usize {
        4 * i
    }
    pub fn conv_b(i: usize) -> usize {
        4 * i + 1
    }
    pub fn bn_w(i: usize) -> usize {
        4 * i + 2
    }
    pub fn bn_b(i: usize) -> usize {
        4 * i + 3
    }
    pub fn head(nconv: usize, i: usize, k: usize) -> usize {
        4 * nconv + 4 * i + k
    }
}

impl Weights {
    /// The trainable tensor names and shapes, in storage order.
    pub fn layout(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
        let mut v = Vec::new();
        for i in 0..cfg.nconv {
            let (a, b) = (cfg.width(i), cfg.width(i + 1));
            v.push((format!("blocks.{i}.conv.lin.weight"), vec![b, a]));
            v.push((format!("blocks.{i}.conv.bias"), vec![b]));
            v.push((format!("blocks.{i}.bn.module.weight"), vec![b]));
            v.push((format!("blocks.{i}.bn.module.bias"), vec![b]));
        }
        for i in 0..=cfg.nconv {
            let (a, b) = cfg.head_dims(i);
            v.push((format!("heads.{i}.fc1.weight"), vec![a, a]));
            v.push((format!("heads.{i}.fc1.bias"), vec![a]));
            v.push((format!("heads.{i}.fc2.weight"), vec![b, a]));
            v.push((format!("heads.{i}.fc2.bias"), vec![b]));
        }
        v
    }

    /// Fresh weights initialised as PyTorch/PyG do: Glorot-uniform GCN weights with zero bias,
    /// BatchNorm (1, 0), and Linear layers U(-1/√in, 1/√in) for weight and bias.
    pub fn init(cfg: &ModelConfig, seed: u64) -> Weights {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6763_6e5f_696e_6974);
        let params = Self::layout(cfg)
            .into_iter()
            .map(|(name, shape)| {
                let len: usize = shape.iter().product();
                let data: Vec<f32> = if name.contains(".conv.lin.") {
                    let a = (6.0 / (shape[0] + shape[1]) as f64).sqrt();
                    (0..len).map(|_| rng.gen_range(-a..a) as f32).collect()
                } else if name.contains(".conv.bias") || name.contains(".bn.module.bias") {
                    vec![0.0; len]
                } else if name.contains(".bn.module.weight") {
                    vec![1.0; len]
                } else {
                    // fan_in is the input width of the Linear the tensor belongs to.
                    let fan_in = if shape.len() == 2 {
                        shape[1]
                    } else {
                        Self::fan_in_of_bias(cfg, &name)
                    };
                    let a = 1.0 / (fan_in as f64).sqrt();
                    (0..len).map(|_| rng.gen_range(-a..a) as f32).collect()
                };
                Param { name, shape, data }
            })
            .collect();
        let bn = (0..cfg.nconv)
            .map(|i| BnState {
                running_mean: vec![0.0; cfg.width(i + 1)],
                running_var: vec![1.0; cfg.width(i + 1)],
                num_batches_tracked: 0,
            })
            .collect();
        Weights {
            config: cfg.clone(),
            params,
            bn,
        }
    }

    fn fan_in_of_bias(cfg: &ModelConfig, name: &str) -> usize {
        let i: usize = name
            .split('.')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        cfg.head_dims(i).0
    }

    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Number of trainable values.
    pub fn num_values(&self) -> usize {
        self.params.iter().map(|p| p.data.len()).sum()
    }

    /// Copies the weights to the device; Linear weights are transposed to [in, out] for `x·W`.
    pub fn upload<D: Device<f32>>(&self, dev: &D) -> DevWeights<D> {
        let mats = self
            .params
            .iter()
            .map(|p| {
                if p.shape.len() == 2 {
                    let (o, i) = (p.shape[0], p.shape[1]);
                    Some(dev.tensor_from_vec(transpose(&p.data, o, i), (i, o)))
                } else {
                    None
                }
            })
            .collect();
        let vecs = self
            .params
            .iter()
            .map(|p| {
                if p.shape.len() == 1 {
                    Some(dev.tensor_from_vec(p.data.clone(), (p.shape[0],)))
                } else {
                    None
                }
            })
            .collect();
        DevWeights { mats, vecs }
    }

    /// Folds one training batch's statistics into the running statistics (PyTorch rule).
    pub fn update_running_stats(&mut self, stats: &[BnBatchStats]) {
        for (bn, s) in self.bn.iter_mut().zip(stats) {
            let n = s.count as f64;
            let corr = if s.count > 1 { n / (n - 1.0) } else { 1.0 };
            for c in 0..bn.running_mean.len() {
                let rm = bn.running_mean[c] as f64;
                let rv = bn.running_var[c] as f64;
                bn.running_mean[c] = ((1.0 - BN_MOMENTUM) * rm + BN_MOMENTUM * s.mean[c]) as f32;
                bn.running_var[c] =
                    ((1.0 - BN_MOMENTUM) * rv + BN_MOMENTUM * s.var[c] * corr) as f32;
            }
            bn.num_batches_tracked += 1;
        }
    }
}

/// Row-major transpose of an [r, c] matrix.
pub fn transpose(a: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut t = vec![0f32; a.len()];
    for i in 0..r {
        for j in 0..c {
            t[j * r + i] = a[i * c + j];
        }
    }
    t
}

/// The weights as device tensors, in [`Weights::params`] order (matrices [in, out]).
pub struct DevWeights<D: Device<f32>> {
    mats: Vec<Option<M<f32, D>>>,
    vecs: Vec<Option<V<f32, D>>>,
}

impl<D: Device<f32>> DevWeights<D> {
    fn m(&self, k: usize) -> M<f32, D> {
        self.mats[k]
            .clone()
            .expect("weight layout: expected a matrix")
    }
    fn v(&self, k: usize) -> V<f32, D> {
        self.vecs[k]
            .clone()
            .expect("weight layout: expected a vector")
    }

    /// Gradients of every parameter, in PyTorch layout and [`Weights::params`] order.
    pub fn gradients(&self, grads: &Gradients<f32, D>) -> Vec<Vec<f32>> {
        self.mats
            .iter()
            .zip(&self.vecs)
            .map(|(m, v)| match (m, v) {
                (Some(m), _) => {
                    let (i, o) = *m.shape();
                    transpose(&grads.get(m).as_vec(), i, o)
                }
                (None, Some(v)) => grads.get(v).as_vec(),
                (None, None) => Vec::new(),
            })
            .collect()
    }
}

/// How the forward pass treats BatchNorm and dropout.
pub enum Mode<'a> {
    /// Batch statistics; dropout masks drawn from the generator (p = 0 draws none).
    Train(&'a mut ChaCha8Rng),
    /// Running statistics; no dropout.
    Eval,
}

/// Outputs of a forward pass besides the logits.
#[derive(Debug, Default)]
pub struct ForwardInfo {
    /// Output of the first convolution (before BatchNorm), when asked for.
    pub conv0: Option<Vec<f32>>,
    /// BatchNorm batch statistics per block (training mode only).
    pub bn_stats: Vec<BnBatchStats>,
}

/// Inverted-dropout mask: 0 with probability p, else 1/(1-p).
///
/// Draw i uses words 2i and 2i+1 of the generator's stream, exactly as drawing one after the
/// other would; chunks seek there, so the mask does not depend on the thread count.
pub fn dropout_mask(rng: &mut ChaCha8Rng, len: usize, p: f64) -> Vec<f32> {
    const CHUNK: usize = 8192;
    let keep = (1.0 / (1.0 - p)) as f32;
    let base = rng.get_word_pos();
    let mut out = vec![0f32; len];
    let start: &ChaCha8Rng = rng;
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(k, o)| {
        let mut r = start.clone();
        r.set_word_pos(base + 2 * (k * CHUNK) as u128);
        for v in o {
            *v = if r.gen::<f64>() < p { 0.0 } else { keep };
        }
    });
    rng.set_word_pos(base + 2 * len as u128);
    out
}

fn linear<D: Device<f32>, T: Tape<f32, D>>(
    x: M<f32, D, T>,
    w: M<f32, D>,
    b: V<f32, D>,
) -> M<f32, D, T> {
    let (r, _) = *x.shape();
    let o = w.shape().1;
    x.matmul(w) + b.broadcast_like::<_, Axis<0>>(&(r, o))
}

/// Runs the network on a batch. `x` is the [N, F] node feature tensor (traced for training).
pub fn forward<B: Backend, T: Tape<f32, B::Dev>>(
    backend: &B,
    w: &Weights,
    dw: &DevWeights<B::Dev>,
    prep: &B::Prep,
    x: M<f32, B::Dev, T>,
    mut mode: Mode<'_>,
    want_conv0: bool,
) -> (M<f32, B::Dev, T>, ForwardInfo) {
    let cfg = &w.config;
    let p = cfg.dropout;
    let mut info = ForwardInfo::default();
    let mut h = x;
    for i in 0..cfg.nconv {
        let n = h.shape().0;
        let out = cfg.width(i + 1);
        let z = backend.propagate_bias(
            h.matmul(dw.m(slot::conv_w(i))),
            &dw.v(slot::conv_b(i)),
            prep,
        );
        if want_conv0 && i == 0 {
            info.conv0 = Some(z.retaped::<NoneTape>().as_vec());
        }
        let (gamma, beta) = (dw.v(slot::bn_w(i)), dw.v(slot::bn_b(i)));
        h = match &mut mode {
            Mode::Train(rng) => {
                let mask = (p > 0.0).then(|| dropout_mask(rng, n * out, p));
                let (y, s) = backend.bn_relu_dropout(z, &gamma, &beta, mask, BN_EPS);
                info.bn_stats.push(s);
                y
            }
            Mode::Eval => {
                // Eval BatchNorm is an affine map per channel.
                let bn = &w.bn[i];
                let g = w.params[slot::bn_w(i)].data.iter();
                let b = w.params[slot::bn_b(i)].data.iter();
                let mut scale = Vec::with_capacity(out);
                let mut shift = Vec::with_capacity(out);
                for (((g, b), m), v) in g.zip(b).zip(&bn.running_mean).zip(&bn.running_var) {
                    let s = (*g as f64) / ((*v as f64) + BN_EPS).sqrt();
                    scale.push(s as f32);
                    shift.push((*b as f64 - (*m as f64) * s) as f32);
                }
                backend.affine_relu(z, scale, shift)
            }
        };
    }
    if cfg.task == Task::Classification {
        h = backend.mean_pool(h, prep);
    }
    for i in (0..=cfg.nconv).rev() {
        let k = |j| slot::head(cfg.nconv, i, j);
        let a = linear(h, dw.m(k(0)), dw.v(k(1))).relu();
        let a = match &mut mode {
            Mode::Train(rng) if p > 0.0 => {
                let (r, c) = *a.shape();
                let m = dropout_mask(rng, r * c, p);
                a * backend.dev().tensor_from_vec(m, (r, c))
            }
            _ => a,
        };
        h = linear(a, dw.m(k(2)), dw.v(k(3)));
    }
    (h, info)
}

/// Targets of a batch for `task`: one class per logits row.
pub fn targets(task: Task, b: &Batch) -> &[i64] {
    match task {
        Task::Classification => &b.graph_labels,
        Task::Segmentation => &b.node_labels,
    }
}

/// Weighted mean cross-entropy of PyTorch's `CrossEntropyLoss(weight=w)`: Σ w_y·(−log p_y) / Σ w_y.
pub fn cross_entropy<D: Device<f32>, T: Tape<f32, D>>(
    logits: M<f32, D, T>,
    labels: &[i64],
    class_weights: &[f32],
) -> Tensor<(), f32, D, T> {
    let (r, c) = *logits.shape();
    let mut t = vec![0f32; r * c];
    let mut total = 0f64;
    for (i, &y) in labels.iter().enumerate() {
        let w = class_weights.get(y as usize).copied().unwrap_or(1.0);
        t[i * c + y as usize] = w;
        total += w as f64;
    }
    let inv = if total > 0.0 {
        (1.0 / total) as f32
    } else {
        0.0
    };
    t.iter_mut().for_each(|v| *v *= inv);
    let dev = logits.device().clone();
    let tt = dev.tensor_from_vec(t, (r, c));
    (logits.log_softmax::<Axis<1>>() * tt)
        .sum::<(), _>()
        .negate()
}

/// Result of one training step.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// Loss before the update.
    pub loss: f32,
    /// Logits [rows, classes] before the update.
    pub logits: Vec<f32>,
    /// Gradient of every parameter (PyTorch layout, [`Weights::params`] order).
    pub grads: Vec<Vec<f32>>,
    /// First convolution output, when asked for.
    pub conv0: Option<Vec<f32>>,
}

/// Forward + backward in training mode; updates the BatchNorm running statistics.
pub fn train_forward_backward<B: Backend>(
    backend: &B,
    w: &mut Weights,
    batch: &Batch,
    class_weights: &[f32],
    rng: &mut ChaCha8Rng,
    want_conv0: bool,
) -> StepResult {
    let dev = backend.dev();
    let prep = backend.prepare(batch);
    let dw = w.upload(dev);
    let x = dev
        .tensor_from_vec(batch.x.clone(), (batch.num_nodes, batch.num_features))
        .leaky_traced();
    let (logits, info) = forward(backend, w, &dw, &prep, x, Mode::Train(rng), want_conv0);
    let logits_v = logits.retaped::<NoneTape>().as_vec();
    let loss = cross_entropy(logits, targets(w.config.task, batch), class_weights);
    let loss_v = loss.retaped::<NoneTape>().as_vec()[0];
    let grads = loss.backward();
    let g = dw.gradients(&grads);
    w.update_running_stats(&info.bn_stats);
    StepResult {
        loss: loss_v,
        logits: logits_v,
        grads: g,
        conv0: info.conv0,
    }
}

/// Eval-mode logits [rows, classes] of a batch.
pub fn eval_logits<B: Backend>(backend: &B, w: &Weights, batch: &Batch) -> Vec<f32> {
    let dev = backend.dev();
    let prep = backend.prepare(batch);
    let dw = w.upload(dev);
    let x = dev.tensor_from_vec(batch.x.clone(), (batch.num_nodes, batch.num_features));
    let (logits, _) = forward(backend, w, &dw, &prep, x, Mode::Eval, false);
    logits.as_vec()
}

/// Mean weighted cross-entropy of given logits, computed on the host (for evaluation).
pub fn host_cross_entropy(
    logits: &[f32],
    nclass: usize,
    labels: &[i64],
    class_weights: &[f32],
) -> f64 {
    let mut num = 0f64;
    let mut den = 0f64;
    for (row, &y) in logits.chunks(nclass).zip(labels) {
        let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        let w = class_weights.get(y as usize).copied().unwrap_or(1.0) as f64;
        num += w * (lse - row[y as usize] as f64);
        den += w;
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Adam as PyTorch implements it (L2 weight decay added to the gradient, bias-corrected moments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Learning rate (changed by the scheduler).
    pub lr: f64,
    /// β1, β2.
    pub betas: [f64; 2],
    /// ε added to √v̂.
    pub eps: f64,
    /// L2 penalty coefficient.
    pub weight_decay: f64,
    /// Steps taken.
    pub step: u64,
    /// First moments, per parameter.
    pub m: Vec<Vec<f32>>,
    /// Second moments, per parameter.
    pub v: Vec<Vec<f32>>,
}

impl Adam {
    /// Zero moments for `w`.
    pub fn new(w: &Weights, lr: f64, betas: [f64; 2], eps: f64, weight_decay: f64) -> Adam {
        let z: Vec<Vec<f32>> = w.params.iter().map(|p| vec![0.0; p.data.len()]).collect();
        Adam {
            lr,
            betas,
            eps,
            weight_decay,
            step: 0,
            m: z.clone(),
            v: z,
        }
    }

    /// One update of every parameter with `grads`.
    pub fn update(&mut self, w: &mut Weights, grads: &[Vec<f32>]) {
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (self.betas[0] as f32, self.betas[1] as f32);
        let bc1 = 1.0 - self.betas[0].powi(t);
        let bc2 = 1.0 - self.betas[1].powi(t);
        let step_size = (self.lr / bc1) as f32;
        let bc2s = bc2.sqrt() as f32;
        let (eps, wd) = (self.eps as f32, self.weight_decay as f32);
        for (((p, g), m), v) in w
            .params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for i in 0..p.data.len() {
                let gi = g[i] + wd * p.data[i];
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                let denom = v[i].sqrt() / bc2s + eps;
                p.data[i] -= step_size * m[i] / denom;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_mask_equals_drawing_one_after_the_other() {
        let mut a = ChaCha8Rng::seed_from_u64(9);
        a.set_stream(3);
        let mut b = a.clone();
        // Odd lengths put chunk starts in the middle of the generator's blocks.
        for len in [5usize, 20_001, 8192 * 3 + 7] {
            let m = dropout_mask(&mut a, len, 0.3);
            let seq: Vec<f32> = (0..len)
                .map(|_| {
                    if b.gen::<f64>() < 0.3 {
                        0.0
                    } else {
                        (1.0 / 0.7) as f32
                    }
                })
                .collect();
            assert_eq!(m, seq);
            let zeros = m.iter().filter(|&&v| v == 0.0).count() as f64 / len as f64;
            assert!((zeros - 0.3).abs() < 0.25, "{zeros}");
        }
        assert_eq!(a.gen::<u64>(), b.gen::<u64>());
    }
}
