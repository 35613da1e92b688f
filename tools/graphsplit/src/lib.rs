//! graphsplit: assign the graphs of one or more streams to train, validation and test streams.
//!
//! Frames are moved as raw bytes (never decoded); only `--by-hash` and `--stratify` peek at the
//! identity fields at the start of each frame.

use anyhow::{bail, Context};
use nextgnn_stream::{
    command_line, open_streams, progress_bytes, FileReader, Output, RawFrame, Schema, StreamWriter,
};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

/// Names of the three parts, in output order; files are `<prefix>_<name>.gs`.
pub const PARTS: [&str; 3] = ["train", "valid", "test"];

/// How graphs are assigned to parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Read everything, shuffle with the seed, cut at the fractions (exact counts).
    Shuffle,
    /// Each graph by a hash of (seed, fnum, dataset_id): streaming, flat memory, counts approximate.
    ByHash,
}

/// What graphsplit does.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// Train, validation and test fractions; they add up to 1.
    pub fractions: [f64; 3],
    /// Seed of the shuffle, or of the hash in `ByHash` mode.
    pub seed: u64,
    /// Shuffle or hash assignment.
    pub mode: Mode,
    /// Cut each binclass separately so that every part keeps the class balance (shuffle mode).
    pub stratify_binclass: bool,
}

/// Checks fractions given on the command line: three numbers in [0, 1] adding up to 1.
pub fn parse_fractions(v: &[f64]) -> anyhow::Result<[f64; 3]> {
    if v.len() != 3 {
        bail!(
            "--fractions needs three numbers (train,valid,test), got {}",
            v.len()
        );
    }
    if v.iter().any(|f| !(0.0..=1.0).contains(f)) {
        bail!("--fractions must each lie in [0, 1], got {v:?}");
    }
    let s: f64 = v.iter().sum();
    if (s - 1.0).abs() > 1e-6 {
        bail!("--fractions must add up to 1, got {v:?} (sum {s:.4})");
    }
    Ok([v[0], v[1], v[2]])
}

/// Part sizes for `n` graphs: cumulative boundaries rounded to the nearest integer, so they add up to `n`.
pub fn part_counts(n: usize, f: &[f64; 3]) -> [usize; 3] {
    let c1 = ((n as f64 * f[0]).round() as usize).min(n);
    let c2 = ((n as f64 * (f[0] + f[1])).round() as usize).clamp(c1, n);
    [c1, c2 - c1, n - c2]
}

