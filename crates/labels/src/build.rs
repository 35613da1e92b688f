//! One event's voxels to one graph, following the NEXT_GRAPHS reference rules.
//!
//! See `docs/VOXEL2GRAPH.md` for the rules, the edge order and every difference from the
//! reference.

use crate::neighbours::{self, Lists, Point};
use anyhow::{bail, Result};
use nextgnn_stream::Graph;
use std::collections::HashMap;

/// How edges are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeMode {
    /// The 26 lattice neighbours (distance <= sqrt 3), the reference's `classic`.
    Classic,
    /// The k nearest neighbours of every node (union, made undirected).
    Knn,
    /// Every pair of nodes.
    All,
    /// Edges of the 3-D Delaunay triangulation.
    Delaunay,
}

/// What to do with two voxels at the same coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Fail with an error naming the event and rows (the reference raises too).
    Error,
    /// Merge them into one node (features summed, label of the more energetic).
    Merge,
    /// Skip the event.
    Skip,
}

/// Graph construction settings (the reference's configuration keys).
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// Edge construction.
    pub edges: EdgeMode,
    /// Neighbours per node in kNN mode (`num_neigh`).
    pub k: usize,
    /// Largest accepted neighbour distance in kNN mode.
    pub max_dist: f64,
    /// One direction per accepted neighbour instead of both.
    pub directed: bool,
    /// Divide each feature column by its event sum.
    pub norm: bool,
    /// Append the two cloud features.
    pub cloud_info: bool,
    /// Map segclass 1..7 to 1..4 before labelling.
    pub simplify_segclass: bool,
    /// Duplicate voxel policy.
    pub on_duplicate: OnDuplicate,
    /// Segclass value of class 0 (1 for MCVoxels, 0 for the old Voxels format).
    pub segclass_base: i64,
    /// Node classes; labels must lie in 0..num_classes.
    pub num_classes: u32,
    /// Feature column names, for messages.
    pub feature_names: Vec<String>,
    /// Label column name, for messages.
    pub label_name: String,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            edges: EdgeMode::Knn,
            k: 6,
            max_dist: f64::INFINITY,
            directed: false,
            norm: true,
            cloud_info: false,
            simplify_segclass: false,
            on_duplicate: OnDuplicate::Error,
            segclass_base: 1,
            num_classes: 3,
            feature_names: vec!["ener".into(), "nhits".into()],
            label_name: "segclass".into(),
        }
    }
}

/// Columns the cloud features need: `ener`, `nhits`, `cloud_ener` and the `cloud` label per voxel.
#[derive(Debug, Clone, Default)]
pub struct CloudColumns {
    /// Voxel energy (`ener`).
    pub ener: Vec<f64>,
    /// Voxel hit count (`nhits`).
    pub nhits: Vec<f64>,
    /// Energy of the voxel's cloud (`cloud_ener`).
    pub cloud_ener: Vec<f64>,
    /// Cloud label per voxel, as an id unique within the event.
    pub cloud: Vec<u32>,
}

/// One event's voxels as read from the table, in table order.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// Group key (`dataset_id`).
    pub dataset_id: i64,
    /// First value of the event's `binclass`.
    pub binclass: i64,
    /// Coordinates as stored, padded with zeros to three.
    pub points: Vec<Point>,
    /// Number of coordinate columns actually used (1..=3).
    pub ncoords: usize,
    /// Feature columns, one vector per feature.
    pub features: Vec<Vec<f64>>,
    /// Raw label column (segclass); empty when unlabelled.
    pub labels: Vec<i64>,
    /// Cloud columns when cloud features are asked for.
    pub cloud: Option<CloudColumns>,
    /// Table row of each voxel, for messages.
    pub rows: Vec<u64>,
}

/// Why an event gave no graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The graph has no edges (the reference drops it too).
    NoEdges,
    /// A duplicate voxel with `--on-duplicate skip`.
    Duplicate,
    /// The Delaunay triangulation does not exist (fewer than 4 points, or all coplanar).
    Degenerate,
}

