//! The graph operations of the GCN, in two interchangeable implementations.
//!
//! [`CpuFast`] runs hand-written kernels with their own backward passes on the CPU (sparse
//! propagation, segment mean pooling, fused BatchNorm+ReLU+dropout). [`Pure`] expresses the same
//! operations with dfdx's built-in ops only (gather, broadcast, matmul), so it runs on any dfdx
//! device, CUDA included. Both compute the same function; tests compare them.

use crate::batch::{Batch, Propagation};
use dfdx::prelude::*;
use num_traits::Float;
use rayon::prelude::*;
use std::sync::Arc;

/// A runtime-shaped matrix.
pub type M<E, D, T = NoneTape> = Tensor<(usize, usize), E, D, T>;
/// A runtime-shaped vector.
pub type V<E, D, T = NoneTape> = Tensor<(usize,), E, D, T>;

/// Batch statistics of one BatchNorm in training mode: per-channel mean and biased variance.
#[derive(Debug, Clone, Default)]
pub struct BnBatchStats {
    /// Per-channel mean over the nodes of the batch.
    pub mean: Vec<f64>,
    /// Per-channel biased variance (divided by N).
    pub var: Vec<f64>,
    /// Number of rows the statistics were taken over.
    pub count: usize,
}

/// The graph operations the model needs, on one device.
pub trait Backend {
    /// The dfdx device the tensors live on.
    type Dev: Device<f32>;
    /// Per-batch structures (propagation matrix, pooling) in the form this backend uses.
    type Prep;
    /// The device.
    fn dev(&self) -> &Self::Dev;
    /// Builds the per-batch structures.
    fn prepare(&self, b: &Batch) -> Self::Prep;
    /// Â·h: the normalised GCN propagation.
    fn propagate<T: Tape<f32, Self::Dev>>(
        &self,
        h: M<f32, Self::Dev, T>,
        p: &Self::Prep,
    ) -> M<f32, Self::Dev, T>;
    /// Â·h + bias (the bias added to every row).
    fn propagate_bias<T: Tape<f32, Self::Dev>>(
        &self,
        h: M<f32, Self::Dev, T>,
        bias: &V<f32, Self::Dev>,
        p: &Self::Prep,
    ) -> M<f32, Self::Dev, T> {
        let z = self.propagate(h, p);
        let shape = *z.shape();
        z + bias.clone().broadcast_like::<_, Axis<0>>(&shape)
    }
    /// relu(z·scale + shift) per channel: BatchNorm in eval mode, then ReLU.
    fn affine_relu<T: Tape<f32, Self::Dev>>(
        &self,
        z: M<f32, Self::Dev, T>,
        scale: Vec<f32>,
        shift: Vec<f32>,
    ) -> M<f32, Self::Dev, T> {
        let shape = *z.shape();
        let dev = self.dev();
        let scale = dev
            .tensor_from_vec(scale, (shape.1,))
            .broadcast_like::<_, Axis<0>>(&shape);
        let shift = dev
            .tensor_from_vec(shift, (shape.1,))
            .broadcast_like::<_, Axis<0>>(&shape);
        (z * scale + shift).relu()
    }
    /// Mean of the node rows of each graph: [N, F] → [G, F].
    fn mean_pool<T: Tape<f32, Self::Dev>>(
        &self,
        h: M<f32, Self::Dev, T>,
        p: &Self::Prep,
    ) -> M<f32, Self::Dev, T>;
    /// Training-mode BatchNorm over rows, then ReLU, then multiplication by a dropout mask.
    fn bn_relu_dropout<T: Tape<f32, Self::Dev>>(
        &self,
        x: M<f32, Self::Dev, T>,
        gamma: &V<f32, Self::Dev>,
        beta: &V<f32, Self::Dev>,
        mask: Option<Vec<f32>>,
        eps: f64,
    ) -> (M<f32, Self::Dev, T>, BnBatchStats);
}

/// The CPU backend with custom kernels.
#[derive(Debug, Clone, Default)]
pub struct CpuFast {
    /// The dfdx CPU device (used for matmul and the heads).
    pub dev: Cpu,
}

