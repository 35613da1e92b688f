//! Graphs against the reference's golden JSON: every graphs_*.json in shared/golden.

use nextgnn_labels::build::emit_reference_order;
use nextgnn_labels::neighbours::{self, Lists};
use nextgnn_labels::{convert, EdgeMode, Options, SkipReason, Summary};
use nextgnn_stream::testing::golden;
use nextgnn_stream::Graph;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

fn load(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(golden(name)).unwrap()).unwrap()
}

fn run(opts: &Options) -> (Vec<Graph>, Summary) {
    let mut out = Vec::new();
    let s = convert(opts, &indicatif::ProgressBar::hidden(), &mut |g: &Graph| {
        out.push(g.clone());
        Ok(())
    })
    .unwrap();
    (out, s)
}

fn f32s(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(f32s).collect(),
        v => vec![v.as_f64().unwrap() as f32],
    }
}

fn i64s(v: &Value) -> Vec<i64> {
    match v {
        Value::Array(a) => a.iter().flat_map(i64s).collect(),
        v => vec![v.as_i64().unwrap()],
    }
}

fn template(file: &str) -> Options {
    Options {
        inputs: vec![golden(file)],
        ..Default::default()
    }
}

fn classic(file: &str, cloud: bool) -> Options {
    let mut o = template(file);
    o.build.edges = EdgeMode::Classic;
    o.build.cloud_info = cloud;
    o
}

fn mcdataset() -> Options {
    let mut o = classic("MC_dataset.h5", false);
    o.table = "DATASET/Voxels".into();
    o.features = vec!["energy".into()];
    o.coords = vec!["xbin".into(), "ybin".into(), "zbin".into()];
    o.fnum = Some(0);
    o
}

/// Node arrays equal bit for bit; `y_shift` is added to the reference labels.
fn assert_nodes(ours: &Graph, gold: &Value, y_shift: i64) {
    let id = ours.dataset_id;
    assert_eq!(id, gold["dataset_id"].as_i64().unwrap());
    assert_eq!(
        ours.fnum,
        gold["fnum"].as_i64().unwrap(),
        "fnum, event {id}"
    );
    assert_eq!(
        ours.binclass,
        gold["binclass"].as_i64().unwrap(),
        "binclass, event {id}"
    );
    assert_eq!(
        ours.num_nodes as i64,
        gold["num_nodes"].as_i64().unwrap(),
        "num_nodes, event {id}"
    );
    let gx = f32s(&gold["x"]);
    assert_eq!(ours.x.len(), gx.len(), "x size, event {id}");
    for (i, (a, b)) in ours.x.iter().zip(&gx).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "x[{i}] of event {id}: {a} vs {b}");
    }
    let gy: Vec<i64> = i64s(&gold["y"]).iter().map(|v| v + y_shift).collect();
    assert_eq!(ours.y, gy, "y, event {id}");
    assert_eq!(ours.coords, i64s(&gold["coords"]), "coords, event {id}");
}

type EdgeMap = HashMap<(u32, u32), [u32; 3]>;

fn our_edges(g: &Graph) -> EdgeMap {
    let mut m = HashMap::new();
    for k in 0..g.num_edges() {
        let v = [
            g.edge_attr[2 * k].to_bits(),
            g.edge_attr[2 * k + 1].to_bits(),
            g.edge_weight[k].to_bits(),
        ];
        assert!(
            m.insert((g.src[k], g.dst[k]), v).is_none(),
            "repeated edge in event {}",
            g.dataset_id
        );
    }
    m
}

fn gold_edges(gold: &Value) -> (Vec<(u32, u32)>, EdgeMap) {
    let ei = &gold["edge_index"];
    let src = i64s(&ei[0]);
    let dst = i64s(&ei[1]);
    let attr = f32s(&gold["edge_attr"]);
    let w = f32s(&gold["edge_weight"]);
    let order: Vec<(u32, u32)> = src
        .iter()
        .zip(&dst)
        .map(|(&a, &b)| (a as u32, b as u32))
        .collect();
    let mut m = HashMap::new();
    for (k, &e) in order.iter().enumerate() {
        m.insert(
            e,
            [
                attr[2 * k].to_bits(),
                attr[2 * k + 1].to_bits(),
                w[k].to_bits(),
            ],
        );
    }
    (order, m)
}

/// Neighbour lists as the reference's KDTree returned them (entries 1..=num, distance <= max).
fn reference_lists(event: &Value, num: usize, max: f64) -> Lists {
    let n = event["num_nodes"].as_u64().unwrap() as u32;
    let mut l = Lists {
        off: vec![0],
        ..Default::default()
    };
    for (nb, ds) in event["neighbours"]
        .as_array()
        .unwrap()
        .iter()
        .zip(event["distances"].as_array().unwrap())
    {
        let nb = nb.as_array().unwrap();
        let ds = ds.as_array().unwrap();
        for k in 1..=num.min(nb.len() - 1) {
            let j = nb[k].as_u64().unwrap() as u32;
            let Some(d) = ds[k].as_f64() else { continue };
            if j < n && d <= max {
                l.nbr.push(j);
                l.d2.push((d * d).round() as i64);
            }
        }
        l.off.push(l.nbr.len() as u32);
    }
    l
}