impl SkipReason {
    /// Short description for the summary line.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NoEdges => "no edges",
            SkipReason::Duplicate => "duplicate voxel",
            SkipReason::Degenerate => "no Delaunay triangulation",
        }
    }
}

/// Result of building one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A graph to write.
    Graph(Graph),
    /// The event gives no graph, and why.
    Skipped(SkipReason),
}

/// The simplification of reconstruction labels: 1..3 kept, 4..6 folded onto 1..3, 7 -> 4.
pub fn simplify_segclass(s: i64) -> Option<i64> {
    match s {
        1 | 4 => Some(1),
        2 | 5 => Some(2),
        3 | 6 => Some(3),
        7 => Some(4),
        _ => None,
    }
}

/// The sum numpy computes for a contiguous float64 array (pairwise, 8-way unrolled blocks of 128).
///
/// Normalisation divides by this sum; using numpy's order keeps features bit-identical to the
/// reference for events of any size, not only those where the order happens not to matter.
pub fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut r = -0.0;
        for &v in a {
            r += v;
        }
        r
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        numpy_sum(&a[..n2]) + numpy_sum(&a[n2..])
    }
}

/// Per-thread buffers reused from event to event, so that building allocates only the graph.
#[derive(Default)]
struct Scratch {
    nb: neighbours::Scratch,
    lists: Lists,
    emit: EmitScratch,
    edges: Vec<(u32, u32, i64)>,
    first: Vec<f64>,
    per_cloud: Vec<f64>,
    /// (d, d as f32, 1/d as f32) for small squared distances d², filled on first use.
    dist: Vec<(f64, f32, f32)>,
}

/// Squared distances below this have their square root and weight looked up, not computed.
const DIST_TABLE: usize = 64;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Builds the event's graph, or says why there is none; errors name the row and column.
pub fn build_graph(ev: &Event, cfg: &BuildConfig, fnum: i64) -> Result<Outcome> {
    build_graph_reusing(ev, cfg, fnum, Graph::default())
}

/// [`build_graph`] filling the buffers of `spare`, a graph no longer needed, instead of new ones.
pub fn build_graph_reusing(
    ev: &Event,
    cfg: &BuildConfig,
    fnum: i64,
    spare: Graph,
) -> Result<Outcome> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => build_with(ev, cfg, fnum, &mut s, spare),
        // Only reachable if building re-entered itself on this thread; fresh buffers then.
        Err(_) => build_with(ev, cfg, fnum, &mut Scratch::default(), spare),
    })
}

/// Finds the neighbour lists the edge mode needs (into `s.lists`, for classic and knn) and the
/// first duplicate pair; lists are only meaningful when there is no duplicate.
fn neighbour_stage(points: &[Point], cfg: &BuildConfig, s: &mut Scratch) -> Option<(u32, u32)> {
    match cfg.edges {
        EdgeMode::Classic => {
            if let Some(dup) = neighbours::classic_small(points, &mut s.nb, &mut s.lists) {
                return dup;
            }
            let (map, dup) = neighbours::grid(points);
            if dup.is_none() {
                s.lists = neighbours::classic(points, &map);
            }
            dup
        }
        EdgeMode::Knn => {
            if let Some(dup) =
                neighbours::knn_small(points, cfg.k, cfg.max_dist, &mut s.nb, &mut s.lists)
            {
                return dup;
            }
            let (_, dup) = neighbours::grid(points);
            if dup.is_none() {
                s.lists = neighbours::knn(points, cfg.k, cfg.max_dist);
            }
            dup
        }
        EdgeMode::All | EdgeMode::Delaunay => neighbours::grid(points).1,
    }
}

