//! Every reference graph survives JSON -> Graph -> stream file -> Graph exactly, and `cat` of streams reads as one.

use nextgnn_stream::testing::{golden_graph_files, golden_graphs, tool_path, write_stream_file};
use nextgnn_stream::StreamReader;
use std::process::Command;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn golden_graphs_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let files = golden_graph_files();
    assert_eq!(files.len(), 5, "{files:?}");
    let mut total = 0;
    for f in files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let (schema, graphs) = golden_graphs(&name);
        // The loader agrees with the shapes the reference recorded for each tensor.
        let raw: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for (g, r) in graphs.iter().zip(raw.as_array().unwrap()) {
            let sh = &r["shapes"];
            assert_eq!(sh["x"][0].as_u64().unwrap() as usize, g.num_nodes);
            assert_eq!(
                sh["x"][1].as_u64().unwrap() as usize,
                schema.node_features.len(),
                "{name}"
            );
            assert_eq!(
                sh["edge_index"][1].as_u64().unwrap() as usize,
                g.num_edges()
            );
            assert_eq!(
                sh["edge_attr"][1].as_u64().unwrap() as usize,
                schema.edge_features.len()
            );
        }
        let path = dir.path().join(format!("{name}.gs"));
        write_stream_file(&path, &schema, &graphs);
        let mut r = StreamReader::open(path.to_str().unwrap()).unwrap();
        assert_eq!(r.schema(), &schema);
        let back = r.read_all().unwrap();
        assert_eq!(back.len(), graphs.len(), "{name}");
        for (a, b) in graphs.iter().zip(&back) {
            assert_eq!(a, b, "{name} dataset_id {}", a.dataset_id);
            assert_eq!(bits(&a.x), bits(&b.x));
            assert_eq!(bits(&a.edge_attr), bits(&b.edge_attr));
            assert_eq!(bits(&a.edge_weight), bits(&b.edge_weight));
        }
        total += back.len();
    }
    assert_eq!(total, 6 + 6 + 6 + 6 + 3);
}

#[test]
fn cat_of_two_streams_reads_as_one() {
    // These two reference files share one schema (features ener, nhits + 2 cloud columns).
    let (s1, g1) = golden_graphs("graphs_classic_cloud.json");
    let (s2, g2) = golden_graphs("graphs_synthetic_classic_cloud.json");
    assert_eq!(s1, s2);
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.gs"),
        dir.path().join("b.gs"),
        dir.path().join("c.gs"),
    );
    write_stream_file(&a, &s1, &g1);
    write_stream_file(&b, &s2, &g2);
    let cat = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat '{}' '{}' > '{}'",
            a.display(),
            b.display(),
            c.display()
        ))
        .status()
        .unwrap();
    assert!(cat.success());
    let mut r = StreamReader::open(c.to_str().unwrap()).unwrap();
    assert_eq!(r.read_all().unwrap(), [g1.clone(), g2.clone()].concat());
    assert_eq!(r.provenance().len(), 2);
    // The tools see one stream of 9 graphs too, whether from the file or from stdin.
    let out = Command::new(tool_path("graphinfo"))
        .arg(&c)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["graphs"], 9);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat '{}' '{}' | '{}' --check",
            a.display(),
            b.display(),
            tool_path("graphinfo").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "ok: 9 graphs, {} bytes, 1 inputs\n",
            std::fs::metadata(&c).unwrap().len()
        )
    );
}
