//! Delaunay edges.

use crate::neighbours::Point;
use anyhow::{bail, Result};

/// Undirected Delaunay edges (a < b, ascending) of the points; None when no triangulation exists.
pub fn edges(_points: &[Point], _ncoords: usize) -> Result<Option<Vec<(u32, u32, i64)>>> {
    bail!("--edges delaunay is not available in this build")
}
