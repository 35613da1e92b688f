//! The model against PyTorch Geometric's numbers on the six real graphs (`gcn_classic_cloud.json`).

mod common;
use common::*;
use nextgnn_gcn::model::{eval_logits, train_forward_backward, Adam};
use nextgnn_gcn::{Backend, Batch, CpuFast, Pure};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Relative tolerance of the comparison; values near zero get an absolute floor of the same size
/// times the quantity's scale.
const RTOL: f64 = 1e-5;
/// dfdx's own BatchNorm statistics accumulate in f32 (the custom kernel uses f64), which costs a
/// few more ulps on the gradients.
const PURE_RTOL: f64 = 3e-5;

fn scale(v: &[f32]) -> f64 {
    v.iter().fold(0f64, |a, &b| a.max((b as f64).abs()))
}

/// Largest gradient magnitude of the block or head that `name` belongs to.
fn block_scale(w: &nextgnn_gcn::Weights, gold: &serde_json::Value, name: &str) -> f64 {
    let prefix: String = name.split('.').take(2).collect::<Vec<_>>().join(".") + ".";
    w.params
        .iter()
        .filter(|q| q.name.starts_with(&prefix))
        .map(|q| scale(&flat(&gold["grads"][&q.name])))
        .fold(0f64, f64::max)
}

fn check<B: Backend>(backend: &B, label: &str, rtol: f64) {
    let gold = load("gcn_classic_cloud.json");
    assert_eq!(gold["source"], "graphs_classic_cloud.json");
    let mut graphs = golden_graphs("graphs_classic_cloud.json");
    let labels: Vec<i64> = gold["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    for (g, &l) in graphs.iter_mut().zip(&labels) {
        g.binclass = l;
    }
    let refs: Vec<_> = graphs.iter().collect();
    let batch = Batch::new(&refs, 4);
    assert_eq!(batch.num_nodes, 318);
    let mut w = golden_weights(&gold, "params_initial");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let step = train_forward_backward(backend, &mut w, &batch, &[1.0, 1.0], &mut rng, true);

    let conv0 = flat(&gold["conv0_output"]);
    assert_close(
        &format!("{label} conv0_output"),
        step.conv0.as_ref().unwrap(),
        &conv0,
        rtol,
        rtol * scale(&conv0),
    );
    let tl = flat(&gold["train_logits"]);
    assert_close(
        &format!("{label} train_logits"),
        &step.logits,
        &tl,
        rtol,
        rtol * scale(&tl),
    );
    let loss = gold["loss"].as_f64().unwrap();
    assert!(
        ((step.loss as f64) - loss).abs() <= rtol * loss,
        "{label} loss {} vs reference {loss}",
        step.loss
    );
    for (p, g) in w.params.iter().zip(&step.grads) {
        let r = flat(&gold["grads"][&p.name]);
        // A convolution bias feeds a BatchNorm that subtracts the batch mean, so its exact
        // gradient is zero and both sides hold rounding noise: it is compared against the scale
        // of the whole block's gradients instead of its own.
        let bs = block_scale(&w, &gold, &p.name);
        assert_close(&format!("{label} grad {}", p.name), g, &r, rtol, rtol * bs);
    }

    let mut adam = Adam::new(&w, 5e-4, [0.9, 0.999], 1e-6, 0.0);
    adam.update(&mut w, &step.grads);
    let after = golden_weights(&gold, "params_after_adam_step");
    for (p, r) in w.params.iter().zip(&after.params) {
        assert_eq!(p.name, r.name);
        // A gradient allowed an error dg moves Adam's first step lr·g/(|g|+eps) by up to
        // lr·eps·dg/(|g|+eps)²: allowed per element on top of the relative tolerance.
        let g = flat(&gold["grads"][&p.name]);
        let dg = rtol * block_scale(&w, &gold, &p.name);
        for (i, ((&a, &b), &gi)) in p.data.iter().zip(&r.data).zip(&g).enumerate() {
            let d = 5e-4 * 1e-6 * dg / ((gi as f64).abs() + 1e-6).powi(2);
            let tol = rtol * (b as f64).abs() + rtol * scale(&r.data) + d;
            assert!(
                ((a - b) as f64).abs() <= tol,
                "{label} param after Adam {}[{i}]: {a} vs reference {b} (tolerance {tol:e})",
                p.name
            );
        }
    }
    for (i, (b, r)) in w.bn.iter().zip(&after.bn).enumerate() {
        assert_close(
            &format!("{label} running_mean {i}"),
            &b.running_mean,
            &r.running_mean,
            rtol,
            rtol * scale(&r.running_mean),
        );
        assert_close(
            &format!("{label} running_var {i}"),
            &b.running_var,
            &r.running_var,
            rtol,
            rtol * scale(&r.running_var),
        );
        assert_eq!(b.num_batches_tracked, r.num_batches_tracked);
    }

    let el = eval_logits(backend, &w, &batch);
    let er = flat(&gold["eval_logits_after_step"]);
    assert_close(
        &format!("{label} eval logits"),
        &el,
        &er,
        rtol,
        rtol * scale(&er),
    );
}

#[test]
fn golden_cpu_fast_kernels() {
    check(&CpuFast::default(), "cpu kernels", RTOL);
}

#[test]
fn golden_pure_dfdx_ops() {
    check(
        &Pure::<dfdx::prelude::Cpu>::default(),
        "pure dfdx ops",
        PURE_RTOL,
    );
}
