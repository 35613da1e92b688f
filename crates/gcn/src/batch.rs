//! A mini-batch of graphs merged into one disconnected graph, with the GCN propagation matrix.

use nextgnn_stream::Graph;
use std::sync::Arc;

/// A sparse matrix in compressed-row form: row `i` sums `coef[k] * input[col[k]]` for k in `ptr[i]..ptr[i+1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    /// Row count (output nodes).
    pub rows: usize,
    /// Column count (input nodes).
    pub cols: usize,
    /// Row start offsets, `rows + 1` entries.
    pub ptr: Vec<usize>,
    /// Column index of every entry.
    pub col: Vec<u32>,
    /// Value of every entry.
    pub coef: Vec<f32>,
}

impl Csr {
    /// The transposed matrix; entries of each row keep ascending source order, so sums are deterministic.
    pub fn transpose(&self) -> Csr {
        let mut count = vec![0usize; self.cols + 1];
        for &c in &self.col {
            count[c as usize + 1] += 1;
        }
        for i in 0..self.cols {
            count[i + 1] += count[i];
        }
        let ptr = count.clone();
        let mut next = count;
        let mut col = vec![0u32; self.col.len()];
        let mut coef = vec![0f32; self.col.len()];
        for r in 0..self.rows {
            for k in self.ptr[r]..self.ptr[r + 1] {
                let c = self.col[k] as usize;
                col[next[c]] = r as u32;
                coef[next[c]] = self.coef[k];
                next[c] += 1;
            }
        }
        Csr {
            rows: self.cols,
            cols: self.rows,
            ptr,
            col,
            coef,
        }
    }

    /// Largest number of entries in one row.
    pub fn max_row_len(&self) -> usize {
        (0..self.rows)
            .map(|r| self.ptr[r + 1] - self.ptr[r])
            .max()
            .unwrap_or(0)
    }
}

/// The symmetric-normalised GCN propagation matrix Â = D^-1/2 (A + I) D^-1/2 of PyG's `GCNConv`.
///
/// deg_i = 1 + Σ weights of edges into i; entry (i, j) for an edge j→i is w / √(deg_i·deg_j);
/// the self loop of i is 1/deg_i. Edges are read per target in their stream order, then the self loop.
#[derive(Debug, Clone)]
pub struct Propagation {
    /// Â, rows = targets.
    pub fwd: Csr,
    /// Âᵀ, used by the backward pass.
    pub bwd: Csr,
}

/// Graphs merged into one block-diagonal graph, nodes of graph g contiguous.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Total nodes N.
    pub num_nodes: usize,
    /// Feature count F.
    pub num_features: usize,
    /// Node features [N, F].
    pub x: Vec<f32>,
    /// Node range of graph g: `offsets[g]..offsets[g+1]`.
    pub offsets: Vec<usize>,
    /// Graph class per graph (binclass).
    pub graph_labels: Vec<i64>,
    /// Node class per node; empty when the graphs carry no node labels.
    pub node_labels: Vec<i64>,
    /// The propagation matrix shared by every convolution of the batch.
    pub prop: Arc<Propagation>,
}

/// The parts of one graph that a batch is built from.
pub trait BatchGraph {
    /// Node count.
    fn num_nodes(&self) -> usize;
    /// Node features [N, F].
    fn x(&self) -> &[f32];
    /// Graph class.
    fn binclass(&self) -> i64;
    /// Whether every node carries a label.
    fn has_labels(&self) -> bool;
    /// Appends the node labels to `out` (only called when [`BatchGraph::has_labels`]).
    fn push_labels(&self, out: &mut Vec<i64>);
    /// Edge count.
    fn num_edges(&self) -> usize;
    /// Source, target and weight of edge `k`.
    fn edge(&self, k: usize) -> (usize, usize, f32);
}

impl BatchGraph for &Graph {
    fn num_nodes(&self) -> usize {
        self.num_nodes
    }
    fn x(&self) -> &[f32] {
        &self.x
    }
    fn binclass(&self) -> i64 {
        self.binclass
    }
    fn has_labels(&self) -> bool {
        self.y.len() == self.num_nodes
    }
    fn push_labels(&self, out: &mut Vec<i64>) {
        out.extend_from_slice(&self.y);
    }
    fn num_edges(&self) -> usize {
        self.src.len()
    }
    fn edge(&self, k: usize) -> (usize, usize, f32) {
        (self.src[k] as usize, self.dst[k] as usize, weight(self, k))
    }
}

impl Batch {
    /// Merges `graphs` (each already validated against a schema with `nfeat` features).
    pub fn new(graphs: &[&Graph], nfeat: usize) -> Batch {
        Batch::assemble(graphs, nfeat)
    }

    /// Merges graphs of any representation (each already validated, with `nfeat` features).
    pub fn assemble<G: BatchGraph>(graphs: &[G], nfeat: usize) -> Batch {
        let n: usize = graphs.iter().map(|g| g.num_nodes()).sum();
        let e: usize = graphs.iter().map(|g| g.num_edges()).sum();
        let mut x = Vec::with_capacity(n * nfeat);
        let mut offsets = Vec::with_capacity(graphs.len() + 1);
        let mut graph_labels = Vec::with_capacity(graphs.len());
        let labelled = graphs.iter().all(|g| g.has_labels());
        let mut node_labels = Vec::with_capacity(if labelled { n } else { 0 });
        let mut deg = vec![1f64; n];
        // Incoming edges grouped per target node.
        let mut in_count = vec![0usize; n + 1];
        let mut off = 0usize;
        offsets.push(0);
        for g in graphs {
            x.extend_from_slice(g.x());
            graph_labels.push(g.binclass());
            if labelled {
                g.push_labels(&mut node_labels);
            }
            for k in 0..g.num_edges() {
                let (_, d, w) = g.edge(k);
                let d = off + d;
                deg[d] += w as f64;
                in_count[d + 1] += 1;
            }
            off += g.num_nodes();
            offsets.push(off);
        }
        let dis: Vec<f32> = deg.iter().map(|&d| (d as f32).powf(-0.5)).collect();
        // Row i holds its incoming edges then its self loop.
        let mut ptr = vec![0usize; n + 1];
        for i in 0..n {
            ptr[i + 1] = ptr[i] + in_count[i + 1] + 1;
        }
        let mut next: Vec<usize> = ptr[..n].to_vec();
        let mut col = vec![0u32; e + n];
        let mut coef = vec![0f32; e + n];
        let mut base = 0usize;
        for g in graphs {
            for k in 0..g.num_edges() {
                let (s, d, w) = g.edge(k);
                let (s, d) = (base + s, base + d);
                col[next[d]] = s as u32;
                // Same float32 arithmetic as PyG's gcn_norm: deg^-1/2 per node, then w * a * b.
                coef[next[d]] = dis[s] * w * dis[d];
                next[d] += 1;
            }
            base += g.num_nodes();
        }
        for i in 0..n {
            col[next[i]] = i as u32;
            coef[next[i]] = dis[i] * dis[i];
        }
        let fwd = Csr {
            rows: n,
            cols: n,
            ptr,
            col,
            coef,
        };
        let bwd = fwd.transpose();
        Batch {
            num_nodes: n,
            num_features: nfeat,
            x,
            offsets,
            graph_labels,
            node_labels,
            prop: Arc::new(Propagation { fwd, bwd }),
        }
    }

    /// Number of graphs.
    pub fn num_graphs(&self) -> usize {
        self.offsets.len() - 1
    }
}

fn weight(g: &Graph, k: usize) -> f32 {
    if g.edge_weight.is_empty() {
        1.0
    } else {
        g.edge_weight[k]
    }
}
