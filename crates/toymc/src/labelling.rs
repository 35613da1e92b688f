//! Production-style labelling of one event's hits: voxels, segclass, ratio, grouping columns.

use crate::generator::{Hit, OTHER};

/// Segment classes of the label files.
pub const SEG_OTHER: i8 = 1;
/// Track segment class.
pub const SEG_TRACK: i8 = 2;
/// Blob segment class.
pub const SEG_BLOB: i8 = 3;

/// The voxel grid: lower corner, voxel size and bin counts (mm).
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    /// Lower corner of bin (0, 0, 0), mm.
    pub start: [f64; 3],
    /// Voxel size, mm.
    pub voxel: [f64; 3],
    /// Number of bins per axis.
    pub nbins: [i64; 3],
}

impl Grid {
    /// Voxel indices of a position, or None outside the grid.
    #[inline]
    pub fn index(&self, p: &[f64; 3]) -> Option<[i64; 3]> {
        let mut ix = [0i64; 3];
        for k in 0..3 {
            let f = ((p[k] - self.start[k]) / self.voxel[k]).floor();
            if !(f >= 0.0 && f < self.nbins[k] as f64) {
                return None;
            }
            ix[k] = f as i64;
        }
        Some(ix)
    }

    fn key(&self, ix: [i64; 3]) -> u64 {
        ((ix[0] * self.nbins[1] + ix[1]) * self.nbins[2] + ix[2]) as u64
    }
}

/// One row of `MCVoxels`.
#[derive(Clone, Debug, PartialEq)]
pub struct VoxelRow {
    /// Voxel indices.
    pub x: i64,
    /// Voxel index along y.
    pub y: i64,
    /// Voxel index along z.
    pub z: i64,
    /// Energy in the voxel, MeV.
    pub ener: f64,
    /// Energy of the chosen label / voxel energy.
    pub ratio: f64,
    /// 1 other, 2 track, 3 blob.
    pub segclass: i8,
    /// Number of hits (transport steps) in the voxel.
    pub nhits: i64,
    /// 1 for 0νββ, 0 for single electrons.
    pub binclass: i8,
    /// Event number in the file.
    pub dataset_id: i64,
    /// Energy of the voxel's element (connected component within its segclass).
    pub elem_ener: f64,
    /// Element name `<segclass>_<k>`.
    pub elem: String,
    /// Number of elements of the voxel's segclass in the event.
    pub elem_count: f64,
    /// Energy of the voxel's cloud (connected component of the event).
    pub cloud_ener: f64,
    /// Cloud name `c_<k>`.
    pub cloud: String,
    /// Number of clouds in the event.
    pub cloud_count: f64,
    /// Number of blob elements in the event.
    pub nblob: i64,
    /// nblob == binclass + 1.
    pub blob_success: bool,
}

/// Per-primary numbers of the blob labelling, for checks.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlobTruth {
    /// Energy deposited by the primary's own hits, MeV.
    pub deposited: f64,
    /// Energy of its hits labelled blob, MeV.
    pub blob: f64,
    /// Largest single hit of the primary, MeV (the granularity of the blob fraction).
    pub max_hit: f64,
}

/// Hit labels: for each primary, the hits holding the last `blob_fraction` of its deposited
/// energy, counted from the track end, are blob; its other hits track; secondaries other.
pub fn hit_labels(
    hits: &[Hit],
    n_primaries: usize,
    blob_fraction: f64,
    truth: &mut Vec<BlobTruth>,
) -> Vec<i8> {
    let mut labels = vec![SEG_OTHER; hits.len()];
    truth.clear();
    for p in 0..n_primaries {
        let idx: Vec<usize> = (0..hits.len())
            .filter(|&i| hits[i].owner as usize == p)
            .collect();
        let total: f64 = idx.iter().map(|&i| hits[i].e).sum();
        let mut acc = 0.0;
        let mut bt = BlobTruth {
            deposited: total,
            ..Default::default()
        };
        for &i in idx.iter().rev() {
            // the hit that crosses the threshold is still blob
            let l = if acc < blob_fraction * total {
                SEG_BLOB
            } else {
                SEG_TRACK
            };
            if l == SEG_BLOB {
                bt.blob += hits[i].e;
            }
            bt.max_hit = bt.max_hit.max(hits[i].e);
            acc += hits[i].e;
            labels[i] = l;
        }
        truth.push(bt);
    }
    debug_assert!(hits
        .iter()
        .zip(&labels)
        .all(|(h, &l)| (h.owner == OTHER) == (l == SEG_OTHER)));
    labels
}