/// SplitMix64 output function (Steele, Lea, Flood 2014): a fixed, portable 64-bit mixer.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `--by-hash` draw in [0, 1) of one graph; the same in every process and on every machine.
pub fn hash_unit(seed: u64, fnum: i64, dataset_id: i64) -> f64 {
    let h = splitmix64(splitmix64(splitmix64(seed) ^ fnum as u64) ^ dataset_id as u64);
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The part (0 train, 1 valid, 2 test) that `--by-hash` assigns to a graph.
pub fn hash_part(seed: u64, fnum: i64, dataset_id: i64, f: &[f64; 3]) -> usize {
    let u = hash_unit(seed, fnum, dataset_id);
    if u < f[0] {
        0
    } else if u < f[0] + f[1] {
        1
    } else {
        2
    }
}

/// Path of one part's output file.
pub fn part_path(prefix: &str, part: usize) -> String {
    format!("{prefix}_{}.gs", PARTS[part])
}

struct Parts {
    writers: Vec<StreamWriter<Output>>,
    paths: Vec<String>,
}

impl Parts {
    fn create(prefix: &str, schema: &Schema, provenance: &str) -> anyhow::Result<Self> {
        let mut writers = Vec::new();
        let mut paths = Vec::new();
        for (k, name) in PARTS.iter().enumerate() {
            let p = part_path(prefix, k);
            let out = Output::create(&p)?;
            let prov = format!("{provenance} [{name}]");
            writers.push(
                StreamWriter::new(out, schema.clone(), &prov)
                    .with_context(|| format!("{p}: cannot write"))?,
            );
            paths.push(p);
        }
        Ok(Parts { writers, paths })
    }

    fn write(&mut self, part: usize, f: &RawFrame) -> anyhow::Result<()> {
        self.writers[part]
            .write_raw(f)
            .with_context(|| format!("{}: cannot write", self.paths[part]))
    }

    /// Commits all three files only after all three were written completely.
    fn commit(self) -> anyhow::Result<[u64; 3]> {
        let mut counts = [0u64; 3];
        let mut outs = Vec::new();
        for (k, (w, p)) in self.writers.into_iter().zip(&self.paths).enumerate() {
            counts[k] = w.graphs_written();
            let mut o = w.finish().with_context(|| format!("{p}: cannot write"))?;
            o.flush().with_context(|| format!("{p}: cannot write"))?;
            outs.push(o);
        }
        for o in outs {
            o.commit()?;
        }
        Ok(counts)
    }
}

fn provenance(readers: &[FileReader]) -> String {
    let inputs: Vec<String> = readers
        .iter()
        .flat_map(|r| r.provenance().iter().cloned())
        .collect();
    format!("{} <= {}", command_line(), inputs.join(" ; "))
}

fn input_bytes(inputs: &[String]) -> u64 {
    inputs
        .iter()
        .filter(|p| *p != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Splits `inputs` into `<prefix>_{train,valid,test}.gs`; returns the graphs written to each.
pub fn split(inputs: &[String], prefix: &str, opts: &SplitOptions) -> anyhow::Result<[u64; 3]> {
    if prefix.is_empty() {
        bail!("--prefix is empty; give a path prefix, e.g. --prefix data/next (writes data/next_train.gs, ...)");
    }
    if prefix == "-" {
        bail!("--prefix must name files (PREFIX_train.gs, ...), not stdout");
    }
    if opts.mode == Mode::ByHash && opts.stratify_binclass {
        bail!("--stratify needs the shuffle mode: --by-hash assigns each graph independently of its class, so parts keep the balance only on average");
    }
    let (schema, mut readers) = open_streams(inputs)?;
    let pb = progress_bytes(input_bytes(inputs), "splitting");
    match opts.mode {
        Mode::ByHash => {
            // Headers are all read already, so the provenance is complete before any frame.
            let mut parts = Parts::create(prefix, &schema, &provenance(&readers))?;
            for r in &mut readers {
                while let Some(f) = r.next_raw()? {
                    let ids = f.ids().map_err(|e| r.frame_error(e))?;
                    parts.write(
                        hash_part(opts.seed, ids.fnum, ids.dataset_id, &opts.fractions),
                        &f,
                    )?;
                    pb.inc(f.stored_len() as u64);
                }
            }
            pb.finish_and_clear();
            parts.commit()
        }
        Mode::Shuffle => {
            let mut frames = Vec::new();
            let mut classes = Vec::new();
            // (fnum, dataset_id) → (input, graph): one event twice would land in two parts.
            let mut seen: HashMap<(i64, i64), (usize, u64)> = HashMap::new();
            for (ri, r) in readers.iter_mut().enumerate() {
                let mut k = 0u64;
                while let Some(f) = r.next_raw()? {
                    let ids = f.ids().map_err(|e| r.frame_error(e))?;
                    if let Some((rj, j)) = seen.insert((ids.fnum, ids.dataset_id), (ri, k)) {
                        bail!(
                            "{}: graph {k} (file {} event {}) repeats graph {j} of {}: one event \
                             twice could land in both training and test; remove the copy (or, if \
                             they are different events, give their label files different file \
                             numbers: voxel2graph --fnum)",
                            inputs[ri],
                            ids.fnum,
                            ids.dataset_id,
                            inputs[rj]
                        );
                    }
                    k += 1;
                    if opts.stratify_binclass {
                        classes.push(ids.binclass);
                    }
                    pb.inc(f.stored_len() as u64);
                    frames.push(f);
                }
            }
            pb.finish_and_clear();
            let assignment = shuffle_assign(frames.len(), &classes, opts);
            let mut parts = Parts::create(prefix, &schema, &provenance(&readers))?;
            for (k, idx) in assignment.iter().enumerate() {
                for &i in idx {
                    parts.write(k, &frames[i])?;
                }
            }
            parts.commit()
        }
    }
}

/// Indices of the frames of each part, in output order. `classes` is empty unless stratifying.
pub fn shuffle_assign(n: usize, classes: &[i64], opts: &SplitOptions) -> [Vec<usize>; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut parts: [Vec<usize>; 3] = Default::default();
    if opts.stratify_binclass {
        let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
        for (i, &c) in classes.iter().enumerate() {
            groups.entry(c).or_default().push(i);
        }
        for idx in groups.values_mut() {
            idx.shuffle(&mut rng);
            let c = part_counts(idx.len(), &opts.fractions);
            parts[0].extend_from_slice(&idx[..c[0]]);
            parts[1].extend_from_slice(&idx[c[0]..c[0] + c[1]]);
            parts[2].extend_from_slice(&idx[c[0] + c[1]..]);
        }
        // Interleave the classes inside each part, as an unstratified shuffle would.
        for p in &mut parts {
            p.shuffle(&mut rng);
        }
    } else {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut rng);
        let c = part_counts(n, &opts.fractions);
        parts[0] = idx[..c[0]].to_vec();
        parts[1] = idx[c[0]..c[0] + c[1]].to_vec();
        parts[2] = idx[c[0] + c[1]..].to_vec();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_round() {
        let f = [0.8, 0.1, 0.1];
        assert_eq!(part_counts(10, &f), [8, 1, 1]);
        assert_eq!(part_counts(6, &f), [5, 0, 1]);
        assert_eq!(part_counts(0, &f), [0, 0, 0]);
        for n in 0..500 {
            for f in [
                [0.8, 0.1, 0.1],
                [1.0, 0.0, 0.0],
                [0.0, 0.0, 1.0],
                [0.33, 0.33, 0.34],
            ] {
                assert_eq!(part_counts(n, &f).iter().sum::<usize>(), n);
            }
        }
    }

    #[test]
    fn fractions_are_checked() {
        assert!(parse_fractions(&[0.8, 0.1, 0.1]).is_ok());
        assert!(parse_fractions(&[0.8, 0.2])
            .unwrap_err()
            .to_string()
            .contains("three numbers"));
        assert!(parse_fractions(&[0.8, 0.3, 0.1])
            .unwrap_err()
            .to_string()
            .contains("add up to 1"));
        assert!(parse_fractions(&[1.2, -0.1, -0.1])
            .unwrap_err()
            .to_string()
            .contains("[0, 1]"));
    }

    #[test]
    fn splitmix_matches_reference_values() {
        // First outputs of the SplitMix64 generator seeded with 0 (state advances by the golden gamma).
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn hash_split_is_close_to_fractions() {
        let f = [0.8, 0.1, 0.1];
        let mut c = [0usize; 3];
        for id in 0..100_000 {
            c[hash_part(42, 3, id, &f)] += 1;
        }
        assert!((79_000..81_000).contains(&c[0]), "{c:?}");
        assert!((9_500..10_500).contains(&c[1]), "{c:?}");
        // Another seed moves graphs between parts.
        let moved = (0..1000)
            .filter(|&i| hash_part(42, 3, i, &f) != hash_part(7, 3, i, &f))
            .count();
        assert!(moved > 100, "{moved}");
    }

    #[test]
    fn stratified_assignment_keeps_balance_and_is_deterministic() {
        let classes: Vec<i64> = (0..1000).map(|i| if i % 4 == 0 { 1 } else { 0 }).collect();
        let opts = SplitOptions {
            fractions: [0.8, 0.1, 0.1],
            seed: 5,
            mode: Mode::Shuffle,
            stratify_binclass: true,
        };
        let a = shuffle_assign(1000, &classes, &opts);
        assert_eq!(a, shuffle_assign(1000, &classes, &opts));
        let ones: Vec<usize> = a
            .iter()
            .map(|p| p.iter().filter(|&&i| classes[i] == 1).count())
            .collect();
        assert_eq!(ones, [200, 25, 25]);
        assert_eq!(a.iter().map(Vec::len).collect::<Vec<_>>(), [800, 100, 100]);
        let mut all: Vec<usize> = a.concat();
        all.sort();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }
}