/// What [`CpuFast`] keeps per batch.
pub struct CpuPrep {
    prop: Arc<Propagation>,
    offsets: Arc<Vec<usize>>,
}

impl Backend for CpuFast {
    type Dev = Cpu;
    type Prep = CpuPrep;
    fn dev(&self) -> &Cpu {
        &self.dev
    }
    fn prepare(&self, b: &Batch) -> CpuPrep {
        CpuPrep {
            prop: b.prop.clone(),
            offsets: Arc::new(b.offsets.clone()),
        }
    }
    fn propagate<T: Tape<f32, Cpu>>(&self, h: M<f32, Cpu, T>, p: &CpuPrep) -> M<f32, Cpu, T> {
        cpu::propagate(h, &p.prop)
    }
    fn propagate_bias<T: Tape<f32, Cpu>>(
        &self,
        h: M<f32, Cpu, T>,
        bias: &V<f32, Cpu>,
        p: &CpuPrep,
    ) -> M<f32, Cpu, T> {
        cpu::propagate_bias(h, bias, &p.prop)
    }
    fn affine_relu<T: Tape<f32, Cpu>>(
        &self,
        z: M<f32, Cpu, T>,
        scale: Vec<f32>,
        shift: Vec<f32>,
    ) -> M<f32, Cpu, T> {
        cpu::affine_relu(z, Arc::new(scale), Arc::new(shift))
    }
    fn mean_pool<T: Tape<f32, Cpu>>(&self, h: M<f32, Cpu, T>, p: &CpuPrep) -> M<f32, Cpu, T> {
        cpu::segment_mean(h, &p.offsets)
    }
    fn bn_relu_dropout<T: Tape<f32, Cpu>>(
        &self,
        x: M<f32, Cpu, T>,
        gamma: &V<f32, Cpu>,
        beta: &V<f32, Cpu>,
        mask: Option<Vec<f32>>,
        eps: f64,
    ) -> (M<f32, Cpu, T>, BnBatchStats) {
        cpu::bn_relu_dropout(x, gamma, beta, mask.map(Arc::new), eps)
    }
}

/// The device-independent backend built from dfdx ops only.
#[derive(Debug, Clone, Default)]
pub struct Pure<D> {
    /// The dfdx device.
    pub dev: D,
}

/// What [`Pure`] keeps per batch: a padded neighbour table and a dense pooling matrix.
pub struct PurePrep<D: Device<f32>> {
    n: usize,
    k: usize,
    idx: Tensor<(usize,), usize, D>,
    coef: M<f32, D>,
    pool: M<f32, D>,
}