/// Connected components (26-connectivity, i.e. index distance ≤ √3) with the label files' names.
struct Components {
    /// Component of each voxel (rank by energy, 0 = most energetic).
    rank: Vec<usize>,
    energy: Vec<f64>,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

#[allow(clippy::needless_range_loop)] // i indexes several parallel arrays
/// Components of `keys` (sorted voxel keys) linking neighbours for which `linked(a, b)` holds.
fn components(
    grid: &Grid,
    ix: &[[i64; 3]],
    keys: &[u64],
    ener: &[f64],
    linked: impl Fn(usize, usize) -> bool,
) -> Components {
    let n = keys.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for i in 0..n {
        for dx in -1..=1i64 {
            for dy in -1..=1i64 {
                for dz in -1..=1i64 {
                    // each pair once: only lexicographically forward offsets
                    if (dx, dy, dz) <= (0, 0, 0) {
                        continue;
                    }
                    let nb = [ix[i][0] + dx, ix[i][1] + dy, ix[i][2] + dz];
                    if (0..3).any(|k| nb[k] < 0 || nb[k] >= grid.nbins[k]) {
                        continue;
                    }
                    if let Ok(j) = keys.binary_search(&grid.key(nb)) {
                        if linked(i, j) {
                            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                            if a != b {
                                parent[a.max(b)] = a.min(b);
                            }
                        }
                    }
                }
            }
        }
    }
    let mut root_id = vec![usize::MAX; n];
    let mut energy = Vec::new();
    let mut first = Vec::new();
    let mut comp = vec![0; n];
    for i in 0..n {
        let r = find(&mut parent, i);
        if root_id[r] == usize::MAX {
            root_id[r] = energy.len();
            energy.push(0.0);
            first.push(i);
        }
        comp[i] = root_id[r];
        energy[comp[i]] += ener[i];
    }
    // rank by energy, ties by first voxel in table order
    let mut order: Vec<usize> = (0..energy.len()).collect();
    order.sort_by(|&a, &b| {
        energy[b]
            .total_cmp(&energy[a])
            .then(first[a].cmp(&first[b]))
    });
    let mut rank_of = vec![0; energy.len()];
    for (r, &c) in order.iter().enumerate() {
        rank_of[c] = r;
    }
    Components {
        rank: comp.iter().map(|&c| rank_of[c]).collect(),
        energy: order.iter().map(|&c| energy[c]).collect(),
    }
}

/// Names `<prefix>_0 … <prefix>_{n-1}` in string order: the k-th most energetic component gets the
/// k-th of these (the label files' quirk: `c_10` sorts before `c_2`).
pub fn sorted_names(prefix: &str, n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n).map(|k| format!("{prefix}_{k}")).collect();
    v.sort();
    v
}

