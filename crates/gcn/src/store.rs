//! Graphs held for training in one compact arena: only what the GCN reads.
//!
//! A decoded [`Graph`] also carries voxel coordinates (i64), edge features and i64 labels that
//! training never reads; holding a training stream that way took about 2.6 times its size on
//! disk. The store keeps node features, edge endpoints (local, u16 when a graph has at most
//! 65 536 nodes), edge weights, graph classes and (for segmentation) u8 node labels, in a few
//! flat arrays shared by all graphs.

use crate::batch::BatchGraph;
use anyhow::{ensure, Result};
use nextgnn_stream::Graph;

/// Edge endpoints of the whole store, in the narrowest width that fits every graph.
#[derive(Debug, Clone)]
enum Endpoints {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

/// Many graphs in flat arrays; graph `g` owns nodes `node_off[g]..node_off[g+1]` and edges
/// `edge_off[g]..edge_off[g+1]`.
#[derive(Debug, Clone)]
pub struct GraphStore {
    nfeat: usize,
    keep_labels: bool,
    node_off: Vec<usize>,
    edge_off: Vec<usize>,
    binclass: Vec<i64>,
    x: Vec<f32>,
    y: Vec<u8>,
    /// Sources then targets interleaved: edge k is (ends[2k], ends[2k+1]).
    ends: Endpoints,
    weight: Vec<f32>,
}

impl GraphStore {
    /// An empty store for graphs with `nfeat` features; node labels are kept when `keep_labels`.
    pub fn new(nfeat: usize, keep_labels: bool) -> GraphStore {
        GraphStore {
            nfeat,
            keep_labels,
            node_off: vec![0],
            edge_off: vec![0],
            binclass: Vec::new(),
            x: Vec::new(),
            y: Vec::new(),
            ends: Endpoints::Narrow(Vec::new()),
            weight: Vec::new(),
        }
    }

    /// Builds a store from decoded graphs (already validated).
    pub fn from_graphs<'a>(
        graphs: impl IntoIterator<Item = &'a Graph>,
        nfeat: usize,
        keep_labels: bool,
    ) -> Result<GraphStore> {
        let mut s = GraphStore::new(nfeat, keep_labels);
        for g in graphs {
            s.push(g)?;
        }
        s.shrink();
        Ok(s)
    }

    /// Appends a graph already validated against the schema (labels, if kept, in 0..256).
    pub fn push(&mut self, g: &Graph) -> Result<()> {
        ensure!(
            g.x.len() == g.num_nodes * self.nfeat,
            "graph has {} feature values, expected {} x {}",
            g.x.len(),
            g.num_nodes,
            self.nfeat
        );
        if self.keep_labels {
            ensure!(
                g.y.len() == g.num_nodes,
                "graph has {} node labels for {} nodes",
                g.y.len(),
                g.num_nodes
            );
            for &y in &g.y {
                ensure!(
                    (0..=u8::MAX as i64).contains(&y),
                    "node label {y} outside 0..256"
                );
                self.y.push(y as u8);
            }
        }
        if g.num_nodes > u16::MAX as usize + 1 {
            if let Endpoints::Narrow(v) = &self.ends {
                self.ends = Endpoints::Wide(v.iter().map(|&i| i as u32).collect());
            }
        }
        match &mut self.ends {
            Endpoints::Narrow(v) => {
                for (&s, &d) in g.src.iter().zip(&g.dst) {
                    v.push(s as u16);
                    v.push(d as u16);
                }
            }
            Endpoints::Wide(v) => {
                for (&s, &d) in g.src.iter().zip(&g.dst) {
                    v.push(s);
                    v.push(d);
                }
            }
        }
        if g.edge_weight.is_empty() {
            self.weight.extend(std::iter::repeat_n(1.0, g.src.len()));
        } else {
            self.weight.extend_from_slice(&g.edge_weight);
        }
        self.x.extend_from_slice(&g.x);
        self.binclass.push(g.binclass);
        self.node_off
            .push(self.node_off.last().unwrap() + g.num_nodes);
        self.edge_off
            .push(self.edge_off.last().unwrap() + g.src.len());
        Ok(())
    }

    /// Releases spare capacity once every graph is in.
    pub fn shrink(&mut self) {
        self.node_off.shrink_to_fit();
        self.edge_off.shrink_to_fit();
        self.binclass.shrink_to_fit();
        self.x.shrink_to_fit();
        self.y.shrink_to_fit();
        self.weight.shrink_to_fit();
        match &mut self.ends {
            Endpoints::Narrow(v) => v.shrink_to_fit(),
            Endpoints::Wide(v) => v.shrink_to_fit(),
        }
    }

    /// Number of graphs.
    pub fn len(&self) -> usize {
        self.binclass.len()
    }

    /// True when the store holds no graph.
    pub fn is_empty(&self) -> bool {
        self.binclass.is_empty()
    }

    /// Feature count per node.
    pub fn num_features(&self) -> usize {
        self.nfeat
    }

