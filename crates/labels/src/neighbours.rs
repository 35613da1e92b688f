//! Exact neighbour search on integer voxel coordinates.
//!
//! Squared distances between integer points are exact integers, so ordering by
//! (squared distance, index) is exact and independent of floating-point rounding. Every list is
//! sorted that way; this is the documented tie rule that replaces scipy cKDTree's heap order.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A point: up to three integer coordinates, unused ones zero.
pub type Point = [i64; 3];

/// Per-node neighbour lists in one flat array: node `i` owns `nbr[off[i]..off[i+1]]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lists {
    /// Start of each node's list, N + 1 entries.
    pub off: Vec<u32>,
    /// Neighbour indices.
    pub nbr: Vec<u32>,
    /// Squared distances, parallel to `nbr`.
    pub d2: Vec<i64>,
}

impl Lists {
    /// Node `i`'s neighbours with their squared distances.
    pub fn of(&self, i: usize) -> impl Iterator<Item = (u32, i64)> + '_ {
        let (a, b) = (self.off[i] as usize, self.off[i + 1] as usize);
        self.nbr[a..b]
            .iter()
            .copied()
            .zip(self.d2[a..b].iter().copied())
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.off.len().saturating_sub(1)
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the lists, keeping their buffers, ready for node 0.
    pub fn clear(&mut self) {
        self.off.clear();
        self.off.push(0);
        self.nbr.clear();
        self.d2.clear();
    }
}

/// Squared Euclidean distance.
#[inline]
pub fn dist2(a: &Point, b: &Point) -> i64 {
    let dx = a[0] - b[0];
    let dy = a[1] - b[1];
    let dz = a[2] - b[2];
    dx * dx + dy * dy + dz * dz
}

/// Multiplicative hasher for small integer keys (the default SipHash is needlessly slow here).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Integer arrays are hashed as one byte slice: take it 8 bytes at a time.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        for &b in chunks.remainder() {
            self.write_u64(b as u64);
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    #[inline]
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hash map from voxel coordinates to node index.
pub type GridMap = HashMap<Point, u32, BuildHasherDefault<FastHasher>>;

/// Indexes the points; returns the first pair of equal points (earlier, later) if any.
pub fn grid(points: &[Point]) -> (GridMap, Option<(u32, u32)>) {
    let mut map = GridMap::with_capacity_and_hasher(points.len() * 2, Default::default());
    let mut dup = None;
    for (i, p) in points.iter().enumerate() {
        if let Some(&j) = map.get(p) {
            dup.get_or_insert((j, i as u32));
        } else {
            map.insert(*p, i as u32);
        }
    }
    (map, dup)
}

/// The 26-neighbourhood (coordinates differing by at most 1 on every axis), via the grid hash.
///
/// For integer coordinates this is exactly the set of points at Euclidean distance <= sqrt(3),
/// the reference's classic graph, found in O(N).
pub fn classic(points: &[Point], map: &GridMap) -> Lists {
    let mut out = Lists {
        off: Vec::with_capacity(points.len() + 1),
        ..Default::default()
    };
    out.off.push(0);
    let mut tmp: Vec<(i64, u32)> = Vec::with_capacity(26);
    for p in points {
        tmp.clear();
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    if dx == 0 && dy == 0 && dz == 0 {
                        continue;
                    }
                    let q = [p[0] + dx, p[1] + dy, p[2] + dz];
                    if let Some(&j) = map.get(&q) {
                        tmp.push((dx * dx + dy * dy + dz * dz, j));
                    }
                }
            }
        }
        tmp.sort_unstable();
        for &(d2, j) in &tmp {
            out.nbr.push(j);
            out.d2.push(d2);
        }
        out.off.push(out.nbr.len() as u32);
    }
    out
}

const LEAF: usize = 8;

struct KdNode {
    lo: u32,
    hi: u32,
    dim: u8,
    split: i64,
    left: u32,
    right: u32,
}

/// A k-d tree over integer points (median split on the widest axis, leaves of 8 points).
pub struct KdTree<'a> {
    points: &'a [Point],
    perm: Vec<u32>,
    nodes: Vec<KdNode>,
}

