//! Finite-difference checks (in f64) of the custom CPU kernels' backward passes, and agreement of
//! the kernels with the pure-dfdx implementation.

use dfdx::prelude::*;
use nextgnn_gcn::ops::{cpu, M, V};
use nextgnn_gcn::{Backend, Batch, CpuFast, Pure};
use nextgnn_stream::Graph;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// Two small random graphs with weighted edges, one of them with an isolated node.
fn graphs(rng: &mut ChaCha8Rng) -> Vec<Graph> {
    graphs_of(rng, &[5, 4])
}

/// Random graphs of the given sizes (the last node of each is isolated).
fn graphs_of(rng: &mut ChaCha8Rng, sizes: &[usize]) -> Vec<Graph> {
    sizes
        .iter()
        .map(|&n| {
            let mut src = Vec::new();
            let mut dst = Vec::new();
            for i in 0..n as u32 - 1 {
                for j in 0..n as u32 - 1 {
                    if i != j && rng.gen_bool(0.6) {
                        src.push(i);
                        dst.push(j);
                    }
                }
            }
            let e = src.len();
            Graph {
                num_nodes: n,
                x: (0..n * 3).map(|_| rng.gen_range(-1.0..1.0)).collect(),
                src,
                dst,
                edge_weight: (0..e).map(|_| rng.gen_range(0.2..1.0)).collect(),
                ..Default::default()
            }
        })
        .collect()
}

fn batch(seed: u64) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = graphs(&mut rng);
    let refs: Vec<_> = g.iter().collect();
    Batch::new(&refs, 3)
}

/// Central differences of `f` at `x`, compared with `analytic`.
fn fd_check(what: &str, x: &[f64], analytic: &[f64], f: impl Fn(&[f64]) -> f64) {
    let h = 1e-6;
    for i in 0..x.len() {
        let mut p = x.to_vec();
        p[i] += h;
        let fp = f(&p);
        p[i] -= 2.0 * h;
        let fm = f(&p);
        let num = (fp - fm) / (2.0 * h);
        assert!(
            (num - analytic[i]).abs() <= 1e-6 * (1.0 + num.abs()),
            "{what}[{i}]: finite difference {num} vs backward {}",
            analytic[i]
        );
    }
}