/// Classic graphs: same nodes, same directed edge set with bit-equal attributes; and the
/// reference's own neighbour lists fed to our emission give the reference's exact edge order.
fn check_classic(opts: &Options, golden_file: &str, kd_key: &str, y_shift: i64) -> Summary {
    let gold = load(golden_file);
    let gold = gold.as_array().unwrap();
    let (ours, summary) = run(opts);
    assert_eq!(ours.len(), gold.len(), "graph count");
    let kd = load("kdtree_neighbours.json");
    let kd_events: BTreeMap<i64, &Value> = kd[kd_key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["dataset_id"].as_i64().unwrap(), e))
        .collect();
    for (g, gv) in ours.iter().zip(gold) {
        assert_nodes(g, gv, y_shift);
        let (order, gm) = gold_edges(gv);
        assert_eq!(
            our_edges(g),
            gm,
            "edge set or attributes differ, event {}",
            g.dataset_id
        );
        let lists = reference_lists(kd_events[&g.dataset_id], 26, 3f64.sqrt());
        let replay: Vec<(u32, u32)> = emit_reference_order(&lists, false)
            .iter()
            .map(|&(a, b, _)| (a, b))
            .collect();
        assert_eq!(
            replay, order,
            "reference edge order, event {}",
            g.dataset_id
        );
    }
    summary
}

#[test]
fn classic_cloud_equals_reference() {
    let s = check_classic(
        &classic("nexus_label_0_doublescape.h5", true),
        "graphs_classic_cloud.json",
        "nexus_label_0_doublescape.h5:MCVoxels:k=27",
        0,
    );
    assert_eq!((s.events, s.written, s.voxels), (6, 6, 318));
}

#[test]
fn classic_nocloud_equals_reference() {
    check_classic(
        &classic("nexus_label_0_doublescape.h5", false),
        "graphs_classic_nocloud.json",
        "nexus_label_0_doublescape.h5:MCVoxels:k=27",
        0,
    );
}

#[test]
fn mcdataset_classic_equals_reference_with_labels_from_zero() {
    // The old format's segclass is 0..2: the reference's y holds -1, ours is segclass itself.
    let s = check_classic(
        &mcdataset(),
        "graphs_mcdataset_classic.json",
        "MC_dataset.h5:Voxels:k=27",
        1,
    );
    assert_eq!((s.events, s.written, s.voxels), (6, 6, 652));
}

#[test]
fn synthetic_edge_cases_equal_reference_and_isolated_event_is_skipped() {
    let s = check_classic(
        &classic("synthetic_label_1_edgecases.h5", true),
        "graphs_synthetic_classic_cloud.json",
        "synthetic_label_1_edgecases.h5:MCVoxels:k=27",
        0,
    );
    assert_eq!(s.events, 4);
    assert_eq!(s.written, 3);
    assert_eq!(s.skipped.get(&SkipReason::NoEdges), Some(&1));
}

#[test]
fn knn_template_matches_reference_distances() {
    let gold = load("graphs_knn6_template.json");
    let gold = gold.as_array().unwrap();
    let kd = load("kdtree_neighbours.json");
    let kd_events = kd["nexus_label_0_doublescape.h5:MCVoxels:k=21"]
        .as_array()
        .unwrap();
    let (ours, _) = run(&template("nexus_label_0_doublescape.h5"));
    assert_eq!(ours.len(), gold.len());
    let mut sym_diff = 0;
    let mut total = 0;
    for ((g, gv), kev) in ours.iter().zip(gold).zip(kd_events) {
        assert_nodes(g, gv, 0);
        // Each node's multiset of the 6 neighbour distances equals the reference's.
        let points: Vec<[i64; 3]> = g.coords.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
        let lists = neighbours::knn(&points, 6, f64::INFINITY);
        for (i, ds) in kev["distances"].as_array().unwrap().iter().enumerate() {
            let want: Vec<f64> = ds.as_array().unwrap()[1..7]
                .iter()
                .map(|d| d.as_f64().unwrap())
                .collect();
            let got: Vec<f64> = lists.of(i).map(|(_, d2)| (d2 as f64).sqrt()).collect();
            assert_eq!(got, want, "distances of node {i}, event {}", g.dataset_id);
        }
        // Edges shared with the reference carry bit-equal attributes; the rest are tie choices.
        let (order, gm) = gold_edges(gv);
        let om = our_edges(g);
        for (e, v) in &om {
            if let Some(w) = gm.get(e) {
                assert_eq!(v, w, "attributes of edge {e:?}, event {}", g.dataset_id);
            }
        }
        sym_diff += om.keys().filter(|e| !gm.contains_key(e)).count();
        sym_diff += gm.keys().filter(|e| !om.contains_key(e)).count();
        total += gm.len();
        let replay: Vec<(u32, u32)> =
            emit_reference_order(&reference_lists(kev, 6, f64::INFINITY), false)
                .iter()
                .map(|&(a, b, _)| (a, b))
                .collect();
        assert_eq!(
            replay, order,
            "reference edge order, event {}",
            g.dataset_id
        );
    }
    // The golden README measured exactly this for a sort-by-(distance, index) rule.
    assert_eq!((sym_diff, total), (142, 2200));
}

#[test]
fn knn_on_small_events_connects_what_exists() {
    // The reference fails on the whole file here (event 1 has 4 voxels, k = 6).
    let (ours, s) = run(&template("synthetic_label_1_edgecases.h5"));
    assert_eq!(s.written, 4);
    let ev1 = ours.iter().find(|g| g.dataset_id == 1).unwrap();
    assert_eq!(ev1.num_nodes, 4);
    assert_eq!(ev1.num_edges(), 12);
}

#[test]
fn small_batches_and_chunks_give_the_same_graphs() {
    let (all, _) = run(&classic("nexus_label_0_doublescape.h5", true));
    let mut o = classic("nexus_label_0_doublescape.h5", true);
    o.batch_rows = 7;
    let (small, _) = run(&o);
    assert_eq!(all, small);
}