/// Voxelises and labels one event, appending its rows (sorted by x, y, z) to `out`.
///
/// Returns the number of blob elements. Hits must lie inside the grid (checked by the caller).
pub fn label_event(
    hits: &[Hit],
    labels: &[i8],
    grid: &Grid,
    binclass: i8,
    dataset_id: i64,
    out: &mut Vec<VoxelRow>,
) -> i64 {
    let mut order: Vec<(u64, usize)> = Vec::with_capacity(hits.len());
    let mut idx = Vec::with_capacity(hits.len());
    for (i, h) in hits.iter().enumerate() {
        let ix = grid
            .index(&h.pos)
            .expect("hit outside the grid after the containment check");
        order.push((grid.key(ix), i));
        idx.push(ix);
    }
    order.sort_unstable();
    let mut keys = Vec::new();
    let mut vix = Vec::new();
    let mut ener = Vec::new();
    let mut by_label: Vec<[f64; 3]> = Vec::new();
    let mut nhits = Vec::new();
    for &(k, i) in &order {
        if keys.last() != Some(&k) {
            keys.push(k);
            vix.push(idx[i]);
            ener.push(0.0);
            by_label.push([0.0; 3]);
            nhits.push(0i64);
        }
        let v = keys.len() - 1;
        ener[v] += hits[i].e;
        by_label[v][(labels[i] - 1) as usize] += hits[i].e;
        nhits[v] += 1;
    }
    let seg: Vec<i8> = by_label
        .iter()
        .map(|b| {
            // most energetic label; ties go to the higher label
            let mut best = 0;
            for l in 1..3 {
                if b[l] >= b[best] {
                    best = l;
                }
            }
            best as i8 + 1
        })
        .collect();
    let clouds = components(grid, &vix, &keys, &ener, |_, _| true);
    let elems = components(grid, &vix, &keys, &ener, |a, b| seg[a] == seg[b]);
    // per-segclass element ranks: elements of one class ranked by energy among themselves
    let mut class_elems: [Vec<usize>; 3] = Default::default();
    let mut elem_seg = vec![0i8; elems.energy.len()];
    for v in 0..keys.len() {
        elem_seg[elems.rank[v]] = seg[v];
    }
    for (e, &s) in elem_seg.iter().enumerate() {
        class_elems[(s - 1) as usize].push(e);
    }
    let mut elem_name = vec![String::new(); elems.energy.len()];
    let mut elem_count = vec![0.0; elems.energy.len()];
    for (c, list) in class_elems.iter().enumerate() {
        let names = sorted_names(&(c + 1).to_string(), list.len());
        for (k, &e) in list.iter().enumerate() {
            elem_name[e] = names[k].clone();
            elem_count[e] = list.len() as f64;
        }
    }
    let nblob = class_elems[2].len() as i64;
    let cloud_names = sorted_names("c", clouds.energy.len());
    for v in 0..keys.len() {
        let s = seg[v];
        let e = elems.rank[v];
        out.push(VoxelRow {
            x: vix[v][0],
            y: vix[v][1],
            z: vix[v][2],
            ener: ener[v],
            ratio: by_label[v][(s - 1) as usize] / ener[v],
            segclass: s,
            nhits: nhits[v],
            binclass,
            dataset_id,
            elem_ener: elems.energy[e],
            elem: elem_name[e].clone(),
            elem_count: elem_count[e],
            cloud_ener: clouds.energy[clouds.rank[v]],
            cloud: cloud_names[clouds.rank[v]].clone(),
            cloud_count: clouds.energy.len() as f64,
            nblob,
            blob_success: nblob == binclass as i64 + 1,
        });
    }
    nblob
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid {
            start: [0.0; 3],
            voxel: [1.0; 3],
            nbins: [20, 20, 20],
        }
    }

    fn hit(x: f64, y: f64, z: f64, e: f64, owner: u8) -> Hit {
        Hit {
            pos: [x + 0.5, y + 0.5, z + 0.5],
            e,
            owner,
        }
    }

    #[test]
    fn names_follow_string_order() {
        let n = sorted_names("c", 12);
        assert_eq!(n[2], "c_10");
        assert_eq!(n[3], "c_11");
        assert_eq!(n[4], "c_2");
    }

    #[test]
    fn blob_is_last_quarter_of_energy() {
        let hits: Vec<Hit> = (0..8).map(|i| hit(i as f64, 0.0, 0.0, 1.0, 0)).collect();
        let mut truth = Vec::new();
        let l = hit_labels(&hits, 1, 0.25, &mut truth);
        assert_eq!(l, vec![2, 2, 2, 2, 2, 2, 3, 3]);
        assert_eq!(truth[0].blob, 2.0);
    }

    #[test]
    fn grouping_columns_on_a_small_event() {
        // track chain 0..4 on x (diagonal step in the middle), an isolated other voxel far away,
        // and a blob pair at the chain end
        let hits = vec![
            hit(0.0, 0.0, 0.0, 0.1, 0),
            hit(1.0, 1.0, 1.0, 0.1, 0),
            hit(2.0, 1.0, 1.0, 0.1, 0),
            hit(3.0, 1.0, 1.0, 0.3, 0),
            hit(3.0, 1.0, 1.0, 0.05, OTHER),
            hit(10.0, 10.0, 10.0, 0.2, OTHER),
        ];
        let labels = vec![2, 2, 2, 3, 1, 1];
        let mut rows = Vec::new();
        let nblob = label_event(&hits, &labels, &grid(), 0, 7, &mut rows);
        assert_eq!(nblob, 1);
        assert_eq!(rows.len(), 5);
        let xs: Vec<i64> = rows.iter().map(|r| r.x).collect();
        assert_eq!(xs, vec![0, 1, 2, 3, 10]);
        let blob = &rows[3];
        assert_eq!((blob.segclass, blob.nhits), (3, 2));
        assert!((blob.ratio - 0.3 / 0.35).abs() < 1e-12);
        assert_eq!(blob.elem, "3_0");
        assert_eq!(rows[0].elem, "2_0");
        assert!((rows[0].elem_ener - 0.3).abs() < 1e-12);
        assert_eq!(rows[0].elem_count, 1.0);
        assert_eq!(rows[0].cloud, "c_0");
        assert!((rows[0].cloud_ener - 0.65).abs() < 1e-12);
        assert_eq!(rows[4].cloud, "c_1");
        assert_eq!(rows[4].cloud_count, 2.0);
        assert_eq!(rows[4].elem, "1_0");
        assert!(rows
            .iter()
            .all(|r| r.dataset_id == 7 && r.blob_success && r.nblob == 1));
    }
}