impl<'a> KdTree<'a> {
    /// Builds the tree; O(N log N).
    pub fn new(points: &'a [Point]) -> Self {
        let mut t = KdTree {
            points,
            perm: (0..points.len() as u32).collect(),
            nodes: Vec::with_capacity(2 * points.len() / LEAF + 1),
        };
        if !points.is_empty() {
            t.build(0, points.len());
        }
        t
    }

    fn build(&mut self, lo: usize, hi: usize) -> u32 {
        let id = self.nodes.len() as u32;
        self.nodes.push(KdNode {
            lo: lo as u32,
            hi: hi as u32,
            dim: 0,
            split: 0,
            left: 0,
            right: 0,
        });
        if hi - lo <= LEAF {
            return id;
        }
        let pts = self.points;
        let mut mins = [i64::MAX; 3];
        let mut maxs = [i64::MIN; 3];
        for &i in &self.perm[lo..hi] {
            for d in 0..3 {
                mins[d] = mins[d].min(pts[i as usize][d]);
                maxs[d] = maxs[d].max(pts[i as usize][d]);
            }
        }
        let dim = (0..3)
            .max_by_key(|&d| (maxs[d] - mins[d], std::cmp::Reverse(d)))
            .unwrap_or(0);
        let mid = (lo + hi) / 2;
        self.perm[lo..hi].select_nth_unstable_by_key(mid - lo, |&i| (pts[i as usize][dim], i));
        let split = pts[self.perm[mid] as usize][dim];
        let left = self.build(lo, mid);
        let right = self.build(mid, hi);
        let n = &mut self.nodes[id as usize];
        n.dim = dim as u8;
        n.split = split;
        n.left = left;
        n.right = right;
        id
    }

    /// The `k` nearest points to point `q` other than `skip`, ascending by (squared distance, index).
    pub fn nearest(&self, q: &Point, k: usize, skip: u32, best: &mut Vec<(i64, u32)>) {
        best.clear();
        if k == 0 || self.nodes.is_empty() {
            return;
        }
        self.search(0, q, k, skip, best);
    }

    fn search(&self, node: u32, q: &Point, k: usize, skip: u32, best: &mut Vec<(i64, u32)>) {
        let n = &self.nodes[node as usize];
        if n.left == 0 && n.right == 0 {
            for &i in &self.perm[n.lo as usize..n.hi as usize] {
                if i == skip {
                    continue;
                }
                let cand = (dist2(q, &self.points[i as usize]), i);
                if best.len() < k {
                    let pos = best.partition_point(|b| *b < cand);
                    best.insert(pos, cand);
                } else if cand < best[k - 1] {
                    best.pop();
                    let pos = best.partition_point(|b| *b < cand);
                    best.insert(pos, cand);
                }
            }
            return;
        }
        let diff = q[n.dim as usize] - n.split;
        // Left holds coordinates <= split and right >= split, so the far side is at least |diff| away.
        let (near, far) = if diff <= 0 {
            (n.left, n.right)
        } else {
            (n.right, n.left)
        };
        self.search(near, q, k, skip, best);
        // Equal bounds must still be searched: a tied point there may have a smaller index.
        if best.len() < k || diff * diff <= best[k - 1].0 {
            self.search(far, q, k, skip, best);
        }
    }
}

/// Events up to this size compare all pairs: cheaper than a hash or a tree at these sizes.
pub const SMALL_MAX: usize = 128;

/// Largest coordinate span per axis for the all-pairs scans: squared distances then fit an i32.
const SMALL_SPAN: i64 = 16_384;

/// Lanes of the all-pairs scans (rows are padded to a multiple of this).
const LANES: usize = 8;

/// Reusable buffers of the all-pairs scans, kept per thread so events allocate nothing here.
#[derive(Debug, Default)]
pub struct Scratch {
    x: Vec<i32>,
    y: Vec<i32>,
    z: Vec<i32>,
    row: Vec<i32>,
    /// Selected entries as keys `squared distance << 32 | index`: sorting them orders by
    /// (squared distance, index), the tie rule.
    best: Vec<u64>,
}