impl<D: Device<f32>> Backend for Pure<D> {
    type Dev = D;
    type Prep = PurePrep<D>;
    fn dev(&self) -> &D {
        &self.dev
    }
    fn prepare(&self, b: &Batch) -> PurePrep<D> {
        let a = &b.prop.fwd;
        let n = a.rows;
        let k = a.max_row_len().max(1);
        // Padding slots point at node 0 with coefficient 0.
        let mut idx = vec![0usize; n * k];
        let mut coef = vec![0f32; n * k];
        for r in 0..n {
            for (s, e) in (a.ptr[r]..a.ptr[r + 1]).enumerate() {
                idx[r * k + s] = a.col[e] as usize;
                coef[r * k + s] = a.coef[e];
            }
        }
        let g = b.num_graphs();
        let mut pool = vec![0f32; g * n];
        for gi in 0..g {
            let (lo, hi) = (b.offsets[gi], b.offsets[gi + 1]);
            let c = (hi - lo).max(1) as f32;
            for j in lo..hi {
                pool[gi * n + j] = 1.0 / c;
            }
        }
        PurePrep {
            n,
            k,
            idx: self.dev.tensor_from_vec(idx, (n * k,)),
            coef: self.dev.tensor_from_vec(coef, (n, k)),
            pool: self.dev.tensor_from_vec(pool, (g, n)),
        }
    }
    fn propagate<T: Tape<f32, D>>(&self, h: M<f32, D, T>, p: &PurePrep<D>) -> M<f32, D, T> {
        let f = h.shape().1;
        let g: M<f32, D, T> = h.gather(p.idx.clone());
        let g = g.reshape_like(&(p.n, p.k, f));
        let c = p.coef.clone().broadcast_like::<_, Axis<2>>(&(p.n, p.k, f));
        (g * c).sum::<(usize, usize), Axis<1>>()
    }
    fn mean_pool<T: Tape<f32, D>>(&self, h: M<f32, D, T>, p: &PurePrep<D>) -> M<f32, D, T> {
        // (G,N)·(N,F); the pooling matrix carries no tape, so swap operands via transposes.
        let ht = h.permute::<_, Axes2<1, 0>>();
        let pt = p.pool.clone().permute::<_, Axes2<1, 0>>();
        ht.matmul(pt).permute::<_, Axes2<1, 0>>()
    }
    fn bn_relu_dropout<T: Tape<f32, D>>(
        &self,
        x: M<f32, D, T>,
        gamma: &V<f32, D>,
        beta: &V<f32, D>,
        mask: Option<Vec<f32>>,
        eps: f64,
    ) -> (M<f32, D, T>, BnBatchStats) {
        let (n, f) = *x.shape();
        let xs: M<f32, D> = x.retaped();
        let mean_t = xs.clone().mean::<(usize,), Axis<0>>();
        let var_t = xs.var::<(usize,), Axis<0>>();
        let stats = BnBatchStats {
            mean: mean_t.as_vec().into_iter().map(f64::from).collect(),
            var: var_t.as_vec().into_iter().map(f64::from).collect(),
            count: n,
        };
        let xhat = x.normalize::<Axis<0>>(eps);
        let y = xhat * gamma.clone().broadcast_like::<_, Axis<0>>(&(n, f))
            + beta.clone().broadcast_like::<_, Axis<0>>(&(n, f));
        let y = y.relu();
        let y = match mask {
            Some(m) => y * self.dev.tensor_from_vec(m, (n, f)),
            None => y,
        };
        (y, stats)
    }
}

/// The hand-written CPU kernels, generic over the float type so that they can be checked in f64.
pub mod cpu {
    use super::*;

    /// Rows per rayon task: small enough to balance, large enough to amortise scheduling.
    const ROWS_PER_TASK: usize = 256;

    fn to_vec<E: Dtype, T>(t: &M<E, Cpu, T>) -> Vec<E> {
        let (r, c) = *t.shape();
        let mut v = vec![E::default(); r * c];
        t.copy_into(&mut v);
        v
    }

    fn spmm_into<E: Float + Send + Sync>(a: &crate::batch::Csr, h: &[E], f: usize, out: &mut [E]) {
        out.par_chunks_mut(f)
            .with_min_len(ROWS_PER_TASK)
            .enumerate()
            .for_each(|(r, o)| {
                for e in a.ptr[r]..a.ptr[r + 1] {
                    let c = E::from(a.coef[e]).unwrap_or_else(E::zero);
                    let src = &h[a.col[e] as usize * f..][..f];
                    for (o, &s) in o.iter_mut().zip(src) {
                        *o = *o + c * s;
                    }
                }
            });
    }

    /// Â·h with the backward pass Âᵀ·grad, parallel over rows (each row summed in a fixed order).
    pub fn propagate<E: Dtype + Float + Send + Sync, T: Tape<E, Cpu>>(
        h: M<E, Cpu, T>,
        p: &Arc<Propagation>,
    ) -> M<E, Cpu, T> {
        let (h, mut tape) = h.split_tape();
        let (n, f) = *h.shape();
        assert_eq!(
            n, p.fwd.cols,
            "propagation matrix does not match the node count"
        );
        let hv = to_vec(&h);
        let mut out = vec![E::zero(); p.fwd.rows * f];
        spmm_into(&p.fwd, &hv, f, &mut out);
        let out = h.device().tensor_from_vec(out, (p.fwd.rows, f));
        let (hg, og, p) = (h.ghost(), out.ghost(), p.clone());
        tape.add_backward_op(move |grads| {
            let go: Vec<E> = grads.get_or_alloc_mut(&og)?.to_vec();
            let gi = grads.get_or_alloc_mut(&hg)?;
            let mut tmp = vec![E::zero(); gi.len()];
            spmm_into(&p.bwd, &go, f, &mut tmp);
            for (a, b) in gi.iter_mut().zip(tmp) {
                *a += b;
            }
            Ok(())
        });
        out.put_tape(tape)
    }