fn build_with(
    ev: &Event,
    cfg: &BuildConfig,
    fnum: i64,
    s: &mut Scratch,
    spare: Graph,
) -> Result<Outcome> {
    check_finite(ev, cfg)?;
    let dup = neighbour_stage(&ev.points, cfg, s);
    let merged;
    let ev = match dup {
        None => ev,
        Some((a, b)) => match cfg.on_duplicate {
            OnDuplicate::Skip => return Ok(Outcome::Skipped(SkipReason::Duplicate)),
            OnDuplicate::Error => {
                let p = &ev.points[a as usize][..ev.ncoords];
                bail!(
                    "duplicate voxel at {p:?}: rows {} and {} (distance 0; the reference fails here too; \
                     use --on-duplicate merge or skip)",
                    ev.rows[a as usize],
                    ev.rows[b as usize]
                );
            }
            OnDuplicate::Merge => {
                merged = merge_duplicates(ev);
                neighbour_stage(&merged.points, cfg, s);
                &merged
            }
        },
    };
    let n = ev.points.len();
    let mut g = spare;
    labels(ev, cfg, &mut g.y)?;

    // Node features: each column over its event sum in f64, then rounded to f32.
    let nf = ev.features.len();
    let ncloud = if ev.cloud.is_some() { 2 } else { 0 };
    let width = nf + ncloud;
    g.x.clear();
    g.x.resize(n * width, 0.0);
    let x = &mut g.x;
    for (f, col) in ev.features.iter().enumerate() {
        let sum = if cfg.norm {
            let sum = numpy_sum(col);
            if sum == 0.0 {
                bail!(
                    "column {} sums to 0 over the event, so it cannot be normalised (use --no-norm)",
                    cfg.feature_names[f]
                );
            }
            Some(sum)
        } else {
            None
        };
        if f == 0 {
            s.first.clear();
        }
        for (i, &v) in col.iter().enumerate() {
            let v = sum.map_or(v, |sum| v / sum);
            x[i * width + f] = v as f32;
            if f == 0 {
                s.first.push(v);
            }
        }
    }
    if let Some(c) = &ev.cloud {
        let se = numpy_sum(&c.ener);
        let sn = numpy_sum(&c.nhits);
        if se == 0.0 || sn == 0.0 {
            let col = if se == 0.0 { "ener" } else { "nhits" };
            bail!(
                "column {col} sums to 0 over the event, so the cloud fractions cannot be computed"
            );
        }
        // Cloud ids are dense (numbered in order of appearance), so a vector holds the sums;
        // each sum adds the voxels in row order, as the reference's groupby does.
        let ncl = c.cloud.iter().map(|&cl| cl as usize + 1).max().unwrap_or(0);
        s.per_cloud.clear();
        s.per_cloud.resize(ncl, 0.0);
        for (&cl, &nh) in c.cloud.iter().zip(&c.nhits) {
            s.per_cloud[cl as usize] += nh;
        }
        for i in 0..n {
            x[i * width + nf] = (c.cloud_ener[i] / se) as f32;
            x[i * width + nf + 1] = (s.per_cloud[c.cloud[i] as usize] / sn) as f32;
        }
    }

    s.edges.clear();
    match cfg.edges {
        EdgeMode::Classic | EdgeMode::Knn => {
            emit_reference_order_into(&s.lists, cfg.directed, &mut s.emit, &mut s.edges)
        }
        EdgeMode::All => emit_sorted_pairs(&all_pairs(&ev.points), cfg.directed, &mut s.edges),
        EdgeMode::Delaunay => match crate::delaunay::edges(&ev.points, ev.ncoords)? {
            Some(p) => emit_sorted_pairs(&p, cfg.directed, &mut s.edges),
            None => return Ok(Outcome::Skipped(SkipReason::Degenerate)),
        },
    }
    if s.edges.is_empty() {
        return Ok(Outcome::Skipped(SkipReason::NoEdges));
    }
    g.fnum = fnum;
    g.dataset_id = ev.dataset_id;
    g.binclass = ev.binclass;
    g.num_nodes = n;
    g.coords.clear();
    g.src.clear();
    g.dst.clear();
    g.edge_attr.clear();
    g.edge_weight.clear();
    for p in &ev.points {
        g.coords.extend_from_slice(&p[..ev.ncoords]);
    }
    if s.dist.is_empty() {
        s.dist = (0..DIST_TABLE)
            .map(|d2| {
                let d = (d2 as f64).sqrt();
                (d, d as f32, (1.0 / d) as f32)
            })
            .collect();
    }
    let (first, dist) = (&s.first, &s.dist);
    let ne = s.edges.len();
    g.src.extend(s.edges.iter().map(|e| e.0));
    g.dst.extend(s.edges.iter().map(|e| e.1));
    g.edge_attr.resize(2 * ne, 0.0);
    g.edge_weight.resize(ne, 0.0);
    // Both directions of an edge come out next to each other with equal values: compute once.
    let mut prev = (u32::MAX, u32::MAX, 0i64, [0f32; 3]);
    for ((&(a, b, d2), attr), w) in s
        .edges
        .iter()
        .zip(g.edge_attr.chunks_exact_mut(2))
        .zip(&mut g.edge_weight)
    {
        let vals = if (b, a, d2) == (prev.0, prev.1, prev.2) {
            prev.3
        } else {
            // The reference's distance is scipy's sqrt of the squared distance in f64; for
            // integer coordinates that is sqrt of an exact integer, so every value below is
            // bit-identical (the table holds the same expressions).
            let (d, d32, w32) = match dist.get(d2 as usize) {
                Some(&v) => v,
                None => {
                    let d = (d2 as f64).sqrt();
                    (d, d as f32, (1.0 / d) as f32)
                }
            };
            let grad = (first[a as usize] - first[b as usize]).abs() / d;
            [d32, grad as f32, w32]
        };
        prev = (a, b, d2, vals);
        attr[0] = vals[0];
        attr[1] = vals[1];
        *w = vals[2];
    }
    Ok(Outcome::Graph(g))
}