fn weights(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

#[test]
fn propagate_backward_matches_finite_differences() {
    let b = batch(1);
    let dev = Cpu::default();
    let (n, f) = (b.num_nodes, 3);
    let x: Vec<f64> = b.x.iter().map(|&v| v as f64).collect();
    let r = weights(n * f, 2);
    let loss = |xv: &[f64]| -> f64 {
        let t: M<f64, Cpu> = dev.tensor_from_vec(xv.to_vec(), (n, f));
        let out = cpu::propagate(t, &b.prop).as_vec();
        out.iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    let t: M<f64, Cpu> = dev.tensor_from_vec(x.clone(), (n, f));
    let tr = t.leaky_trace();
    let out = cpu::propagate(tr, &b.prop);
    let g = (out * dev.tensor_from_vec(r.clone(), (n, f)))
        .sum::<(), _>()
        .backward();
    fd_check("propagate dx", &x, &g.get(&t).as_vec(), loss);
}

#[test]
fn propagate_bias_backward_matches_finite_differences() {
    let b = batch(12);
    let dev = Cpu::default();
    let (n, f) = (b.num_nodes, 3);
    let x: Vec<f64> = b.x.iter().map(|&v| v as f64).collect();
    let bias = weights(f, 13);
    let r = weights(n * f, 14);
    let run = |xv: &[f64], bv: &[f64]| -> f64 {
        let t: M<f64, Cpu> = dev.tensor_from_vec(xv.to_vec(), (n, f));
        let bt: V<f64, Cpu> = dev.tensor_from_vec(bv.to_vec(), (f,));
        let out = cpu::propagate_bias(t, &bt, &b.prop).as_vec();
        out.iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    let t: M<f64, Cpu> = dev.tensor_from_vec(x.clone(), (n, f));
    let bt: V<f64, Cpu> = dev.tensor_from_vec(bias.clone(), (f,));
    let out = cpu::propagate_bias(t.leaky_trace(), &bt, &b.prop);
    // The bias is added to every row of Â·x.
    let plain = cpu::propagate(t.clone(), &b.prop).as_vec();
    let o = out.retaped::<NoneTape>().as_vec();
    assert!((o[f + 1] - plain[f + 1] - bias[1]).abs() < 1e-12);
    let g = (out * dev.tensor_from_vec(r.clone(), (n, f)))
        .sum::<(), _>()
        .backward();
    fd_check("propagate_bias dx", &x, &g.get(&t).as_vec(), |xv| {
        run(xv, &bias)
    });
    fd_check("propagate_bias db", &bias, &g.get(&bt).as_vec(), |bv| {
        run(&x, bv)
    });
}

#[test]
fn affine_relu_backward_matches_finite_differences() {
    let dev = Cpu::default();
    let (n, f) = (6, 3);
    let x = weights(n * f, 15);
    let scale = Arc::new(vec![1.5, -0.5, 2.0]);
    let shift = Arc::new(vec![0.1, 0.2, -0.3]);
    let r = weights(n * f, 16);
    let t: M<f64, Cpu> = dev.tensor_from_vec(x.clone(), (n, f));
    let out = cpu::affine_relu(t.leaky_trace(), scale.clone(), shift.clone());
    let o = out.retaped::<NoneTape>().as_vec();
    for (i, v) in o.iter().enumerate() {
        let c = i % f;
        assert_eq!(*v, (x[i] * scale[c] + shift[c]).max(0.0));
    }
    let g = (out * dev.tensor_from_vec(r.clone(), (n, f)))
        .sum::<(), _>()
        .backward();
    fd_check("affine_relu dx", &x, &g.get(&t).as_vec(), |xv| {
        let t: M<f64, Cpu> = dev.tensor_from_vec(xv.to_vec(), (n, f));
        let out = cpu::affine_relu(t, scale.clone(), shift.clone()).as_vec();
        out.iter().zip(&r).map(|(a, b)| a * b).sum()
    });
}

/// Everything a training step of the kernels computes, on a batch large enough that every
/// kernel splits its rows and its per-channel sums into several pieces.
fn big_step(seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sizes: Vec<usize> = (0..40).map(|_| rng.gen_range(20..50)).collect();
    let g = graphs_of(&mut rng, &sizes);
    let refs: Vec<_> = g.iter().collect();
    let b = Batch::new(&refs, 3);
    let n = b.num_nodes;
    assert!(n > 1000, "{n} nodes");
    let dev = Cpu::default();
    let fast = CpuFast::default();
    let p = fast.prepare(&b);
    let w: M<f32, Cpu> = dev.tensor_from_vec(
        weights(3 * 8, 17).iter().map(|&v| v as f32).collect(),
        (3, 8),
    );
    let bias: V<f32, Cpu> = dev.tensor_from_vec(vec![0.1; 8], (8,));
    let gam: V<f32, Cpu> = dev.tensor_from_vec(vec![1.1; 8], (8,));
    let bet: V<f32, Cpu> = dev.tensor_from_vec(vec![-0.05; 8], (8,));
    let mask: Vec<f32> = (0..n * 8)
        .map(|i| if i % 7 == 3 { 0.0 } else { 1.25 })
        .collect();
    let x: M<f32, Cpu> = dev.tensor_from_vec(b.x.clone(), (n, 3));
    let z = fast.propagate_bias(x.leaky_trace().matmul(w.clone()), &bias, &p);
    let (h, stats) = fast.bn_relu_dropout(z, &gam, &bet, Some(mask), 1e-5);
    let h = fast.propagate(h, &p);
    let pooled = fast.mean_pool(h, &p);
    let pv = pooled.retaped::<NoneTape>().as_vec();
    let r: Vec<f32> = weights(pv.len(), 18).iter().map(|&v| v as f32).collect();
    let gr = (pooled * dev.tensor_from_vec(r, (40, 8)))
        .sum::<(), _>()
        .backward();
    let eval = fast
        .affine_relu(x.clone().matmul(w.clone()), vec![0.5; 8], vec![0.01; 8])
        .as_vec();
    vec![
        pv,
        stats
            .mean
            .iter()
            .chain(&stats.var)
            .map(|&v| v as f32)
            .collect(),
        gr.get(&x).as_vec(),
        gr.get(&w).as_vec(),
        gr.get(&bias).as_vec(),
        gr.get(&gam).as_vec(),
        gr.get(&bet).as_vec(),
        eval,
    ]
}

#[test]
fn kernels_give_identical_bits_in_pools_of_one_and_three_threads() {
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| big_step(19))
    };
    let (one, three) = (run(1), run(3));
    assert!(one[2].iter().any(|&v| v != 0.0));
    for (k, (a, b)) in one.iter().zip(&three).enumerate() {
        let (a, b): (Vec<u32>, Vec<u32>) = (
            a.iter().map(|v| v.to_bits()).collect(),
            b.iter().map(|v| v.to_bits()).collect(),
        );
        assert_eq!(a, b, "output {k} differs between 1 and 3 threads");
    }
}

#[test]
fn bn_backward_over_many_row_chunks_matches_finite_differences() {
    let dev = Cpu::default();
    let (n, f) = (300, 2);
    let x = weights(n * f, 20);
    let g: V<f64, Cpu> = dev.tensor_from_vec(vec![1.3, 0.8], (f,));
    let b: V<f64, Cpu> = dev.tensor_from_vec(vec![0.2, -0.1], (f,));
    let r = weights(n * f, 21);
    let t: M<f64, Cpu> = dev.tensor_from_vec(x.clone(), (n, f));
    let (out, _) = cpu::bn_relu_dropout(t.leaky_trace(), &g, &b, None, 1e-5);
    let grads = (out * dev.tensor_from_vec(r.clone(), (n, f)))
        .sum::<(), _>()
        .backward();
    fd_check("bn dx (300 rows)", &x, &grads.get(&t).as_vec(), |xv| {
        let t: M<f64, Cpu> = dev.tensor_from_vec(xv.to_vec(), (n, f));
        let (out, _) = cpu::bn_relu_dropout(t, &g, &b, None, 1e-5);
        out.as_vec().iter().zip(&r).map(|(a, b)| a * b).sum()
    });
}

#[test]
fn segment_mean_backward_matches_finite_differences() {
    let dev = Cpu::default();
    let offsets = Arc::new(vec![0usize, 3, 3, 7]);
    let (n, f) = (7, 2);
    let x = weights(n * f, 3);
    let r = weights(3 * f, 4);
    let loss = |xv: &[f64]| -> f64 {
        let t: M<f64, Cpu> = dev.tensor_from_vec(xv.to_vec(), (n, f));
        let out = cpu::segment_mean(t, &offsets).as_vec();
        out.iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    let t: M<f64, Cpu> = dev.tensor_from_vec(x.clone(), (n, f));
    let out = cpu::segment_mean(t.leaky_trace(), &offsets);
    // The empty middle graph pools to zeros.
    assert_eq!(&out.as_vec()[2..4], &[0.0, 0.0]);
    let g = (out * dev.tensor_from_vec(r.clone(), (3, f)))
        .sum::<(), _>()
        .backward();
    fd_check("segment_mean dx", &x, &g.get(&t).as_vec(), loss);
}

#[test]
fn bn_relu_dropout_backward_matches_finite_differences() {
    let dev = Cpu::default();
    let (n, f) = (9, 4);
    let x = weights(n * f, 5);
    let gam: Vec<f64> = weights(f, 6).iter().map(|v| 1.0 + 0.5 * v).collect();
    let bet = weights(f, 7);
    let mask: Vec<f64> = (0..n * f)
        .map(|i| if i % 5 == 0 { 0.0 } else { 1.25 })
        .collect();
    let mask = Arc::new(mask);
    let r = weights(n * f, 8);
    let run = |xv: &[f64], gv: &[f64], bv: &[f64]| -> f64 {
        let t: M<f64, Cpu> = dev.tensor_from_vec(xv.to_vec(), (n, f));
        let g: V<f64, Cpu> = dev.tensor_from_vec(gv.to_vec(), (f,));
        let b: V<f64, Cpu> = dev.tensor_from_vec(bv.to_vec(), (f,));
        let (out, _) = cpu::bn_relu_dropout(t, &g, &b, Some(mask.clone()), 1e-5);
        out.as_vec().iter().zip(&r).map(|(a, b)| a * b).sum()
    };
    let t: M<f64, Cpu> = dev.tensor_from_vec(x.clone(), (n, f));
    let g: V<f64, Cpu> = dev.tensor_from_vec(gam.clone(), (f,));
    let b: V<f64, Cpu> = dev.tensor_from_vec(bet.clone(), (f,));
    let (out, stats) = cpu::bn_relu_dropout(t.leaky_trace(), &g, &b, Some(mask.clone()), 1e-5);
    // The batch statistics are the plain column mean and biased variance.
    let m0: f64 = (0..n).map(|i| x[i * f]).sum::<f64>() / n as f64;
    let v0: f64 = (0..n).map(|i| (x[i * f] - m0).powi(2)).sum::<f64>() / n as f64;
    assert!((stats.mean[0] - m0).abs() < 1e-12 && (stats.var[0] - v0).abs() < 1e-12);
    let grads = (out * dev.tensor_from_vec(r.clone(), (n, f)))
        .sum::<(), _>()
        .backward();
    fd_check("bn dx", &x, &grads.get(&t).as_vec(), |xv| {
        run(xv, &gam, &bet)
    });
    fd_check("bn dgamma", &gam, &grads.get(&g).as_vec(), |gv| {
        run(&x, gv, &bet)
    });
    fd_check("bn dbeta", &bet, &grads.get(&b).as_vec(), |bv| {
        run(&x, &gam, bv)
    });
}

/// Runs one op of both backends on the same input and compares outputs and input gradients.
#[test]
fn cpu_kernels_agree_with_pure_dfdx_ops() {
    let b = batch(9);
    let fast = CpuFast::default();
    let pure = Pure::<Cpu>::default();
    let (pf, pp) = (fast.prepare(&b), pure.prepare(&b));
    let dev = Cpu::default();
    let n = b.num_nodes;
    let r = weights(n * 3, 10)
        .iter()
        .map(|&v| v as f32)
        .collect::<Vec<_>>();
    let rg = weights(2 * 3, 11)
        .iter()
        .map(|&v| v as f32)
        .collect::<Vec<_>>();
    let x: M<f32, Cpu> = dev.tensor_from_vec(b.x.clone(), (n, 3));
    let close = |what: &str, a: Vec<f32>, c: Vec<f32>| {
        for (i, (p, q)) in a.iter().zip(&c).enumerate() {
            assert!(
                (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                "{what}[{i}]: kernel {p} vs dfdx {q}"
            );
        }
    };
    let ga = (fast.propagate(x.leaky_trace(), &pf) * dev.tensor_from_vec(r.clone(), (n, 3)))
        .sum::<(), _>()
        .backward();
    let gb = (pure.propagate(x.leaky_trace(), &pp) * dev.tensor_from_vec(r.clone(), (n, 3)))
        .sum::<(), _>()
        .backward();
    close("propagate grad", ga.get(&x).as_vec(), gb.get(&x).as_vec());
    close(
        "propagate",
        fast.propagate(x.clone(), &pf).as_vec(),
        pure.propagate(x.clone(), &pp).as_vec(),
    );
    let ga = (fast.mean_pool(x.leaky_trace(), &pf) * dev.tensor_from_vec(rg.clone(), (2, 3)))
        .sum::<(), _>()
        .backward();
    let gb = (pure.mean_pool(x.leaky_trace(), &pp) * dev.tensor_from_vec(rg.clone(), (2, 3)))
        .sum::<(), _>()
        .backward();
    close("mean_pool grad", ga.get(&x).as_vec(), gb.get(&x).as_vec());
    let gam: V<f32, Cpu> = dev.tensor_from_vec(vec![1.2, 0.7, 1.0], (3,));
    let bet: V<f32, Cpu> = dev.tensor_from_vec(vec![0.1, -0.2, 0.3], (3,));
    let mask: Vec<f32> = (0..n * 3)
        .map(|i| if i % 4 == 1 { 0.0 } else { 1.5 })
        .collect();
    let (oa, _) = fast.bn_relu_dropout(x.leaky_trace(), &gam, &bet, Some(mask.clone()), 1e-5);
    let (ob, _) = pure.bn_relu_dropout(x.leaky_trace(), &gam, &bet, Some(mask), 1e-5);
    close(
        "bn",
        oa.retaped::<NoneTape>().as_vec(),
        ob.retaped::<NoneTape>().as_vec(),
    );
    let ga = (oa * dev.tensor_from_vec(r.clone(), (n, 3)))
        .sum::<(), _>()
        .backward();
    let gb = (ob * dev.tensor_from_vec(r.clone(), (n, 3)))
        .sum::<(), _>()
        .backward();
    close("bn grad x", ga.get(&x).as_vec(), gb.get(&x).as_vec());
    close(
        "bn grad gamma",
        ga.get(&gam).as_vec(),
        gb.get(&gam).as_vec(),
    );
    close("bn grad beta", ga.get(&bet).as_vec(), gb.get(&bet).as_vec());
}