impl Scratch {
    /// Loads the points as i32 columns relative to their minimum; false when they do not fit
    /// (too many points, or a span that could overflow a squared distance).
    #[inline(always)]
    fn load(&mut self, points: &[Point]) -> bool {
        let n = points.len();
        if n > SMALL_MAX {
            return false;
        }
        let mut lo = [i64::MAX; 3];
        let mut hi = [i64::MIN; 3];
        for p in points {
            for d in 0..3 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        if n > 0 && (0..3).any(|d| hi[d].wrapping_sub(lo[d]) as u64 > SMALL_SPAN as u64) {
            return false;
        }
        let m = n.div_ceil(LANES) * LANES;
        for (d, col) in [&mut self.x, &mut self.y, &mut self.z]
            .into_iter()
            .enumerate()
        {
            col.clear();
            col.extend(points.iter().map(|p| (p[d] - lo[d]) as i32));
            col.resize(m, 0);
        }
        self.row.resize(m, 0);
        true
    }

    /// Squared distances from point `i` to every point; point `i` itself and the padding
    /// lanes get i32::MAX, so that neither is ever selected.
    #[inline(always)]
    fn fill_row(&mut self, i: usize, n: usize) {
        let m = self.row.len();
        let (xs, ys, zs) = (&self.x[..m], &self.y[..m], &self.z[..m]);
        let row = &mut self.row[..m];
        let (xi, yi, zi) = (xs[i], ys[i], zs[i]);
        for j in 0..m {
            let (dx, dy, dz) = (xs[j] - xi, ys[j] - yi, zs[j] - zi);
            row[j] = dx * dx + dy * dy + dz * dz;
        }
        row[i] = i32::MAX;
        for r in &mut row[n..] {
            *r = i32::MAX;
        }
    }

    /// Sets `best` to every entry of the row at most `t`, sorted by (squared distance, index).
    #[inline(always)]
    fn select<L: Lanes>(&mut self, t: i32) {
        self.best.clear();
        for (c, ch) in self.row.chunks_exact(LANES).enumerate() {
            // One compare and a mask per lane group; only the lanes that pass are visited.
            let mut mask = L::le_mask(ch, t);
            while mask != 0 {
                let l = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                self.best
                    .push(((ch[l] as u64) << 32) | (c * LANES + l) as u64);
            }
        }
        self.best.sort_unstable();
    }
}

/// Squared distance and index of a selected entry.
#[inline(always)]
fn unkey(key: u64) -> (i32, u32) {
    ((key >> 32) as i32, key as u32)
}

/// Lane-group primitives of the all-pairs scans, portable or with AVX2 intrinsics.
trait Lanes {
    /// Bit l set when lane l of the group (LANES values) is at most `t`.
    fn le_mask(ch: &[i32], t: i32) -> u32;
}

/// Plain Rust lanes, for any CPU.
struct Portable;

impl Lanes for Portable {
    #[inline(always)]
    fn le_mask(ch: &[i32], t: i32) -> u32 {
        let mut mask = 0u32;
        for (l, &d) in ch.iter().take(LANES).enumerate() {
            mask |= ((d <= t) as u32) << l;
        }
        mask
    }
}

/// AVX2 lanes: one compare and one move-mask per group of 8.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    #[inline(always)]
    fn le_mask(ch: &[i32], t: i32) -> u32 {
        use std::arch::x86_64::*;
        assert!(ch.len() >= LANES);
        // SAFETY: only used inside the `*_avx2` functions, which run after the CPU was found to
        // have AVX2; the load reads the 8 lanes just checked to exist.
        unsafe {
            let v = _mm256_loadu_si256(ch.as_ptr().cast());
            let gt = _mm256_cmpgt_epi32(v, _mm256_set1_epi32(t));
            !(_mm256_movemask_ps(_mm256_castsi256_ps(gt)) as u32) & 0xff
        }
    }
}

/// The earlier of two duplicate pairs: the one whose later row comes first (as [`grid`] finds).
fn first_dup(dup: &mut Option<(u32, u32)>, a: usize, b: usize) {
    let pair = (a.min(b) as u32, a.max(b) as u32);
    if dup.is_none_or(|d| (pair.1, pair.0) < (d.1, d.0)) {
        *dup = Some(pair);
    }
}

/// The smallest of a group of lanes; branch-free so that it vectorises, letting the scans skip
/// most groups whole.
#[inline(always)]
fn min_lane(ch: &[i32]) -> i32 {
    ch.iter().fold(i32::MAX, |a, &b| a.min(b))
}