fn check_finite(ev: &Event, cfg: &BuildConfig) -> Result<()> {
    let bad = |v: f64| {
        if v.is_nan() {
            Some("NaN")
        } else if v.is_infinite() {
            Some("infinite")
        } else {
            None
        }
    };
    for (f, col) in ev.features.iter().enumerate() {
        if let Some((i, what)) = col
            .iter()
            .enumerate()
            .find_map(|(i, &v)| bad(v).map(|w| (i, w)))
        {
            bail!(
                "row {}: column {} is {what}",
                ev.rows[i],
                cfg.feature_names[f]
            );
        }
    }
    if let Some(c) = &ev.cloud {
        for (name, col) in [
            ("ener", &c.ener),
            ("nhits", &c.nhits),
            ("cloud_ener", &c.cloud_ener),
        ] {
            if let Some((i, what)) = col
                .iter()
                .enumerate()
                .find_map(|(i, &v)| bad(v).map(|w| (i, w)))
            {
                bail!("row {}: column {name} is {what}", ev.rows[i]);
            }
        }
    }
    Ok(())
}

fn labels(ev: &Event, cfg: &BuildConfig, y: &mut Vec<i64>) -> Result<()> {
    y.clear();
    for (i, &s) in ev.labels.iter().enumerate() {
        let s2 = if cfg.simplify_segclass {
            match simplify_segclass(s) {
                Some(v) => v,
                None => bail!(
                    "row {}: {} {s} is outside 1..7, which --simplify-segclass maps",
                    ev.rows[i],
                    cfg.label_name
                ),
            }
        } else {
            s
        };
        let v = s2 - cfg.segclass_base;
        if v < 0 || v >= cfg.num_classes as i64 {
            bail!(
                "row {}: {} {s} gives class {v}, outside 0..{} (segclass base {}; see --segclass-base and --num-classes)",
                ev.rows[i],
                cfg.label_name,
                cfg.num_classes,
                cfg.segclass_base
            );
        }
        y.push(v);
    }
    Ok(())
}

