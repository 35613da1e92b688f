//! graphinfo prints the reference shapes of the golden graphs, selects by index and id, and its
//! JSON views agree with the reference values.

use nextgnn_stream::testing::{
    golden, golden_graph_files, golden_graphs, graphs_from_json, tool_path, write_stream_file,
};
use std::path::Path;
use std::process::Command;

fn stream_of(dir: &Path, json: &str) -> String {
    let (s, g) = golden_graphs(json);
    let p = dir.join(format!("{json}.gs"));
    write_stream_file(&p, &s, &g);
    p.to_str().unwrap().to_string()
}

fn info(args: &[&str]) -> String {
    let out = Command::new(tool_path("graphinfo"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn show_prints_reference_shapes() {
    let dir = tempfile::tempdir().unwrap();
    for f in golden_graph_files() {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let p = stream_of(dir.path(), &name);
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for (k, r) in raw.as_array().unwrap().iter().enumerate() {
            let sh = &r["shapes"];
            let want = format!(
                "Graph(x=[{}, {}], edge_index=[2, {}], edge_attr=[{}, {}], edge_weight=[{}], y=[{}], coords=[{}, {}], binclass={}, dataset_id={}, fnum={})",
                sh["x"][0], sh["x"][1], sh["edge_index"][1], sh["edge_attr"][0], sh["edge_attr"][1],
                sh["edge_weight"][0], sh["y"][0], sh["coords"][0], sh["coords"][1],
                r["binclass"], r["dataset_id"], r["fnum"]
            );
            let shown = info(&["--show", &k.to_string(), &p]);
            assert_eq!(shown.lines().next().unwrap(), want, "{name} graph {k}");
            let by_id = info(&["--id", &format!("{}:{}", r["fnum"], r["dataset_id"]), &p]);
            assert_eq!(by_id, shown);
        }
    }
}

#[test]
fn show_rows_match_reference_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = stream_of(dir.path(), "graphs_knn6_template.json");
    let out = info(&["--show", "0", "--rows", "2", &p]);
    let lines: Vec<&str> = out.lines().collect();
    // Reference: x[0] = [0.013571152463555336, 0.0077220075763762], y = 0 (shown as "label", the
    // coordinate y keeps its name), coords (42, 57, 67);
    // edge 0 = (0, 1) with attr [1.0, 0.012140615843236446], weight 1.
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["node", "ener", "nhits", "label", "x", "y", "z"]
    );
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "0.0135712", "0.007722", "0", "42", "57", "67"]
    );
    assert_eq!(lines[4], "   ... (53 more nodes)");
    assert_eq!(
        lines[6].split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "1", "1", "0.0121406", "1"]
    );
}

#[test]
fn json_views_agree_with_reference() {
    let dir = tempfile::tempdir().unwrap();
    let name = "graphs_mcdataset_classic.json";
    let p = stream_of(dir.path(), name);
    let (_, graphs) = golden_graphs(name);
    // --show --json gives the whole graph in the reference layout; read back, it is the same graph.
    for k in [0usize, 5] {
        let one = info(&["--show", &k.to_string(), "--json", &p]);
        let back = graphs_from_json(&format!("[{one}]")).unwrap();
        assert_eq!(back, vec![graphs[k].clone()]);
    }
    let s: serde_json::Value = serde_json::from_str(&info(&["--json", &p])).unwrap();
    let nodes: Vec<u64> = graphs.iter().map(|g| g.num_nodes as u64).collect();
    assert_eq!(s["graphs"], 6);
    assert_eq!(s["nodes_per_graph"]["min"], 87);
    assert_eq!(s["nodes_per_graph"]["max"], 129);
    assert_eq!(
        s["nodes_per_graph"]["mean"].as_f64().unwrap(),
        nodes.iter().sum::<u64>() as f64 / 6.0
    );
    assert_eq!(s["edges_per_graph"]["min"], 400);
    assert_eq!(s["edges_per_graph"]["max"], 520);
    // The MC_dataset graphs hold binclass 1, 0, 1, 0, 0, 1; y = segclass - 1 takes -1, 0, 1 there.
    assert_eq!(
        s["binclass"],
        serde_json::json!([{"class": 0, "graphs": 3, "fraction": 0.5}, {"class": 1, "graphs": 3, "fraction": 0.5}])
    );
    let classes: Vec<i64> = s["node_classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_i64().unwrap())
        .collect();
    assert_eq!(classes, [-1, 0, 1]);
    let total_y: u64 = s["node_classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["nodes"].as_u64().unwrap())
        .sum();
    assert_eq!(total_y, nodes.iter().sum::<u64>());
    // Feature ranges are over every node of every graph.
    let ener = &s["node_features"][0];
    assert_eq!(ener["name"], "energy");
    let want_min = graphs
        .iter()
        .flat_map(|g| g.x.iter())
        .fold(f32::INFINITY, |a, &b| a.min(b));
    assert_eq!(ener["min"].as_f64().unwrap(), want_min as f64);
    assert_eq!(
        s["schema"]["coord_names"],
        serde_json::json!(["xbin", "ybin", "zbin"])
    );
    assert_eq!(s["provenance"], serde_json::json!(["test"]));
    // --head: one line per graph, stopping at N.
    let head = info(&["--head", "4", &p]);
    assert_eq!(head.lines().count(), 4);
    assert!(head
        .lines()
        .nth(3)
        .unwrap()
        .starts_with("     3  Graph(x=[129, 1], edge_index=[2, 482]"));
    let jl = info(&["--head", "2", "--json", &p]);
    let first: serde_json::Value = serde_json::from_str(jl.lines().next().unwrap()).unwrap();
    assert_eq!(first["num_edges"], 486);
}

#[test]
fn text_summary_names_everything() {
    let dir = tempfile::tempdir().unwrap();
    let p = stream_of(dir.path(), "graphs_classic_cloud.json");
    let s = info(&[&p]);
    for want in [
        "graphs        6\n",
        "nodes/graph   min 41  median 55.5  mean 53  max 62\n",
        "edges/graph   min 228  median 281  mean 283  max 340\n",
        "binclass      0: 6 (100.0%)\n",
        "isolated      4 nodes without edges\n",
        "x.cloud_nhits",
        "edge_attr.ener_gradient",
        "provenance    test\n",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
    assert!(golden("graphs_classic_cloud.json").is_file());
}

#[test]
fn plot_draws_the_selected_golden_event_in_three_projections() {
    let dir = tempfile::tempdir().unwrap();
    let p = stream_of(dir.path(), "graphs_classic_cloud.json");
    let svg = dir.path().join("event.svg");
    let said = info(&["--id", "0:3", "--plot", svg.to_str().unwrap(), &p]);
    assert_eq!(
        said,
        format!("graphinfo: drew event 0:3 into {}\n", svg.display())
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("valid SVG");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for axis in [
        "x",
        "y",
        "z",
        "xy projection",
        "xz projection",
        "yz projection",
    ] {
        assert!(
            texts.contains(&axis),
            "axis label {axis} missing: {texts:?}"
        );
    }
    // the reference graph of dataset_id 3 has 62 voxels and 252 directed edges
    assert!(
        texts.contains(&"event 0:3  |  binclass 0  |  62 voxels, 252 directed edges  |  colour: true voxel class"),
        "title: {texts:?}"
    );
    // no event selected: a one-line error, no picture
    let out = Command::new(tool_path("graphinfo"))
        .args(["--plot", dir.path().join("none.svg").to_str().unwrap(), &p])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --plot draws one event: choose it with --show N or --id FNUM:DATASET_ID\n"
    );
    assert!(!dir.path().join("none.svg").exists());
}