/// Classic lists (coordinates differing by at most 1 on every axis) of a small event by
/// comparing all pairs, and its first duplicate pair; None when the points do not fit.
///
/// For integer points, differing by at most 1 on every axis is the same as a squared distance
/// of at most 3. Lists come sorted by (squared distance, index), as [`classic`] gives.
pub fn classic_small(
    points: &[Point],
    s: &mut Scratch,
    out: &mut Lists,
) -> Option<Option<(u32, u32)>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { classic_small_avx2(points, s, out) };
    }
    classic_small_body::<Portable>(points, s, out)
}

/// [`classic_small`] compiled for AVX2 (8 lanes per instruction instead of 4); same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn classic_small_avx2(
    points: &[Point],
    s: &mut Scratch,
    out: &mut Lists,
) -> Option<Option<(u32, u32)>> {
    classic_small_body::<Avx2>(points, s, out)
}

#[inline(always)]
fn classic_small_body<L: Lanes>(
    points: &[Point],
    s: &mut Scratch,
    out: &mut Lists,
) -> Option<Option<(u32, u32)>> {
    if !s.load(points) {
        return None;
    }
    let n = points.len();
    out.clear();
    let mut dup = None;
    for i in 0..n {
        s.fill_row(i, n);
        if min_lane(&s.row) == 0 {
            let j = s.row.iter().position(|&d| d == 0).unwrap_or(i);
            first_dup(&mut dup, i, j);
        }
        s.select::<L>(3);
        for (d, j) in s.best.iter().map(|&key| unkey(key)) {
            out.nbr.push(j);
            out.d2.push(d as i64);
        }
        out.off.push(out.nbr.len() as u32);
    }
    Some(dup)
}

/// [`knn`] lists of a small event by comparing all pairs, and its first duplicate pair; None
/// when the points do not fit. Same lists as [`knn_tree`].
pub fn knn_small(
    points: &[Point],
    k: usize,
    max_dist: f64,
    s: &mut Scratch,
    out: &mut Lists,
) -> Option<Option<(u32, u32)>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { knn_small_avx2(points, k, max_dist, s, out) };
    }
    knn_small_body::<Portable>(points, k, max_dist, s, out)
}

/// [`knn_small`] compiled for AVX2 (8 lanes per instruction instead of 4); same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn knn_small_avx2(
    points: &[Point],
    k: usize,
    max_dist: f64,
    s: &mut Scratch,
    out: &mut Lists,
) -> Option<Option<(u32, u32)>> {
    knn_small_body::<Avx2>(points, k, max_dist, s, out)
}

#[inline(always)]
fn knn_small_body<L: Lanes>(
    points: &[Point],
    k: usize,
    max_dist: f64,
    s: &mut Scratch,
    out: &mut Lists,
) -> Option<Option<(u32, u32)>> {
    if !s.load(points) {
        return None;
    }
    let n = points.len();
    out.clear();
    let kk = k.min(n.saturating_sub(1));
    let mut dup = None;
    // Neighbouring rows see about the same density: the previous row's k-th distance is a good
    // first guess for this row's. One selection at the guess settles most rows.
    let mut guess: i32 = 3;
    for i in 0..n {
        s.fill_row(i, n);
        s.best.clear();
        if kk > 0 {
            // Everything up to the guess is taken, sorted by (distance, index); with at least
            // kk of them, the first kk are exactly the kk nearest under the tie rule. Too few:
            // the guess grows until enough are in (every point has a distance below i32::MAX).
            let mut t = guess;
            loop {
                s.select::<L>(t);
                if s.best.len() >= kk || t >= i32::MAX - 1 {
                    break;
                }
                t = t.saturating_mul(2).saturating_add(2).min(i32::MAX - 1);
            }
            s.best.truncate(kk);
            let (d0, j0) = unkey(s.best[0]);
            if d0 == 0 {
                first_dup(&mut dup, i, j0 as usize);
            }
            guess = unkey(s.best[kk - 1]).0;
        }
        for (d2, j) in s.best.iter().map(|&key| unkey(key)) {
            if max_dist == f64::INFINITY || (d2 as f64).sqrt() <= max_dist {
                out.nbr.push(j);
                out.d2.push(d2 as i64);
            }
        }
        out.off.push(out.nbr.len() as u32);
    }
    Some(dup)
}

