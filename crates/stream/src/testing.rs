//! Helpers for the project's tests: where the golden reference files live.

use std::path::{Path, PathBuf};

/// The golden reference directory: `$NEXTGNN_GOLDEN`, else `shared/golden` beside the checkout.
///
/// Panics (failing the test, never skipping it) when the directory is missing, with what to do.
pub fn golden_dir() -> PathBuf {
    if let Ok(p) = std::env::var("NEXTGNN_GOLDEN") {
        return PathBuf::from(p);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("../shared/golden");
        if cand.join("README.md").is_file() {
            return cand.canonicalize().unwrap_or(cand);
        }
        if !dir.pop() {
            break;
        }
    }
    panic!(
        "golden reference files not found: expected ../shared/golden beside the checkout \
         (or set NEXTGNN_GOLDEN); tests that compare with the reference cannot run without them"
    );
}

/// Path of one golden file, failing the test if it is missing.
pub fn golden(name: &str) -> PathBuf {
    let p = golden_dir().join(name);
    assert!(p.is_file(), "golden file {} is missing", p.display());
    p
}

/// Path of a built tool binary in the workspace target directory (tests run `cargo build` first).
pub fn tool_path(name: &str) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    let root = loop {
        if dir.join("Cargo.lock").is_file() || !dir.pop() {
            break dir;
        }
    };
    let target = target.unwrap_or_else(|| root.join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let p = target.join(profile).join(name);
    assert!(
        p.is_file(),
        "{} not built: run `cargo build --workspace` before the tests",
        p.display()
    );
    p
}

/// The schema of a golden `graphs_*.json` file, named after the reference configuration it holds.
pub fn golden_schema(file_name: &str) -> crate::Schema {
    let (features, coords): (&[&str], &[&str]) = if file_name.contains("mcdataset") {
        (&["energy"], &["xbin", "ybin", "zbin"])
    } else if file_name.contains("nocloud") || file_name.contains("knn6") {
        (&["ener", "nhits"], &["x", "y", "z"])
    } else {
        (
            &["ener", "nhits", "cloud_ener", "cloud_nhits"],
            &["x", "y", "z"],
        )
    };
    crate::Schema::reference(features, coords)
}

/// Every `graphs_*.json` file of the golden directory, sorted by name (fails the test if none).
pub fn golden_graph_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("golden directory readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("graphs_") && n.ends_with(".json")
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no graphs_*.json in {}",
        golden_dir().display()
    );
    files
}

/// Parses a golden graph JSON (README section 2) into graphs; floats go through f64 to f32 exactly.
pub fn graphs_from_json(text: &str) -> Result<Vec<crate::Graph>, String> {
    use serde_json::Value;
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let arr = v.as_array().ok_or("top level is not an array")?;
    let int = |v: &Value, what: &str| {
        v.as_i64()
            .ok_or_else(|| format!("{what}: not an integer: {v}"))
    };
    let float = |v: &Value, what: &str| {
        v.as_f64()
            .map(|f| f as f32)
            .ok_or_else(|| format!("{what}: not a number: {v}"))
    };
    let rows = |v: &Value, what: &str| -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for r in v
            .as_array()
            .ok_or_else(|| format!("{what}: not an array"))?
        {
            match r.as_array() {
                Some(inner) => out.extend(inner.iter().cloned()),
                None => out.push(r.clone()),
            }
        }
        Ok(out)
    };
    let mut graphs = Vec::new();
    for (k, g) in arr.iter().enumerate() {
        let field = |name: &str| {
            g.get(name)
                .ok_or_else(|| format!("graph {k}: no key {name}"))
        };
        let ei = field("edge_index")?
            .as_array()
            .ok_or_else(|| format!("graph {k}: edge_index not an array"))?;
        if ei.len() != 2 {
            return Err(format!(
                "graph {k}: edge_index has {} rows, expected 2",
                ei.len()
            ));
        }
        let idx = |row: &Value| -> Result<Vec<u32>, String> {
            rows(row, "edge_index")?
                .iter()
                .map(|v| {
                    int(v, "edge_index").and_then(|i| u32::try_from(i).map_err(|e| e.to_string()))
                })
                .collect()
        };
        graphs.push(crate::Graph {
            fnum: int(field("fnum")?, "fnum")?,
            dataset_id: int(field("dataset_id")?, "dataset_id")?,
            binclass: int(field("binclass")?, "binclass")?,
            num_nodes: int(field("num_nodes")?, "num_nodes")? as usize,
            x: rows(field("x")?, "x")?
                .iter()
                .map(|v| float(v, "x"))
                .collect::<Result<_, _>>()?,
            y: rows(field("y")?, "y")?
                .iter()
                .map(|v| int(v, "y"))
                .collect::<Result<_, _>>()?,
            coords: rows(field("coords")?, "coords")?
                .iter()
                .map(|v| int(v, "coords"))
                .collect::<Result<_, _>>()?,
            src: idx(&ei[0])?,
            dst: idx(&ei[1])?,
            edge_attr: rows(field("edge_attr")?, "edge_attr")?
                .iter()
                .map(|v| float(v, "edge_attr"))
                .collect::<Result<_, _>>()?,
            edge_weight: rows(field("edge_weight")?, "edge_weight")?
                .iter()
                .map(|v| float(v, "edge_weight"))
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(graphs)
}

/// The schema and graphs of one golden `graphs_*.json` file, failing the test when it is missing.
pub fn golden_graphs(file_name: &str) -> (crate::Schema, Vec<crate::Graph>) {
    let p = golden(file_name);
    let text = std::fs::read_to_string(&p).expect("golden file readable");
    let graphs = graphs_from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (golden_schema(file_name), graphs)
}

/// Writes `graphs` as a complete stream file at `path` (provenance "test"), panicking on failure.
pub fn write_stream_file(path: &Path, schema: &crate::Schema, graphs: &[crate::Graph]) {
    let out = crate::Output::create(path.to_str().expect("UTF-8 test path")).unwrap();
    let mut w = crate::StreamWriter::new(out, schema.clone(), "test").unwrap();
    for g in graphs {
        w.write(g).unwrap();
    }
    w.finish().unwrap().commit().unwrap();
}