/// Merges voxels with equal coordinates into the first one: features and cloud columns summed
/// where additive (ener, nhits), label and cloud of the row with the largest first feature.
fn merge_duplicates(ev: &Event) -> Event {
    let mut out = Event {
        dataset_id: ev.dataset_id,
        binclass: ev.binclass,
        ncoords: ev.ncoords,
        features: vec![Vec::new(); ev.features.len()],
        cloud: ev.cloud.as_ref().map(|_| CloudColumns::default()),
        ..Default::default()
    };
    let mut at: HashMap<Point, usize> = HashMap::new();
    // Largest first-feature value seen for each kept node, to pick its label.
    let mut lead: Vec<f64> = Vec::new();
    for i in 0..ev.points.len() {
        let lead_i = ev.features.first().map_or(0.0, |c| c[i]);
        if let Some(&k) = at.get(&ev.points[i]) {
            for (f, col) in ev.features.iter().enumerate() {
                out.features[f][k] += col[i];
            }
            if let (Some(src), Some(dst)) = (&ev.cloud, &mut out.cloud) {
                dst.ener[k] += src.ener[i];
                dst.nhits[k] += src.nhits[i];
            }
            if lead_i > lead[k] {
                lead[k] = lead_i;
                if !ev.labels.is_empty() {
                    out.labels[k] = ev.labels[i];
                }
                if let (Some(src), Some(dst)) = (&ev.cloud, &mut out.cloud) {
                    dst.cloud[k] = src.cloud[i];
                    dst.cloud_ener[k] = src.cloud_ener[i];
                }
            }
            continue;
        }
        at.insert(ev.points[i], out.points.len());
        out.points.push(ev.points[i]);
        out.rows.push(ev.rows[i]);
        lead.push(lead_i);
        for (f, col) in ev.features.iter().enumerate() {
            out.features[f].push(col[i]);
        }
        if !ev.labels.is_empty() {
            out.labels.push(ev.labels[i]);
        }
        if let (Some(src), Some(dst)) = (&ev.cloud, &mut out.cloud) {
            dst.ener.push(src.ener[i]);
            dst.nhits.push(src.nhits[i]);
            dst.cloud_ener.push(src.cloud_ener[i]);
            dst.cloud.push(src.cloud[i]);
        }
    }
    out
}

fn all_pairs(points: &[Point]) -> Vec<(u32, u32, i64)> {
    let n = points.len();
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for a in 0..n {
        for b in a + 1..n {
            out.push((
                a as u32,
                b as u32,
                neighbours::dist2(&points[a], &points[b]),
            ));
        }
    }
    out
}

/// Pairs a < b in ascending order: (a, b), (b, a) each, or (a, b) only when directed.
fn emit_sorted_pairs(pairs: &[(u32, u32, i64)], directed: bool, out: &mut Vec<(u32, u32, i64)>) {
    out.reserve(pairs.len() * if directed { 1 } else { 2 });
    for &(a, b, d2) in pairs {
        out.push((a, b, d2));
        if !directed {
            out.push((b, a, d2));
        }
    }
}

/// Emits edges in the order the reference's insertion-ordered graph gives, for these neighbour lists.
///
/// Nodes 0..N add an edge to each accepted neighbour in list order (an existing edge is kept
/// where it is); a node joins the node list the first time it takes part in an edge, the querying
/// node before the neighbour, and keeps its neighbours in the order its edges were added. The
/// walk then visits the node list and, for each neighbour not visited yet as a node, emits
/// (a, b) then (b, a). Directed: each node's own accepted neighbours, (a, b) only, same walk.
pub fn emit_reference_order(lists: &Lists, directed: bool) -> Vec<(u32, u32, i64)> {
    let mut out = Vec::new();
    emit_reference_order_into(lists, directed, &mut EmitScratch::default(), &mut out);
    out
}

/// Buffers of [`emit_reference_order_into`], reused between events.
#[derive(Debug, Default)]
pub struct EmitScratch {
    added: Vec<(u32, u32, i64)>,
    /// Per added edge: the node-list rank it sorts by, times two, plus one when flipped.
    keys: Vec<u32>,
    rank: Vec<u32>,
    start: Vec<u32>,
}