/// The `k` nearest neighbours of every point with distance <= `max_dist`, by (distance, index).
///
/// With N <= k every other point is returned (the reference crashes there instead).
pub fn knn(points: &[Point], k: usize, max_dist: f64) -> Lists {
    let mut out = Lists::default();
    if knn_small(points, k, max_dist, &mut Scratch::default(), &mut out).is_none() {
        if points.len() <= SMALL_MAX {
            return knn_brute(points, k, max_dist);
        }
        return knn_tree(points, k, max_dist);
    }
    out
}

fn push_accepted(out: &mut Lists, best: &[(i64, u32)], max_dist: f64) {
    for &(d2, j) in best {
        if (d2 as f64).sqrt() <= max_dist {
            out.nbr.push(j);
            out.d2.push(d2);
        }
    }
    out.off.push(out.nbr.len() as u32);
}

/// [`knn`] with a k-d tree, O(N log N).
pub fn knn_tree(points: &[Point], k: usize, max_dist: f64) -> Lists {
    let tree = KdTree::new(points);
    let mut out = Lists {
        off: Vec::with_capacity(points.len() + 1),
        ..Default::default()
    };
    out.off.push(0);
    let mut best = Vec::with_capacity(k + 1);
    for (i, p) in points.iter().enumerate() {
        tree.nearest(p, k, i as u32, &mut best);
        push_accepted(&mut out, &best, max_dist);
    }
    out
}

