//! Delaunay edges, with Qhull as the reference has them through scipy.
//!
//! The reference triangulates with `scipy.spatial.Delaunay`, i.e. Qhull with the options
//! `d Qbb Qc Qz Q12 Qt`; the `qhull` crate wraps the same C library (2020.2), run here with the
//! same options on the same coordinates. Every pair of vertices of a lower-Delaunay simplex
//! becomes an undirected edge. Cases Qhull refuses get a rule of their own (docs/VOXEL2GRAPH.md):
//! - one coordinate: consecutive points along the axis (the 1-D Delaunay graph);
//! - at most d + 1 points in d dimensions: every pair (the one simplex there is, or its faces);
//! - more points, all in a line (2-D) or a plane (3-D): no triangulation, the event is skipped.

use crate::neighbours::{dist2, Point};
use anyhow::{anyhow, Result};

/// Undirected Delaunay edges (a < b, ascending) of the first `ncoords` coordinates, or None when
/// the points span fewer dimensions than that (no triangulation exists).
pub fn edges(points: &[Point], ncoords: usize) -> Result<Option<Vec<(u32, u32, i64)>>> {
    let n = points.len();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    if ncoords == 1 {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| (points[i as usize][0], i));
        pairs.extend(order.windows(2).map(|w| (w[0].min(w[1]), w[0].max(w[1]))));
    } else if n <= ncoords + 1 {
        for a in 0..n as u32 {
            pairs.extend((a + 1..n as u32).map(|b| (a, b)));
        }
    } else if affine_dim(points, ncoords) < ncoords {
        return Ok(None);
    } else {
        pairs = qhull_pairs(points, ncoords)?;
    }
    pairs.sort_unstable();
    pairs.dedup();
    Ok(Some(
        pairs
            .into_iter()
            .map(|(a, b)| (a, b, dist2(&points[a as usize], &points[b as usize])))
            .collect(),
    ))
}

