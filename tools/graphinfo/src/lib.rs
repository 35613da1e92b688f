//! graphinfo: summaries, one-graph views and validation of graph streams.

use anyhow::{bail, Context};
use nextgnn_stream::{open_streams, progress_bytes, Graph, Schema};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Which graph to pick out of the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// The N-th graph (0-based) over all inputs in order.
    Index(u64),
    /// The first graph with this (fnum, dataset_id).
    Id(i64, i64),
}

/// Parses `FNUM:DATASET_ID`.
pub fn parse_id(s: &str) -> anyhow::Result<Selector> {
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("--id {s}: expected FNUM:DATASET_ID, e.g. 0:12"))?;
    let f = a
        .trim()
        .parse()
        .with_context(|| format!("--id {s}: fnum {a:?} is not an integer"))?;
    let d = b
        .trim()
        .parse()
        .with_context(|| format!("--id {s}: dataset_id {b:?} is not an integer"))?;
    Ok(Selector::Id(f, d))
}

fn input_bytes(inputs: &[String]) -> u64 {
    inputs
        .iter()
        .filter(|p| *p != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Finds one graph without decoding the others (only their identity fields are read).
pub fn select_graph(inputs: &[String], sel: Selector) -> anyhow::Result<(Schema, Graph)> {
    let (schema, readers) = open_streams(inputs)?;
    let mut seen = 0u64;
    for mut r in readers {
        while let Some(f) = r.next_raw()? {
            let hit = match sel {
                Selector::Index(n) => seen == n,
                Selector::Id(fnum, id) => {
                    let ids = f.ids().map_err(|e| r.frame_error(e))?;
                    ids.fnum == fnum && ids.dataset_id == id
                }
            };
            seen += 1;
            if hit {
                let g = f.decode(&schema).map_err(|e| r.frame_error(e))?;
                return Ok((schema, g));
            }
        }
    }
    match sel {
        Selector::Index(n) => {
            bail!("--show {n}: the inputs hold only {seen} graphs (numbered from 0)")
        }
        Selector::Id(f, d) => {
            bail!("--id {f}:{d}: no graph with fnum {f} and dataset_id {d} among {seen} graphs")
        }
    }
}

/// One line in the style of PyG's `Data` repr: shapes of arrays, values of scalars.
pub fn pyg_line(g: &Graph, s: &Schema) -> String {
    let (n, e) = (g.num_nodes, g.num_edges());
    let mut parts = vec![
        format!("x=[{n}, {}]", s.node_features.len()),
        format!("edge_index=[2, {e}]"),
        format!("edge_attr=[{e}, {}]", s.edge_features.len()),
    ];
    if !g.edge_weight.is_empty() || s.edge_features.is_empty() {
        parts.push(format!("edge_weight=[{}]", g.edge_weight.len()));
    }
    if !g.y.is_empty() {
        parts.push(format!("y=[{n}]"));
    }
    parts.push(format!("coords=[{n}, {}]", s.coord_names.len()));
    parts.push(format!("binclass={}", g.binclass));
    parts.push(format!("dataset_id={}", g.dataset_id));
    parts.push(format!("fnum={}", g.fnum));
    format!("Graph({})", parts.join(", "))
}

/// The PyG line, then the first `rows` node rows and edge rows as aligned tables.
pub fn show_text(g: &Graph, s: &Schema, rows: usize) -> String {
    let mut out = pyg_line(g, s);
    out.push('\n');
    let nf = s.node_features.len();
    let nc = s.coord_names.len();
    let mut head = format!("{:>6}", "node");
    for f in &s.node_features {
        let _ = write!(head, " {f:>12}");
    }
    if !g.y.is_empty() {
        let _ = write!(head, " {:>5}", "label");
    }
    for c in &s.coord_names {
        let _ = write!(head, " {c:>6}");
    }
    out.push_str(&head);
    out.push('\n');
    for i in 0..g.num_nodes.min(rows) {
        let _ = write!(out, "{i:>6}");
        for v in &g.x[i * nf..(i + 1) * nf] {
            let _ = write!(out, " {:>12}", fmt_f32(*v));
        }
        if !g.y.is_empty() {
            let _ = write!(out, " {:>5}", g.y[i]);
        }
        for v in &g.coords[i * nc..(i + 1) * nc] {
            let _ = write!(out, " {v:>6}");
        }
        out.push('\n');
    }
    if g.num_nodes > rows {
        let _ = writeln!(out, "{:>6} ({} more nodes)", "...", g.num_nodes - rows);
    }
    let ne = s.edge_features.len();
    let mut head = format!("{:>6} {:>6} {:>6}", "edge", "src", "dst");
    for f in &s.edge_features {
        let _ = write!(head, " {f:>13}");
    }
    if !g.edge_weight.is_empty() {
        let _ = write!(head, " {:>12}", "edge_weight");
    }
    out.push_str(&head);
    out.push('\n');
    for k in 0..g.num_edges().min(rows) {
        let _ = write!(out, "{k:>6} {:>6} {:>6}", g.src[k], g.dst[k]);
        for v in &g.edge_attr[k * ne..(k + 1) * ne] {
            let _ = write!(out, " {:>13}", fmt_f32(*v));
        }
        if !g.edge_weight.is_empty() {
            let _ = write!(out, " {:>12}", fmt_f32(g.edge_weight[k]));
        }
        out.push('\n');
    }
    if g.num_edges() > rows {
        let _ = writeln!(out, "{:>6} ({} more edges)", "...", g.num_edges() - rows);
    }
    out
}

fn fmt_f32(v: f32) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e6) {
        format!("{v:.5e}")
    } else {
        format!("{:.7}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// A whole graph as JSON, in the layout of the reference graph JSON files (x as [N][F], ...).
pub fn graph_json(g: &Graph, s: &Schema) -> Value {
    let rows_f = |v: &[f32], w: usize| -> Value {
        if w == 0 {
            return json!(vec![Vec::<f32>::new(); v.len()]);
        }
        json!(v.chunks(w).map(|c| c.to_vec()).collect::<Vec<_>>())
    };
    let nc = s.coord_names.len().max(1);
    json!({
        "fnum": g.fnum,
        "dataset_id": g.dataset_id,
        "binclass": g.binclass,
        "num_nodes": g.num_nodes,
        "x": if s.node_features.is_empty() { json!(vec![Vec::<f32>::new(); g.num_nodes]) } else { rows_f(&g.x, s.node_features.len()) },
        "y": g.y,
        "coords": g.coords.chunks(nc).map(|c| c.to_vec()).collect::<Vec<_>>(),
        "edge_index": [g.src, g.dst],
        "edge_attr": if s.edge_features.is_empty() { json!(vec![Vec::<f32>::new(); g.num_edges()]) } else { rows_f(&g.edge_attr, s.edge_features.len()) },
        "edge_weight": g.edge_weight,
    })
}

/// Prints one line per graph (PyG style, or JSON shapes) for the first `n` graphs.
pub fn head(inputs: &[String], n: u64, as_json: bool) -> anyhow::Result<String> {
    let (schema, readers) = open_streams(inputs)?;
    let mut out = String::new();
    let mut k = 0;
    'all: for r in readers {
        for g in r {
            if k >= n {
                break 'all;
            }
            let g = g?;
            if as_json {
                let v = json!({
                    "index": k, "fnum": g.fnum, "dataset_id": g.dataset_id, "binclass": g.binclass,
                    "num_nodes": g.num_nodes, "num_edges": g.num_edges(),
                });
                let _ = writeln!(out, "{v}");
            } else {
                let _ = writeln!(out, "{k:>6}  {}", pyg_line(&g, &schema));
            }
            k += 1;
        }
    }
    Ok(out)
}

/// Running min / sum / max of one column.
#[derive(Debug, Clone)]
struct Col {
    min: f64,
    max: f64,
    sum: f64,
    n: u64,
    nonfinite: u64,
}

impl Default for Col {
    fn default() -> Self {
        Col {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            n: 0,
            nonfinite: 0,
        }
    }
}

impl Col {
    fn add(&mut self, v: f64) {
        if !v.is_finite() {
            self.nonfinite += 1;
            return;
        }
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.n += 1;
    }
    fn json(&self, name: &str) -> Value {
        let (min, mean, max) = if self.n == 0 {
            (Value::Null, Value::Null, Value::Null)
        } else {
            (
                json!(self.min),
                json!(self.sum / self.n as f64),
                json!(self.max),
            )
        };
        json!({"name": name, "min": min, "mean": mean, "max": max, "count": self.n, "nonfinite": self.nonfinite})
    }
}

fn dist(v: &mut [u64]) -> Value {
    if v.is_empty() {
        return json!({"min": null, "median": null, "mean": null, "max": null});
    }
    v.sort_unstable();
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    };
    let mean = v.iter().sum::<u64>() as f64 / n as f64;
    json!({"min": v[0], "median": median, "mean": mean, "max": v[n - 1]})
}

/// Reads every graph and returns the summary as JSON (the text view is rendered from it).
pub fn summarize(inputs: &[String]) -> anyhow::Result<Value> {
    let (schema, readers) = open_streams(inputs)?;
    let pb = progress_bytes(input_bytes(inputs), "reading");
    let (mut nodes, mut edges, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    let mut binclass: BTreeMap<i64, u64> = BTreeMap::new();
    let mut yclass: BTreeMap<i64, u64> = BTreeMap::new();
    let mut xcols = vec![Col::default(); schema.node_features.len()];
    let mut ecols = vec![Col::default(); schema.edge_features.len()];
    let mut wcol = Col::default();
    let mut isolated = 0u64;
    let mut per_input = Vec::new();
    let mut provenance = Vec::new();
    let mut total_bytes = 0u64;
    let nf = schema.node_features.len();
    let ne = schema.edge_features.len();
    for (mut r, name) in readers.into_iter().zip(inputs) {
        let mut count = 0u64;
        while let Some(f) = r.next_raw()? {
            let g = f.decode(&schema).map_err(|e| r.frame_error(e))?;
            count += 1;
            pb.inc(f.stored_len() as u64);
            nodes.push(g.num_nodes as u64);
            edges.push(g.num_edges() as u64);
            bytes.push(f.stored_len() as u64);
            *binclass.entry(g.binclass).or_default() += 1;
            for &y in &g.y {
                *yclass.entry(y).or_default() += 1;
            }
            for (i, &v) in g.x.iter().enumerate() {
                xcols[i % nf].add(v as f64);
            }
            for (i, &v) in g.edge_attr.iter().enumerate() {
                ecols[i % ne].add(v as f64);
            }
            for &w in &g.edge_weight {
                wcol.add(w as f64);
            }
            let mut touched = vec![false; g.num_nodes];
            for (&s, &d) in g.src.iter().zip(&g.dst) {
                touched[s as usize] = true;
                touched[d as usize] = true;
            }
            isolated += touched.iter().filter(|t| !**t).count() as u64;
        }
        total_bytes += r.offset();
        per_input.push(json!({"path": name, "graphs": count, "bytes": r.offset()}));
        provenance.extend(r.provenance().iter().cloned());
    }
    pb.finish_and_clear();
    let n = nodes.len() as u64;
    let ylabelled: u64 = yclass.values().sum();
    Ok(json!({
        "inputs": per_input,
        "graphs": n,
        "total_bytes": total_bytes,
        "nodes_per_graph": dist(&mut nodes),
        "edges_per_graph": dist(&mut edges),
        "bytes_per_graph": dist(&mut bytes),
        "isolated_nodes": isolated,
        "binclass": binclass.iter().map(|(k, v)| json!({"class": k, "graphs": v, "fraction": *v as f64 / n.max(1) as f64})).collect::<Vec<_>>(),
        "node_classes": yclass.iter().map(|(k, v)| json!({"class": k, "nodes": v, "fraction": *v as f64 / ylabelled.max(1) as f64})).collect::<Vec<_>>(),
        "node_features": schema.node_features.iter().zip(&xcols).map(|(name, c)| c.json(name)).collect::<Vec<_>>(),
        "edge_features": schema.edge_features.iter().zip(&ecols).map(|(name, c)| c.json(name)).collect::<Vec<_>>(),
        "edge_weight": wcol.json("edge_weight"),
        "schema": {
            "node_features": schema.node_features,
            "edge_features": schema.edge_features,
            "num_node_classes": schema.num_node_classes,
            "has_node_labels": schema.has_node_labels,
            "coord_names": schema.coord_names,
        },
        "provenance": provenance,
    }))
}

fn num(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f != 0.0 && (f.abs() < 1e-3 || f.abs() >= 1e7) {
                format!("{f:.4e}")
            } else {
                let t = format!("{f:.4}");
                t.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
        other => other.to_string(),
    }
}

/// Renders the summary JSON as aligned text.
pub fn summary_text(s: &Value) -> String {
    let mut o = String::new();
    for i in s["inputs"].as_array().into_iter().flatten() {
        let _ = writeln!(
            o,
            "input         {}  ({} graphs, {} bytes)",
            i["path"].as_str().unwrap_or("?"),
            i["graphs"],
            i["bytes"]
        );
    }
    let _ = writeln!(o, "graphs        {}", s["graphs"]);
    for (label, key) in [
        ("nodes/graph", "nodes_per_graph"),
        ("edges/graph", "edges_per_graph"),
        ("bytes/graph", "bytes_per_graph"),
    ] {
        let d = &s[key];
        let _ = writeln!(
            o,
            "{label:<13} min {}  median {}  mean {}  max {}",
            num(&d["min"]),
            num(&d["median"]),
            num(&d["mean"]),
            num(&d["max"])
        );
    }
    let _ = writeln!(
        o,
        "isolated      {} nodes without edges",
        s["isolated_nodes"]
    );
    let classes = |key: &str, count: &str| -> String {
        s[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                format!(
                    "{}: {} ({:.1}%)",
                    c["class"],
                    c[count],
                    100.0 * c["fraction"].as_f64().unwrap_or(0.0)
                )
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(o, "binclass      {}", classes("binclass", "graphs"));
    let _ = writeln!(o, "node classes  {}", classes("node_classes", "nodes"));
    let feats = s["node_features"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| ("x", c));
    let efeats = s["edge_features"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| ("edge_attr", c));
    let cols: Vec<(String, &Value)> = feats
        .chain(efeats)
        .chain(std::iter::once(("", &s["edge_weight"])))
        .map(|(kind, c)| {
            let name = if kind.is_empty() {
                "edge_weight".to_string()
            } else {
                format!("{kind}.{}", c["name"].as_str().unwrap_or("?"))
            };
            (name, c)
        })
        .collect();
    let w = cols.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(13);
    let _ = writeln!(
        o,
        "{:<w$} {:>12} {:>12} {:>12}",
        "feature", "min", "mean", "max"
    );
    for (name, c) in cols {
        let _ = write!(
            o,
            "{name:<w$} {:>12} {:>12} {:>12}",
            num(&c["min"]),
            num(&c["mean"]),
            num(&c["max"])
        );
        if c["nonfinite"].as_u64().unwrap_or(0) > 0 {
            let _ = write!(o, "  ({} NaN/inf)", c["nonfinite"]);
        }
        o.push('\n');
    }
    let sc = &s["schema"];
    let _ = writeln!(
        o,
        "schema        node features {}, edge features {}, {} node classes, node labels {}, coords {}",
        sc["node_features"], sc["edge_features"], sc["num_node_classes"], sc["has_node_labels"], sc["coord_names"]
    );
    for p in s["provenance"].as_array().into_iter().flatten() {
        let _ = writeln!(o, "provenance    {}", p.as_str().unwrap_or(""));
    }
    o
}

/// Decodes and validates every frame of every input; the first fault is the error.
pub fn check(inputs: &[String]) -> anyhow::Result<(u64, u64)> {
    let (schema, readers) = open_streams(inputs)?;
    let pb = progress_bytes(input_bytes(inputs), "checking");
    let (mut graphs, mut bytes) = (0u64, 0u64);
    for mut r in readers {
        while let Some(f) = r.next_raw()? {
            let g = f.decode(&schema).map_err(|e| r.frame_error(e))?;
            // Decoding already validated shapes and indices; re-check against the schema as a writer would.
            g.validate(&schema).map_err(|e| r.frame_error(e))?;
            graphs += 1;
            pb.inc(f.stored_len() as u64);
        }
        bytes += r.offset();
    }
    pb.finish_and_clear();
    Ok((graphs, bytes))
}