/// [`emit_reference_order`] appending to `out`, with reusable buffers.
///
/// The walk emits each edge exactly once, at whichever of its two nodes comes first in the
/// node list (when the later one is walked, the earlier is already marked), and a node's edges
/// in the order they were added. So the output is the added edges stably sorted by the node-list
/// rank of that endpoint, which a counting sort gives in O(N + E). Directed: by the source's rank.
pub fn emit_reference_order_into(
    lists: &Lists,
    directed: bool,
    s: &mut EmitScratch,
    out: &mut Vec<(u32, u32, i64)>,
) {
    let n = lists.len();
    // One pass adds the edges in order, ranks the nodes and counts the sort keys: ranks never
    // change once given, and both ends of an edge have theirs when it is added.
    // {a, b} already exists when a's turn comes exactly when b was processed earlier (b < a)
    // and listed a: lists hold no repeats, so no set is needed.
    // Node-list rank: order of first appearance in an added edge, the querying node first.
    const UNSEEN: u32 = u32::MAX;
    s.added.clear();
    s.keys.clear();
    s.rank.clear();
    s.rank.resize(n, UNSEEN);
    s.start.clear();
    s.start.resize(n + 1, 0);
    let mut next = 0u32;
    for a in 0..n {
        let (lo, hi) = (lists.off[a] as usize, lists.off[a + 1] as usize);
        for p in lo..hi {
            let b = lists.nbr[p];
            if !directed && (b as usize) < a {
                let (blo, bhi) = (
                    lists.off[b as usize] as usize,
                    lists.off[b as usize + 1] as usize,
                );
                if lists.nbr[blo..bhi].contains(&(a as u32)) {
                    continue;
                }
            }
            for v in [a, b as usize] {
                if s.rank[v] == UNSEEN {
                    s.rank[v] = next;
                    next += 1;
                }
            }
            let (ra, rb) = (s.rank[a], s.rank[b as usize]);
            let key = if directed || ra < rb {
                ra << 1
            } else {
                (rb << 1) | 1
            };
            s.added.push((a as u32, b, lists.d2[p]));
            s.keys.push(key);
            s.start[(key >> 1) as usize + 1] += 1;
        }
    }
    for i in 0..next as usize {
        s.start[i + 1] += s.start[i];
    }
    let base = out.len();
    let per = if directed { 1 } else { 2 };
    out.resize(base + per * s.added.len(), (0, 0, 0));
    for (&(a, b, d2), &key) in s.added.iter().zip(&s.keys) {
        let k = (key >> 1) as usize;
        let at = base + per * s.start[k] as usize;
        s.start[k] += 1;
        let (a, b) = if key & 1 == 1 { (b, a) } else { (a, b) };
        out[at] = (a, b, d2);
        if !directed {
            out[at + 1] = (b, a, d2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sum_matches_known_pairwise_results() {
        // Values where sequential and pairwise summation differ in the last bit.
        let v: Vec<f64> = (0..300)
            .map(|i| 0.1 * (i as f64) + 1e-3 / (i as f64 + 1.0))
            .collect();
        let seq: f64 = v.iter().sum();
        let pw = numpy_sum(&v);
        assert!((pw - seq).abs() < 1e-9);
        // Block structure: for n <= 128 the 8 accumulators combine as ((0+1)+(2+3))+((4+5)+(6+7)).
        let w: Vec<f64> = (0..16).map(|i| i as f64).collect();
        assert_eq!(numpy_sum(&w), 120.0);
        assert_eq!(numpy_sum(&[]), 0.0);
        assert_eq!(numpy_sum(&[1.5, 2.5]), 4.0);
    }

    #[test]
    fn simplify_map_is_the_reference_one() {
        let got: Vec<_> = (0..9).map(simplify_segclass).collect();
        assert_eq!(
            got,
            vec![
                None,
                Some(1),
                Some(2),
                Some(3),
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                None
            ]
        );
    }

    fn lists(v: &[&[u32]]) -> Lists {
        let mut l = Lists {
            off: vec![0],
            ..Default::default()
        };
        for row in v {
            for &b in *row {
                l.nbr.push(b);
                l.d2.push(1);
            }
            l.off.push(l.nbr.len() as u32);
        }
        l
    }

    #[test]
    fn reference_order_walks_first_touched_nodes() {
        // 0 - 2, 0 - 1, 1 - 3; node 2 enters the node list before node 1.
        let l = lists(&[&[2, 1], &[0, 3], &[0], &[1]]);
        let e: Vec<(u32, u32)> = emit_reference_order(&l, false)
            .iter()
            .map(|&(a, b, _)| (a, b))
            .collect();
        assert_eq!(e, vec![(0, 2), (2, 0), (0, 1), (1, 0), (1, 3), (3, 1)]);
        let d: Vec<(u32, u32)> = emit_reference_order(&l, true)
            .iter()
            .map(|&(a, b, _)| (a, b))
            .collect();
        assert_eq!(d, vec![(0, 2), (0, 1), (2, 0), (1, 0), (1, 3), (3, 1)]);
    }

    fn event(points: Vec<Point>, ener: Vec<f64>) -> Event {
        let n = points.len();
        Event {
            dataset_id: 7,
            binclass: 1,
            ncoords: 3,
            features: vec![ener, vec![1.0; n]],
            labels: vec![1; n],
            rows: (0..n as u64).collect(),
            points,
            cloud: None,
        }
    }

    #[test]
    fn knn_with_fewer_nodes_than_k_connects_all() {
        let ev = event(vec![[0, 0, 0], [5, 0, 0], [0, 9, 0]], vec![1.0, 2.0, 3.0]);
        let Outcome::Graph(g) = build_graph(&ev, &BuildConfig::default(), 3).unwrap() else {
            panic!("expected a graph")
        };
        assert_eq!(g.num_edges(), 6);
        assert_eq!(g.fnum, 3);
        assert_eq!((g.src[0], g.dst[0]), (0, 1));
        assert_eq!(g.edge_attr[0], 5.0);
        assert_eq!(
            g.edge_attr[1],
            ((1.0f64 / 6.0 - 2.0 / 6.0).abs() / 5.0) as f32
        );
        assert_eq!(g.edge_weight[0], 0.2f32);
    }

    #[test]
    fn duplicates_error_skip_and_merge() {
        let ev = event(vec![[0, 0, 0], [1, 0, 0], [0, 0, 0]], vec![1.0, 2.0, 3.0]);
        let mut cfg = BuildConfig {
            edges: EdgeMode::Classic,
            ..Default::default()
        };
        let err = build_graph(&ev, &cfg, 0).unwrap_err().to_string();
        assert!(err.contains("rows 0 and 2"), "{err}");
        cfg.on_duplicate = OnDuplicate::Skip;
        assert_eq!(
            build_graph(&ev, &cfg, 0).unwrap(),
            Outcome::Skipped(SkipReason::Duplicate)
        );
        cfg.on_duplicate = OnDuplicate::Merge;
        let Outcome::Graph(g) = build_graph(&ev, &cfg, 0).unwrap() else {
            panic!()
        };
        assert_eq!(g.num_nodes, 2);
        // Energies 1 + 3 merged over a total of 6.
        assert_eq!(g.x[0], (4.0f64 / 6.0) as f32);
        assert_eq!(g.x[1], (2.0f64 / 3.0) as f32);
    }

    #[test]
    fn isolated_voxels_give_no_graph_and_bad_values_fail() {
        let ev = event(vec![[0, 0, 0], [5, 0, 0]], vec![1.0, 2.0]);
        let cfg = BuildConfig {
            edges: EdgeMode::Classic,
            ..Default::default()
        };
        assert_eq!(
            build_graph(&ev, &cfg, 0).unwrap(),
            Outcome::Skipped(SkipReason::NoEdges)
        );
        let nan = event(vec![[0, 0, 0], [1, 0, 0]], vec![1.0, f64::NAN]);
        let err = build_graph(&nan, &cfg, 0).unwrap_err().to_string();
        assert_eq!(err, "row 1: column ener is NaN");
        let zero = event(vec![[0, 0, 0], [1, 0, 0]], vec![0.0, 0.0]);
        let err = build_graph(&zero, &cfg, 0).unwrap_err().to_string();
        assert!(err.contains("column ener sums to 0"), "{err}");
    }
}