    /// Graph `g`.
    pub fn get(&self, g: usize) -> StoredGraph<'_> {
        StoredGraph { store: self, g }
    }

    /// Approximate bytes held (for reports and tests).
    pub fn heap_bytes(&self) -> usize {
        let ends = match &self.ends {
            Endpoints::Narrow(v) => v.capacity() * 2,
            Endpoints::Wide(v) => v.capacity() * 4,
        };
        (self.node_off.capacity() + self.edge_off.capacity()) * 8
            + self.binclass.capacity() * 8
            + self.x.capacity() * 4
            + self.y.capacity()
            + ends
            + self.weight.capacity() * 4
    }
}

/// One graph of a [`GraphStore`].
#[derive(Debug, Clone, Copy)]
pub struct StoredGraph<'a> {
    store: &'a GraphStore,
    g: usize,
}

impl StoredGraph<'_> {
    /// Node labels (empty when the store keeps none).
    pub fn labels(&self) -> &[u8] {
        if self.store.keep_labels {
            &self.store.y[self.store.node_off[self.g]..self.store.node_off[self.g + 1]]
        } else {
            &[]
        }
    }
}

impl BatchGraph for StoredGraph<'_> {
    fn num_nodes(&self) -> usize {
        self.store.node_off[self.g + 1] - self.store.node_off[self.g]
    }
    fn x(&self) -> &[f32] {
        let f = self.store.nfeat;
        &self.store.x[self.store.node_off[self.g] * f..self.store.node_off[self.g + 1] * f]
    }
    fn binclass(&self) -> i64 {
        self.store.binclass[self.g]
    }
    fn has_labels(&self) -> bool {
        self.store.keep_labels
    }
    fn push_labels(&self, out: &mut Vec<i64>) {
        out.extend(self.labels().iter().map(|&y| y as i64));
    }
    fn num_edges(&self) -> usize {
        self.store.edge_off[self.g + 1] - self.store.edge_off[self.g]
    }
    fn edge(&self, k: usize) -> (usize, usize, f32) {
        let e = self.store.edge_off[self.g] + k;
        let (s, d) = match &self.store.ends {
            Endpoints::Narrow(v) => (v[2 * e] as usize, v[2 * e + 1] as usize),
            Endpoints::Wide(v) => (v[2 * e] as usize, v[2 * e + 1] as usize),
        };
        (s, d, self.store.weight[e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;

    fn graph(n: usize, edges: &[(u32, u32, f32)], y: Vec<i64>, class: i64) -> Graph {
        Graph {
            binclass: class,
            num_nodes: n,
            x: (0..n * 2).map(|v| v as f32 * 0.5 - 1.0).collect(),
            y,
            coords: vec![7; n * 3],
            src: edges.iter().map(|e| e.0).collect(),
            dst: edges.iter().map(|e| e.1).collect(),
            edge_attr: vec![0.25; edges.len()],
            edge_weight: edges.iter().map(|e| e.2).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn batches_from_the_store_equal_batches_from_graphs() {
        let a = graph(
            3,
            &[(0, 1, 0.5), (1, 0, 0.5), (2, 1, 2.0)],
            vec![0, 2, 1],
            1,
        );
        let b = graph(2, &[(1, 0, 1.5)], vec![1, 1], 0);
        let mut big = graph(70_000, &[(69_999, 0, 0.75), (0, 69_999, 0.75)], vec![], 1);
        big.y = vec![2; 70_000];
        for (graphs, wide) in [(vec![&a, &b], false), (vec![&a, &big, &b], true)] {
            let s = GraphStore::from_graphs(graphs.iter().copied(), 2, true).unwrap();
            assert_eq!(s.len(), graphs.len());
            assert_eq!(matches!(s.ends, Endpoints::Wide(_)), wide);
            let views: Vec<StoredGraph> = (0..s.len()).map(|g| s.get(g)).collect();
            let from_store = Batch::assemble(&views, 2);
            let from_graphs = Batch::new(&graphs, 2);
            assert_eq!(from_store.x, from_graphs.x);
            assert_eq!(from_store.offsets, from_graphs.offsets);
            assert_eq!(from_store.graph_labels, from_graphs.graph_labels);
            assert_eq!(from_store.node_labels, from_graphs.node_labels);
            assert_eq!(from_store.prop.fwd, from_graphs.prop.fwd);
            assert_eq!(from_store.prop.bwd, from_graphs.prop.bwd);
        }
    }

    #[test]
    fn classification_store_drops_labels_and_rejects_wide_labels() {
        let a = graph(3, &[(0, 1, 0.5)], vec![0, 2, 1], 1);
        let s = GraphStore::from_graphs([&a], 2, false).unwrap();
        let v = s.get(0);
        assert!(!v.has_labels());
        assert_eq!(Batch::assemble(&[v], 2).node_labels, Vec::<i64>::new());
        assert_eq!(v.edge(0), (0, 1, 0.5));
        let bad = graph(2, &[], vec![0, 300], 0);
        let e = GraphStore::from_graphs([&bad], 2, true).unwrap_err();
        assert!(e.to_string().contains("300"), "{e}");
    }
}
