//! The one in-memory graph record shared by every nextgnn tool.

use serde::{Deserialize, Serialize};

/// One event as a graph: the same information as the reference `torch_geometric.data.Data`.
///
/// Arrays are flat and row-major so that they can be handed to numeric code without copies.
/// Edges are directed; an undirected graph holds both directions, as PyG does.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Graph {
    /// File number the event came from (reference `fnum`).
    pub fnum: i64,
    /// Event id inside its file (reference `dataset_id`).
    pub dataset_id: i64,
    /// Event class: 1 = signal (0νββ, two blobs), 0 = background (one blob).
    pub binclass: i64,
    /// Number of nodes (voxels), N.
    pub num_nodes: usize,
    /// Node features, [N, F] row-major; F is the schema's feature count.
    pub x: Vec<f32>,
    /// Node class per node, [N]; empty when the stream carries no node labels.
    pub y: Vec<i64>,
    /// Voxel coordinates as stored in the label file, [N, C] row-major (C is usually 3).
    pub coords: Vec<i64>,
    /// Edge sources, [E].
    pub src: Vec<u32>,
    /// Edge targets, [E].
    pub dst: Vec<u32>,
    /// Edge features, [E, G] row-major; G is the schema's edge feature count.
    pub edge_attr: Vec<f32>,
    /// Edge weights, [E]; empty when the stream carries none.
    pub edge_weight: Vec<f32>,
}

impl Graph {
    /// Number of directed edges, E.
    pub fn num_edges(&self) -> usize {
        self.src.len()
    }

    /// Node feature count implied by the arrays (0 for an empty graph).
    pub fn num_features(&self) -> usize {
        self.x.len().checked_div(self.num_nodes).unwrap_or(0)
    }

    /// Row `i` of the node features.
    pub fn x_row(&self, i: usize, nfeat: usize) -> &[f32] {
        &self.x[i * nfeat..(i + 1) * nfeat]
    }

    /// Checks every array against N, E and the schema's widths; the error says which array is wrong.
    pub fn validate(&self, schema: &Schema) -> Result<(), String> {
        let n = self.num_nodes;
        let e = self.src.len();
        let f = schema.node_features.len();
        let g = schema.edge_features.len();
        let c = schema.coord_names.len();
        if self.x.len() != n * f {
            return Err(format!(
                "x has {} values, expected num_nodes {n} x {f} features",
                self.x.len()
            ));
        }
        if !(self.y.is_empty() || self.y.len() == n) {
            return Err(format!("y has {} values, expected {n} or 0", self.y.len()));
        }
        if schema.has_node_labels && self.y.len() != n {
            return Err(format!(
                "y has {} values but the schema says every node is labelled ({n} nodes)",
                self.y.len()
            ));
        }
        if self.coords.len() != n * c {
            return Err(format!(
                "coords has {} values, expected num_nodes {n} x {c}",
                self.coords.len()
            ));
        }
        if self.dst.len() != e {
            return Err(format!(
                "edge_index rows differ: {} sources, {} targets",
                e,
                self.dst.len()
            ));
        }
        if self.edge_attr.len() != e * g {
            return Err(format!(
                "edge_attr has {} values, expected {e} edges x {g}",
                self.edge_attr.len()
            ));
        }
        if !(self.edge_weight.is_empty() || self.edge_weight.len() == e) {
            return Err(format!(
                "edge_weight has {} values, expected {e} or 0",
                self.edge_weight.len()
            ));
        }
        if let Some((k, (&s, &d))) = self
            .src
            .iter()
            .zip(&self.dst)
            .enumerate()
            .find(|(_, (&s, &d))| s as usize >= n || d as usize >= n)
        {
            return Err(format!(
                "edge {k} = ({s}, {d}) has a node index out of range (num_nodes {n})"
            ));
        }
        Ok(())
    }
}

/// What every graph of a stream looks like; written once in the stream header.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    /// Names of the node feature columns of `x`, in order.
    pub node_features: Vec<String>,
    /// Names of the edge feature columns of `edge_attr`, in order.
    pub edge_features: Vec<String>,
    /// Number of node classes (`y` takes values 0..num_node_classes); 0 when unknown.
    pub num_node_classes: u32,
    /// Whether every graph carries `y` for every node.
    pub has_node_labels: bool,
    /// Names of the coordinate columns of `coords`, in order.
    pub coord_names: Vec<String>,
}

impl Schema {
    /// The schema of the reference template: features ener, nhits; edge features distance, energy gradient.
    pub fn reference(node_features: &[&str], coord_names: &[&str]) -> Self {
        Schema {
            node_features: node_features.iter().map(|s| s.to_string()).collect(),
            edge_features: vec!["distance".into(), "ener_gradient".into()],
            num_node_classes: 3,
            has_node_labels: true,
            coord_names: coord_names.iter().map(|s| s.to_string()).collect(),
        }
    }
}