    /// Â·h + bias with the backward pass: Âᵀ·grad for h, per-channel sums of grad for the bias.
    pub fn propagate_bias<E: Dtype + Float + Send + Sync, T: Tape<E, Cpu>>(
        h: M<E, Cpu, T>,
        bias: &V<E, Cpu>,
        p: &Arc<Propagation>,
    ) -> M<E, Cpu, T> {
        let (h, mut tape) = h.split_tape();
        let (n, f) = *h.shape();
        assert_eq!(
            n, p.fwd.cols,
            "propagation matrix does not match the node count"
        );
        assert_eq!(bias.shape().0, f, "bias does not match the channel count");
        let hv = to_vec(&h);
        let bv = bias.as_vec();
        let mut out = vec![E::zero(); p.fwd.rows * f];
        spmm_into(&p.fwd, &hv, f, &mut out);
        out.par_chunks_mut(f.max(1))
            .with_min_len(ROWS_PER_TASK)
            .for_each(|row| {
                for (o, &b) in row.iter_mut().zip(&bv) {
                    *o += b;
                }
            });
        let rows = p.fwd.rows;
        let out = h.device().tensor_from_vec(out, (rows, f));
        let (hg, og, bg, p) = (h.ghost(), out.ghost(), bias.clone(), p.clone());
        tape.add_backward_op(move |grads| {
            let go: Vec<E> = grads.get_or_alloc_mut(&og)?.to_vec();
            {
                let gi = grads.get_or_alloc_mut(&hg)?;
                let mut tmp = vec![E::zero(); gi.len()];
                spmm_into(&p.bwd, &go, f, &mut tmp);
                gi.par_iter_mut()
                    .zip(tmp.par_iter())
                    .with_min_len(ROWS_PER_TASK * 16)
                    .for_each(|(a, &b)| *a += b);
            }
            let db = channel_sums(rows, f, |r, c| go[r * f + c].to_f64().unwrap_or(0.0));
            let gb = grads.get_or_alloc_mut(&bg)?;
            for (a, b) in gb.iter_mut().zip(db) {
                *a += E::from(b).unwrap();
            }
            Ok(())
        });
        out.put_tape(tape)
    }

    /// relu(z·scale + shift) per channel (eval-mode BatchNorm and ReLU), parallel over rows.
    pub fn affine_relu<E: Dtype + Float + Send + Sync, T: Tape<E, Cpu>>(
        z: M<E, Cpu, T>,
        scale: Arc<Vec<E>>,
        shift: Arc<Vec<E>>,
    ) -> M<E, Cpu, T> {
        let (z, mut tape) = z.split_tape();
        let (n, f) = *z.shape();
        let mut out = to_vec(&z);
        out.par_chunks_mut(f.max(1))
            .with_min_len(ROWS_PER_TASK)
            .for_each(|row| {
                for ((v, &s), &t) in row.iter_mut().zip(scale.iter()).zip(shift.iter()) {
                    let y = *v * s + t;
                    *v = if y > E::zero() { y } else { E::zero() };
                }
            });
        let out = z.device().tensor_from_vec(out, (n, f));
        let (zg, og) = (z.ghost(), out.ghost());
        let outv = out.clone();
        tape.add_backward_op(move |grads| {
            let y = outv.as_vec();
            let go: Vec<E> = grads.get_or_alloc_mut(&og)?.to_vec();
            let gz = grads.get_or_alloc_mut(&zg)?;
            for (i, a) in gz.iter_mut().enumerate() {
                if y[i] > E::zero() {
                    *a += go[i] * scale[i % f.max(1)];
                }
            }
            Ok(())
        });
        out.put_tape(tape)
    }