/// Dimension of the smallest affine space holding the points (0 to 3), exactly, in integers.
pub fn affine_dim(points: &[Point], ncoords: usize) -> usize {
    let v = |p: &Point, q: &Point| -> [i128; 3] {
        let mut d = [0i128; 3];
        for k in 0..ncoords {
            d[k] = (q[k] - p[k]) as i128;
        }
        d
    };
    let cross = |a: [i128; 3], b: [i128; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let dot = |a: [i128; 3], b: [i128; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let Some(p0) = points.first() else { return 0 };
    let Some(e1) = points.iter().map(|q| v(p0, q)).find(|d| *d != [0; 3]) else {
        return 0;
    };
    let Some(nrm) = points
        .iter()
        .map(|q| cross(e1, v(p0, q)))
        .find(|c| *c != [0; 3])
    else {
        return 1;
    };
    if points.iter().any(|q| dot(nrm, v(p0, q)) != 0) {
        3
    } else {
        2
    }
}

/// The vertex pairs of every lower-Delaunay simplex Qhull finds, as scipy asks for them.
fn qhull_pairs(points: &[Point], ncoords: usize) -> Result<Vec<(u32, u32)>> {
    let n = points.len();
    let coords: Vec<f64> = points
        .iter()
        .flat_map(|p| p[..ncoords].iter().map(|&c| c as f64))
        .collect();
    // scipy.spatial.Delaunay runs "qhull d Qbb Qc Qz Q12" plus the always-on "Qt". The crate's
    // option parser is qconvex's, which rejects d/Qbb/Qz, so the same flags are set directly:
    // d, Qbb, Qc, Qz, Q12, Qt. Qhull lifts the points onto the paraboloid itself
    // (PROJECTdelaunay, as qh_new_qhull sets it for scipy).
    let qh = qhull::QhBuilder::default()
        .delaunay(true)
        .scale_last(true)
        .keep_coplanar(true)
        .at_infinity(true)
        .allow_wide(true)
        .triangulate(true)
        .project_delaunay(true)
        .build_managed(ncoords, coords)
        .map_err(|e| anyhow!("Qhull could not triangulate the event: {}", one_line(&e)))?;
    let mut pairs = Vec::new();
    let mut ids = Vec::with_capacity(ncoords + 1);
    for facet in qh.simplices().filter(|f| !f.upper_delaunay()) {
        ids.clear();
        let Some(vertices) = facet.vertices() else {
            continue;
        };
        for v in vertices.iter() {
            let id = v
                .point_id(&qh)
                .map_err(|e| anyhow!("Qhull vertex without a point: {}", one_line(&e)))?;
            // The point at infinity added by Qz belongs to upper facets only; guard anyway.
            if id >= 0 && (id as usize) < n {
                ids.push(id as u32);
            }
        }
        for (i, &a) in ids.iter().enumerate() {
            for &b in &ids[i + 1..] {
                pairs.push((a.min(b), a.max(b)));
            }
        }
    }
    Ok(pairs)
}

/// Qhull's messages span several lines; errors here are one line.
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(points: &[Point], ncoords: usize) -> Vec<(u32, u32)> {
        edges(points, ncoords)
            .unwrap()
            .unwrap()
            .into_iter()
            .map(|(a, b, _)| (a, b))
            .collect()
    }

    #[test]
    fn tetrahedron_and_its_centre() {
        // A tetrahedron with an inner point: four tetrahedra around the centre, so every one of
        // the 10 pairs is an edge.
        let pts = [[0, 0, 0], [4, 0, 0], [0, 4, 0], [0, 0, 4], [1, 1, 1]];
        let want: Vec<(u32, u32)> = (0..5u32)
            .flat_map(|a| (a + 1..5).map(move |b| (a, b)))
            .collect();
        assert_eq!(pairs(&pts, 3), want);
    }

    #[test]
    fn octahedron_has_no_axis_diagonals() {
        // A regular octahedron plus its centre: 8 tetrahedra around the centre; the three
        // opposite-vertex pairs (distance 4) go through the centre and are not edges.
        let pts = [
            [2, 0, 0],
            [-2, 0, 0],
            [0, 2, 0],
            [0, -2, 0],
            [0, 0, 2],
            [0, 0, -2],
            [0, 0, 0],
        ];
        let got = pairs(&pts, 3);
        assert_eq!(got.len(), 12 + 6, "{got:?}");
        for opposite in [(0, 1), (2, 3), (4, 5)] {
            assert!(!got.contains(&opposite), "{got:?}");
        }
        assert!((0..6).all(|v| got.contains(&(v, 6))));
    }

    #[test]
    fn square_pyramid_far_apex() {
        // A unit square and an apex far above its centre: the square's diagonal that Qhull
        // picks is one of the two; both sides, 4 base edges and 4 apex edges always exist.
        let pts = [[0, 0, 0], [2, 0, 0], [0, 2, 0], [2, 2, 0], [1, 1, 9]];
        let got = pairs(&pts, 3);
        for e in [
            (0, 1),
            (0, 2),
            (1, 3),
            (2, 3),
            (0, 4),
            (1, 4),
            (2, 4),
            (3, 4),
        ] {
            assert!(got.contains(&e), "{e:?} missing from {got:?}");
        }
        let diagonals = [(0, 3), (1, 2)].iter().filter(|d| got.contains(d)).count();
        assert_eq!(diagonals, 1, "{got:?}");
    }

    #[test]
    fn two_d_square_with_centre() {
        let pts = [[0, 0, 0], [2, 0, 0], [0, 2, 0], [2, 2, 0], [1, 1, 0]];
        assert_eq!(
            pairs(&pts, 2),
            vec![
                (0, 1),
                (0, 2),
                (0, 4),
                (1, 3),
                (1, 4),
                (2, 3),
                (2, 4),
                (3, 4)
            ]
        );
    }

    #[test]
    fn qhull_messages_become_one_line() {
        assert_eq!(
            one_line(&"QH6154 flat\n\n  initial simplex\nmore\nrest"),
            "QH6154 flat initial simplex more"
        );
    }

    #[test]
    fn degenerate_rules() {
        // Too few points: every pair.
        let four = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]];
        assert_eq!(pairs(&four, 3).len(), 6);
        // Five coplanar points: no 3-D triangulation.
        let flat = [[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1], [3, 2, 1]];
        assert_eq!(affine_dim(&flat, 3), 2);
        assert!(edges(&flat, 3).unwrap().is_none());
        let line = [[0, 0, 0], [1, 1, 1], [2, 2, 2], [5, 5, 5], [9, 9, 9]];
        assert_eq!(affine_dim(&line, 3), 1);
        assert!(edges(&line, 3).unwrap().is_none());
        // One coordinate: neighbours along the axis.
        let axis = [[5, 0, 0], [1, 0, 0], [3, 0, 0]];
        assert_eq!(pairs(&axis, 1), vec![(0, 2), (1, 2)]);
        assert_eq!(affine_dim(&[[1, 2, 3]], 3), 0);
        // Squared distances ride along.
        let e = edges(&four, 3).unwrap().unwrap();
        assert_eq!(e[0], (0, 1, 1));
        assert_eq!(e[2], (0, 3, 75));
    }
}
