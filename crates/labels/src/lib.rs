//! NEXT label files (HDF5 voxel tables) to graphs, equal to the NEXT_GRAPHS reference pipeline.
//!
//! [`h5table`] reads compound tables column by column by name, in chunks; [`build`] turns one
//! event into one graph with the reference's rules; [`convert`] drives files to a graph stream.
//! The rules, the edge order and the differences from the reference are in `docs/VOXEL2GRAPH.md`.

pub mod build;
pub mod convert;
pub mod delaunay;
pub mod h5table;
pub mod neighbours;
pub mod write;

pub use build::{build_graph, BuildConfig, EdgeMode, Event, OnDuplicate, Outcome, SkipReason};
pub use convert::{
    check_inputs, convert, fnum_from_name, schema, task_share, Options, SegclassBase, Sink, Summary,
};