    /// Rows per partial sum of the per-channel reductions. Partial sums are combined in row
    /// order, so the result is the same for every thread count.
    const STAT_ROWS: usize = 128;

    /// Per-channel sums of `term(row, channel)` over `n` rows of width `f`, in fixed chunks.
    fn channel_sums(n: usize, f: usize, term: impl Fn(usize, usize) -> f64 + Sync) -> Vec<f64> {
        let parts: Vec<Vec<f64>> = (0..n.div_ceil(STAT_ROWS))
            .into_par_iter()
            .with_min_len(2)
            .map(|c| {
                let mut acc = vec![0f64; f];
                for r in c * STAT_ROWS..((c + 1) * STAT_ROWS).min(n) {
                    for (j, a) in acc.iter_mut().enumerate() {
                        *a += term(r, j);
                    }
                }
                acc
            })
            .collect();
        let mut total = vec![0f64; f];
        for p in parts {
            for (t, v) in total.iter_mut().zip(p) {
                *t += v;
            }
        }
        total
    }

    /// Mean of each node range `offsets[g]..offsets[g+1]` (0 for an empty range).
    pub fn segment_mean<E: Dtype + Float + Send + Sync, T: Tape<E, Cpu>>(
        h: M<E, Cpu, T>,
        offsets: &Arc<Vec<usize>>,
    ) -> M<E, Cpu, T> {
        let (h, mut tape) = h.split_tape();
        let f = h.shape().1;
        let g = offsets.len() - 1;
        let hv = to_vec(&h);
        let mut out = vec![E::zero(); g * f];
        out.par_chunks_mut(f.max(1))
            .with_min_len(4)
            .enumerate()
            .for_each(|(gi, o)| {
                let (lo, hi) = (offsets[gi], offsets[gi + 1]);
                if hi == lo {
                    return;
                }
                for r in lo..hi {
                    for (o, &s) in o.iter_mut().zip(&hv[r * f..][..f]) {
                        *o += s;
                    }
                }
                let inv = E::one() / E::from(hi - lo).unwrap_or_else(E::one);
                o.iter_mut().for_each(|v| *v *= inv);
            });
        let out = h.device().tensor_from_vec(out, (g, f));
        let (hg, og, offsets) = (h.ghost(), out.ghost(), offsets.clone());
        tape.add_backward_op(move |grads| {
            let go: Vec<E> = grads.get_or_alloc_mut(&og)?.to_vec();
            let gi = grads.get_or_alloc_mut(&hg)?;
            gi.par_chunks_mut(f.max(1))
                .with_min_len(ROWS_PER_TASK)
                .enumerate()
                .for_each(|(r, a)| {
                    // The graph of row r: the last range starting at or before it.
                    let g = offsets.partition_point(|&o| o <= r) - 1;
                    let inv =
                        E::one() / E::from(offsets[g + 1] - offsets[g]).unwrap_or_else(E::one);
                    for (a, &b) in a.iter_mut().zip(&go[g * f..][..f]) {
                        *a += b * inv;
                    }
                });
            Ok(())
        });
        out.put_tape(tape)
    }