/// [`knn`] comparing all pairs, O(N^2); the same lists as [`knn_tree`].
pub fn knn_brute(points: &[Point], k: usize, max_dist: f64) -> Lists {
    let n = points.len();
    let mut out = Lists {
        off: Vec::with_capacity(n + 1),
        ..Default::default()
    };
    out.off.push(0);
    let kk = k.min(n.saturating_sub(1));
    // The kk best so far, ascending by (squared distance, index); candidates come in index order,
    // so a candidate equal in distance to the worst kept one never displaces it.
    let mut best: Vec<(i64, u32)> = Vec::with_capacity(kk + 1);
    for (i, p) in points.iter().enumerate() {
        best.clear();
        if kk > 0 {
            for (j, q) in points.iter().enumerate() {
                if j == i {
                    continue;
                }
                let d2 = dist2(p, q);
                if best.len() == kk {
                    if d2 >= best[kk - 1].0 {
                        continue;
                    }
                    best.pop();
                }
                let mut pos = best.len();
                while pos > 0 && best[pos - 1].0 > d2 {
                    pos -= 1;
                }
                best.insert(pos, (d2, j as u32));
            }
        }
        push_accepted(&mut out, &best, max_dist);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(points: &[Point], k: usize) -> Vec<Vec<(i64, u32)>> {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v: Vec<(i64, u32)> = points
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(j, q)| (dist2(p, q), j as u32))
                    .collect();
                v.sort_unstable();
                v.truncate(k);
                v
            })
            .collect()
    }

    fn lcg_points(n: usize, range: i64, seed: u64) -> Vec<Point> {
        let mut s = seed;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as i64).rem_euclid(range)
        };
        let mut seen = std::collections::HashSet::new();
        let mut pts = Vec::new();
        while pts.len() < n {
            let p = [next(), next(), next()];
            if seen.insert(p) {
                pts.push(p);
            }
        }
        pts
    }

    #[test]
    fn kdtree_equals_brute_force_with_ties() {
        // A small range forces many equal distances, exercising the (distance, index) rule.
        for (n, range, k) in [
            (200, 6, 6),
            (300, 10, 20),
            (50, 4, 60),
            (9, 3, 8),
            (1, 3, 4),
            (128, 6, 6),
            (127, 100, 3),
        ] {
            let pts = lcg_points(n, range, n as u64);
            let want = brute(&pts, k);
            let mut small = Lists::default();
            let fits = knn_small(&pts, k, f64::INFINITY, &mut Scratch::default(), &mut small);
            assert_eq!(fits, (n <= SMALL_MAX).then_some(None), "n {n}");
            if fits.is_none() {
                small = knn_brute(&pts, k, f64::INFINITY);
            }
            for lists in [
                knn_tree(&pts, k, f64::INFINITY),
                knn_brute(&pts, k, f64::INFINITY),
                small,
            ] {
                for (i, w) in want.iter().enumerate() {
                    let got: Vec<(i64, u32)> = lists.of(i).map(|(j, d)| (d, j)).collect();
                    assert_eq!(&got, w, "node {i} (n {n}, k {k})");
                }
            }
        }
    }

    #[test]
    fn portable_and_dispatched_scans_agree() {
        // On a CPU with AVX2 the public functions take the intrinsics; the plain path must give
        // the same lists wherever it runs.
        for (n, range, k) in [(100, 5, 6), (53, 9, 6), (128, 7, 20), (10, 3, 12)] {
            let pts = lcg_points(n, range, 7 + n as u64);
            let (mut a, mut b) = (Lists::default(), Lists::default());
            let mut s = Scratch::default();
            let da = knn_small(&pts, k, f64::INFINITY, &mut s, &mut a);
            let db = knn_small_body::<Portable>(&pts, k, f64::INFINITY, &mut s, &mut b);
            assert_eq!((da, &a), (db, &b), "knn n {n}");
            let da = classic_small(&pts, &mut s, &mut a);
            let db = classic_small_body::<Portable>(&pts, &mut s, &mut b);
            assert_eq!((da, &a), (db, &b), "classic n {n}");
        }
    }

    #[test]
    fn classic_is_chebyshev_one() {
        let pts = lcg_points(150, 7, 3);
        let (map, dup) = grid(&pts);
        assert!(dup.is_none());
        let lists = classic(&pts, &map);
        let mut small = Lists::default();
        assert_eq!(
            classic_small(&pts[..100], &mut Scratch::default(), &mut small),
            Some(None)
        );
        for i in 0..100 {
            let hashed: Vec<_> = classic(&pts[..100], &grid(&pts[..100]).0).of(i).collect();
            assert_eq!(small.of(i).collect::<Vec<_>>(), hashed, "node {i}");
        }
        for (i, p) in pts.iter().enumerate() {
            let mut want: Vec<(i64, u32)> = pts
                .iter()
                .enumerate()
                .filter(|&(j, q)| j != i && (0..3).all(|d| (p[d] - q[d]).abs() <= 1))
                .map(|(j, q)| (dist2(p, q), j as u32))
                .collect();
            want.sort_unstable();
            let got: Vec<(i64, u32)> = lists.of(i).map(|(j, d)| (d, j)).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn small_scans_find_the_same_first_duplicate_and_refuse_wide_spans() {
        // Two duplicate groups: rows (0, 4, 5) and (2, 3); grid() reports (2, 3), the pair
        // whose later row comes first.
        let pts = vec![
            [5, 5, 5],
            [1, 0, 0],
            [7, 7, 7],
            [7, 7, 7],
            [5, 5, 5],
            [5, 5, 5],
        ];
        assert_eq!(grid(&pts).1, Some((2, 3)));
        let mut s = Scratch::default();
        let mut l = Lists::default();
        assert_eq!(classic_small(&pts, &mut s, &mut l), Some(Some((2, 3))));
        assert_eq!(
            knn_small(&pts, 2, f64::INFINITY, &mut s, &mut l),
            Some(Some((2, 3)))
        );
        let wide = vec![[0, 0, 0], [SMALL_SPAN + 1, 0, 0]];
        assert_eq!(classic_small(&wide, &mut s, &mut l), None);
        assert_eq!(
            knn(&wide, 1, f64::INFINITY).of(0).collect::<Vec<_>>(),
            vec![(1, (SMALL_SPAN + 1).pow(2))]
        );
    }

    #[test]
    fn max_dist_cuts_and_duplicates_are_found() {
        let pts = vec![[0, 0, 0], [1, 0, 0], [3, 0, 0], [1, 0, 0]];
        let (_, dup) = grid(&pts);
        assert_eq!(dup, Some((1, 3)));
        for lists in [
            knn_tree(&pts[..3], 5, 1.5),
            knn_brute(&pts[..3], 5, 1.5),
            knn(&pts[..3], 5, 1.5),
        ] {
            assert_eq!(lists.of(0).collect::<Vec<_>>(), vec![(1, 1)]);
            assert_eq!(lists.of(2).count(), 0);
        }
    }
}
