//! Delaunay edges: not available in this build.
//!
//! The reference triangulates with scipy, i.e. Qhull. The `qhull` crate wraps the same C library,
//! but its bindings are generated with bindgen at build time and so need libclang on every
//! machine that builds nextgnn; the project does not take that dependency for one option.
//! `--edges delaunay` is therefore refused up front with this explanation (docs/VOXEL2GRAPH.md).

use crate::neighbours::Point;
use anyhow::{bail, Result};

/// Why `--edges delaunay` is refused, for the error message.
pub const UNAVAILABLE: &str =
    "--edges delaunay is not available in this build (Qhull bindings need \
libclang at build time; see docs/VOXEL2GRAPH.md); use --edges knn, classic or all";

/// Undirected Delaunay edges (a < b, ascending); always an error in this build.
pub fn edges(_points: &[Point], _ncoords: usize) -> Result<Option<Vec<(u32, u32, i64)>>> {
    bail!(UNAVAILABLE)
}