    /// Training BatchNorm over rows (biased variance), ReLU and an optional dropout mask, fused.
    ///
    /// Element-wise work runs in parallel over rows; per-channel sums use [`channel_sums`].
    pub fn bn_relu_dropout<E: Dtype + Float + Send + Sync, T: Tape<E, Cpu>>(
        x: M<E, Cpu, T>,
        gamma: &V<E, Cpu>,
        beta: &V<E, Cpu>,
        mask: Option<Arc<Vec<E>>>,
        eps: f64,
    ) -> (M<E, Cpu, T>, BnBatchStats) {
        let (x, mut tape) = x.split_tape();
        let (n, f) = *x.shape();
        let xv = to_vec(&x);
        let gv = gamma.as_vec();
        let bv = beta.as_vec();
        let nn = n.max(1) as f64;
        let f64_of = |v: E| v.to_f64().unwrap_or(0.0);
        let mut mean = channel_sums(n, f, |r, c| f64_of(xv[r * f + c]));
        mean.iter_mut().for_each(|m| *m /= nn);
        let mut var = channel_sums(n, f, |r, c| {
            let d = f64_of(xv[r * f + c]) - mean[c];
            d * d
        });
        var.iter_mut().for_each(|s| *s /= nn);
        let invstd: Vec<E> = var
            .iter()
            .map(|v| E::from(1.0 / (v + eps).sqrt()).unwrap())
            .collect();
        let meane: Vec<E> = mean.iter().map(|&m| E::from(m).unwrap()).collect();
        let mut xhat = vec![E::zero(); n * f];
        let mut out = vec![E::zero(); n * f];
        let fw = f.max(1);
        xhat.par_chunks_mut(fw)
            .zip(out.par_chunks_mut(fw))
            .with_min_len(ROWS_PER_TASK)
            .enumerate()
            .for_each(|(r, (xh_row, o_row))| {
                for c in 0..f {
                    let i = r * f + c;
                    let xh = (xv[i] - meane[c]) * invstd[c];
                    xh_row[c] = xh;
                    let y = gv[c] * xh + bv[c];
                    let keep = mask.as_ref().map_or(E::one(), |m| m[i]);
                    o_row[c] = if y > E::zero() { y * keep } else { E::zero() };
                }
            });
        let out = x.device().tensor_from_vec(out, (n, f));
        let stats = BnBatchStats {
            mean,
            var,
            count: n,
        };
        let (xg, og, gg, bg) = (x.ghost(), out.ghost(), gamma.clone(), beta.clone());
        tape.add_backward_op(move |grads| {
            let mut gy: Vec<E> = grads.get_or_alloc_mut(&og)?.to_vec();
            // Gradient at the BatchNorm output: through the dropout mask and the ReLU.
            gy.par_chunks_mut(fw)
                .with_min_len(ROWS_PER_TASK)
                .enumerate()
                .for_each(|(r, row)| {
                    for (c, g) in row.iter_mut().enumerate() {
                        let i = r * f + c;
                        let y = gv[c] * xhat[i] + bv[c];
                        let keep = mask.as_ref().map_or(E::one(), |m| m[i]);
                        *g = if y > E::zero() { *g * keep } else { E::zero() };
                    }
                });
            let f64_of = |v: E| v.to_f64().unwrap_or(0.0);
            let dbeta = channel_sums(n, f, |r, c| f64_of(gy[r * f + c]));
            let dgamma = channel_sums(n, f, |r, c| {
                let i = r * f + c;
                f64_of(gy[i]) * f64_of(xhat[i])
            });
            let nn = E::from(n.max(1)).unwrap();
            let db: Vec<E> = dbeta.iter().map(|&v| E::from(v).unwrap()).collect();
            let dg: Vec<E> = dgamma.iter().map(|&v| E::from(v).unwrap()).collect();
            {
                let gx = grads.get_or_alloc_mut(&xg)?;
                gx.par_chunks_mut(fw)
                    .with_min_len(ROWS_PER_TASK)
                    .enumerate()
                    .for_each(|(r, row)| {
                        for (c, a) in row.iter_mut().enumerate() {
                            let i = r * f + c;
                            let k = gv[c] * invstd[c] / nn;
                            *a += k * (nn * gy[i] - db[c] - xhat[i] * dg[c]);
                        }
                    });
            }
            {
                let ggam = grads.get_or_alloc_mut(&gg)?;
                for (a, b) in ggam.iter_mut().zip(&dg) {
                    *a += *b;
                }
            }
            let gbet = grads.get_or_alloc_mut(&bg)?;
            for (a, b) in gbet.iter_mut().zip(&db) {
                *a += *b;
            }
            Ok(())
        });
        (out.put_tape(tape), stats)
    }
}
