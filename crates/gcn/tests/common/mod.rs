//! Shared helpers of the gcn tests: the golden graphs and weights as Rust values.
#![allow(dead_code)]

use nextgnn_gcn::model::{BnState, ModelConfig, Param, Task, Weights};
use nextgnn_stream::testing::golden;
use nextgnn_stream::Graph;
use serde_json::Value;

/// Loads a golden JSON file.
pub fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(golden(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(f32s).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        other => panic!("expected numbers, got {other}"),
    }
}

fn i64s(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(a) => a.iter().flat_map(i64s).collect(),
        Value::Number(n) => vec![n.as_i64().unwrap()],
        other => panic!("expected integers, got {other}"),
    }
}

/// Flattens a nested JSON number array to f32 (parsed as f64, then cast, as the README says).
pub fn flat(v: &Value) -> Vec<f32> {
    f32s(v)
}

/// The graphs of a `graphs_*.json` golden file as stream records.
pub fn golden_graphs(name: &str) -> Vec<Graph> {
    let v = load(name);
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let n = g["num_nodes"].as_u64().unwrap() as usize;
            let ei = &g["edge_index"];
            Graph {
                fnum: g["fnum"].as_i64().unwrap(),
                dataset_id: g["dataset_id"].as_i64().unwrap(),
                binclass: g["binclass"].as_i64().unwrap(),
                num_nodes: n,
                x: f32s(&g["x"]),
                y: i64s(&g["y"]),
                coords: i64s(&g["coords"]),
                src: i64s(&ei[0]).into_iter().map(|v| v as u32).collect(),
                dst: i64s(&ei[1]).into_iter().map(|v| v as u32).collect(),
                edge_attr: f32s(&g["edge_attr"]),
                edge_weight: f32s(&g["edge_weight"]),
            }
        })
        .collect()
}

/// The model of `gcn_classic_cloud.json` with its `params_initial` (or another parameter key).
pub fn golden_weights(gold: &Value, key: &str) -> Weights {
    let cfg = ModelConfig {
        task: Task::Classification,
        input_dim: gold["input_dim"].as_u64().unwrap() as usize,
        nconv: gold["nconv"].as_u64().unwrap() as usize,
        mult: gold["mult_feat_per_conv"].as_u64().unwrap() as usize,
        nclass: gold["nclass"].as_u64().unwrap() as usize,
        dropout: gold["dropout"].as_f64().unwrap(),
    };
    let p = &gold[key];
    let params = Weights::layout(&cfg)
        .into_iter()
        .map(|(name, shape)| {
            let data = f32s(&p[&name]);
            assert_eq!(data.len(), shape.iter().product::<usize>(), "{name} size");
            Param { name, shape, data }
        })
        .collect();
    let bn = (0..cfg.nconv)
        .map(|i| BnState {
            running_mean: f32s(&p[format!("blocks.{i}.bn.module.running_mean")]),
            running_var: f32s(&p[format!("blocks.{i}.bn.module.running_var")]),
            num_batches_tracked: p[format!("blocks.{i}.bn.module.num_batches_tracked")]
                .as_i64()
                .unwrap(),
        })
        .collect();
    Weights {
        config: cfg,
        params,
        bn,
    }
}

/// Asserts |a-b| <= rtol·|b| + atol elementwise, naming the quantity and the worst index.
pub fn assert_close(what: &str, a: &[f32], b: &[f32], rtol: f64, atol: f64) {
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: length {} vs {}",
        a.len(),
        b.len()
    );
    let mut worst = (0usize, 0f64);
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let err = (x as f64 - y as f64).abs() - rtol * (y as f64).abs();
        if err > worst.1 {
            worst = (i, err);
        }
    }
    assert!(
        worst.1 <= atol,
        "{what}: element {} is {} but the reference has {} (excess error {:e})",
        worst.0,
        a[worst.0],
        b[worst.0],
        worst.1
    );
}
