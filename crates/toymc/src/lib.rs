//! Toy Monte Carlo of NEXT-like events (0νββ and single electrons in high-pressure xenon gas),
//! labelled as the production does and written as label files (`DATASET/MCVoxels`, ...).
//!
//! Physics, numbers and their sources: docs/TOYMC.md.

pub mod generator;
pub mod h5table;
pub mod labelling;
pub mod physics;

use anyhow::{bail, Context, Result};
use generator::{Event, EventKind, Simulator, Volume};
use h5table::{col, ColType, Column, H5Writer, RowPacker};
use labelling::{BlobTruth, Grid, VoxelRow};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Which events a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only 0νββ events (binclass 1).
    Bb0nu,
    /// Only single electrons of energy Q_ββ (binclass 0).
    Eroi,
    /// Both, each event 0νββ with probability `signal_fraction`.
    Mix,
}

impl Kind {
    /// The tag used in file names and on the command line.
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Bb0nu => "0nubb",
            Kind::Eroi => "1eroi",
            Kind::Mix => "mix",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "0nubb" => Ok(Kind::Bb0nu),
            "1eroi" => Ok(Kind::Eroi),
            "mix" => Ok(Kind::Mix),
            _ => Err(format!("unknown kind '{s}' (expected 0nubb, 1eroi or mix)")),
        }
    }
}

/// Everything that defines a toymc file.
#[derive(Clone, Debug)]
pub struct Config {
    /// Number of events in the file.
    pub events: u64,
    /// Event kind(s).
    pub kind: Kind,
    /// Fraction of 0νββ events with `Kind::Mix`.
    pub signal_fraction: f64,
    /// Gas pressure, bar (at 293.15 K).
    pub pressure: f64,
    /// Voxel size, mm.
    pub voxel_size: [f64; 3],
    /// Lower corner of the voxel grid, mm.
    pub start_bin: [f64; 3],
    /// Extent of the voxel grid, mm (a multiple of the voxel size).
    pub total_size: [f64; 3],
    /// Radius of the gas cylinder (fiducial cut of the labelling), mm.
    pub rmax: f64,
    /// Radius of the vertex cylinder, mm.
    pub vertex_radius: f64,
    /// z range of the vertex cylinder, mm.
    pub vertex_z: [f64; 2],
    /// Master seed.
    pub seed: u64,
    /// File number (the `K` of `nexus_label_K_<kind>.h5`).
    pub file_number: u64,
    /// Maximum transport step, mm.
    pub max_step: f64,
    /// Fraction of each main electron's energy, from its end, labelled blob.
    pub blob_fraction: f64,
    /// Delta-electron production threshold, MeV.
    pub delta_cut: f64,
    /// Bremsstrahlung photon production threshold, MeV.
    pub brems_cut: f64,
    /// Tracking cut: electrons below this energy (MeV) stop.
    pub min_energy: f64,
    /// Full width of the uniform spread of the single-electron energy around Q_ββ, MeV.
    pub roi_width: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            events: 1000,
            kind: Kind::Bb0nu,
            signal_fraction: 0.5,
            pressure: 13.0,
            voxel_size: [5.0, 5.0, 4.0],
            start_bin: [-500.0, -500.0, 0.0],
            total_size: [1000.0, 1000.0, 1300.0],
            rmax: 490.0,
            vertex_radius: 440.0,
            vertex_z: [50.0, 1250.0],
            seed: 0,
            file_number: 0,
            max_step: 1.0,
            blob_fraction: 0.25,
            delta_cut: 0.05,
            brems_cut: 0.01,
            min_energy: 0.01,
            roi_width: 0.0,
        }
    }
}

/// One generated, labelled event.
#[derive(Clone, Debug)]
pub struct GeneratedEvent {
    /// 1 for 0νββ, 0 for a single electron.
    pub binclass: i8,
    /// The simulated truth (hits, primary energies and path lengths).
    pub event: Event,
    /// Blob labelling numbers per primary electron.
    pub blob: Vec<BlobTruth>,
    /// The `MCVoxels` rows, sorted by (x, y, z).
    pub rows: Vec<VoxelRow>,
    /// Number of blob elements.
    pub nblob: i64,
}

/// A validated configuration ready to generate events.
pub struct Toy {
    cfg: Config,
    sim: Simulator,
    grid: Grid,
    key: [u8; 32],
    coord_width: usize,
}

/// Attempts per event before giving up on containment.
const MAX_ATTEMPTS: usize = 1000;
/// Width of the `nhits` column: steps per voxel stay far below 32767.
const NHITS_WIDTH: usize = 2;

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ChaCha key of one file, from the master seed and the file number.
pub fn file_key(seed: u64, file_number: u64) -> [u8; 32] {
    let mut s = seed ^ 0x6E65_7874_676E_6E00; // "nextgnn"
    let _ = splitmix64(&mut s);
    s ^= file_number.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut key = [0u8; 32];
    for k in 0..4 {
        key[8 * k..8 * k + 8].copy_from_slice(&splitmix64(&mut s).to_le_bytes());
    }
    key
}

fn int_width(max: i64) -> usize {
    if max <= i8::MAX as i64 {
        1
    } else if max <= i16::MAX as i64 {
        2
    } else {
        4
    }
}

impl Toy {
    /// Validates `cfg` and builds the physics tables.
    #[allow(clippy::needless_range_loop)] // k indexes three parallel per-axis arrays
    pub fn new(cfg: Config) -> Result<Self> {
        let c = &cfg;
        if c.events == 0 {
            bail!("--events must be at least 1");
        }
        if !(1.0..=20.0).contains(&c.pressure) {
            bail!(
                "--pressure {} bar is outside the supported 1-20 bar",
                c.pressure
            );
        }
        if !(0.0..=1.0).contains(&c.signal_fraction) {
            bail!("--signal-fraction {} is not in [0, 1]", c.signal_fraction);
        }
        if !(c.blob_fraction > 0.0 && c.blob_fraction < 1.0) {
            bail!("--blob-fraction {} is not in (0, 1)", c.blob_fraction);
        }
        if !(c.max_step > 0.0 && c.max_step <= 10.0) {
            bail!("--max-step {} mm is not in (0, 10]", c.max_step);
        }
        if !(c.min_energy >= 1e-3 && c.min_energy < 0.5) {
            bail!("--min-energy {} MeV is not in [0.001, 0.5)", c.min_energy);
        }
        if !(c.delta_cut >= c.min_energy && c.delta_cut < 1.0) {
            bail!(
                "--delta-cut {} MeV must be in [--min-energy, 1)",
                c.delta_cut
            );
        }
        if !(c.brems_cut >= c.min_energy && c.brems_cut < 1.0) {
            bail!(
                "--brems-cut {} MeV must be in [--min-energy, 1)",
                c.brems_cut
            );
        }
        if !(c.roi_width >= 0.0 && c.roi_width < 0.5) {
            bail!("--roi-width {} MeV is not in [0, 0.5)", c.roi_width);
        }
        let mut nbins = [0i64; 3];
        for k in 0..3 {
            let (v, t) = (c.voxel_size[k], c.total_size[k]);
            if !(v > 0.0 && v.is_finite()) {
                bail!("--voxel-size: {v} mm is not a positive size");
            }
            let n = t / v;
            if !(n >= 1.0 && (n - n.round()).abs() < 1e-9 && n < 1e6) {
                bail!("--total-size {t} mm is not a whole number of {v} mm voxels");
            }
            nbins[k] = n.round() as i64;
        }
        let (s, t) = (c.start_bin, c.total_size);
        if !(c.rmax > 0.0
            && s[0] <= -c.rmax
            && s[1] <= -c.rmax
            && s[0] + t[0] >= c.rmax
            && s[1] + t[1] >= c.rmax)
        {
            bail!(
                "--rmax {} mm: the gas cylinder must fit inside the voxel grid in x and y",
                c.rmax
            );
        }
        if !(c.vertex_radius > 0.0 && c.vertex_radius < c.rmax) {
            bail!(
                "--vertex-radius {} mm must be in (0, --rmax)",
                c.vertex_radius
            );
        }
        if !(c.vertex_z[0] >= s[2] && c.vertex_z[1] <= s[2] + t[2] && c.vertex_z[0] < c.vertex_z[1])
        {
            bail!(
                "--vertex-z {:?} mm must be an increasing range inside the grid's z range",
                c.vertex_z
            );
        }
        let rho = physics::xenon_density(c.pressure);
        let sim = Simulator {
            transport: physics::Transport::new(rho, c.delta_cut, c.brems_cut),
            max_step: c.max_step,
            min_energy: c.min_energy,
            volume: Volume {
                rmax: c.rmax,
                z: (s[2], s[2] + t[2]),
                vertex_radius: c.vertex_radius,
                vertex_z: (c.vertex_z[0], c.vertex_z[1]),
            },
            roi_width: c.roi_width,
        };
        let grid = Grid {
            start: c.start_bin,
            voxel: c.voxel_size,
            nbins,
        };
        let coord_width = int_width(nbins.iter().copied().max().unwrap_or(1) - 1);
        Ok(Toy {
            key: file_key(c.seed, c.file_number),
            cfg,
            sim,
            grid,
            coord_width,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The transport settings.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Generates and labels event `index` of the file: its own ChaCha stream, so the result does
    /// not depend on which thread runs it or in which order.
    pub fn event(&self, index: u64) -> Result<GeneratedEvent> {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(index);
        let signal = match self.cfg.kind {
            Kind::Bb0nu => true,
            Kind::Eroi => false,
            Kind::Mix => rng.gen::<f64>() < self.cfg.signal_fraction,
        };
        let (kind, binclass) = if signal {
            (EventKind::DoubleBeta, 1)
        } else {
            (EventKind::SingleElectron, 0)
        };
        let rmax2 = self.cfg.rmax * self.cfg.rmax;
        for _ in 0..MAX_ATTEMPTS {
            let event = self.sim.event(kind, &mut rng);
            // as the production labelling: events with a hit outside the grid or at r >= Rmax are
            // dropped; here they are regenerated so that every file has exactly --events events
            let contained = event.hits.iter().all(|h| {
                h.pos[0] * h.pos[0] + h.pos[1] * h.pos[1] < rmax2
                    && self.grid.index(&h.pos).is_some()
            });
            if !contained {
                continue;
            }
            let mut blob = Vec::new();
            let labels = labelling::hit_labels(
                &event.hits,
                event.primary_energy.len(),
                self.cfg.blob_fraction,
                &mut blob,
            );
            let mut rows = Vec::new();
            let nblob = labelling::label_event(
                &event.hits,
                &labels,
                &self.grid,
                binclass,
                index as i64,
                &mut rows,
            );
            return Ok(GeneratedEvent {
                binclass,
                event,
                blob,
                rows,
                nblob,
            });
        }
        bail!("event {index}: no contained event in {MAX_ATTEMPTS} attempts (vertex cylinder too close to the gas boundary?)")
    }

    /// The `MCVoxels` columns, with the integer widths of this configuration.
    pub fn voxel_columns(&self) -> Vec<Column> {
        let cw = ColType::Int(self.coord_width);
        vec![
            col("x", cw),
            col("y", cw),
            col("z", cw),
            col("ener", ColType::F64),
            col("ratio", ColType::F64),
            col("segclass", ColType::Int(1)),
            col("nhits", ColType::Int(NHITS_WIDTH)),
            col("binclass", ColType::Int(1)),
            col("dataset_id", ColType::Int(8)),
            col("elem_ener", ColType::F64),
            col("elem", ColType::Str(32)),
            col("elem_count", ColType::F64),
            col("cloud_ener", ColType::F64),
            col("cloud", ColType::Str(32)),
            col("cloud_count", ColType::F64),
            col("nblob", ColType::Int(1)),
            col("blob_success", ColType::Bool),
        ]
    }

    /// Packs rows in `voxel_columns` order.
    pub fn pack_rows(&self, rows: &[VoxelRow], p: &mut RowPacker) -> Result<()> {
        for r in rows {
            if r.nhits > i16::MAX as i64 || r.nblob > i8::MAX as i64 {
                bail!(
                    "event {}: nhits {} or nblob {} too large for its column",
                    r.dataset_id,
                    r.nhits,
                    r.nblob
                );
            }
            p.int(r.x, self.coord_width);
            p.int(r.y, self.coord_width);
            p.int(r.z, self.coord_width);
            p.f64(r.ener);
            p.f64(r.ratio);
            p.int(r.segclass as i64, 1);
            p.int(r.nhits, NHITS_WIDTH);
            p.int(r.binclass as i64, 1);
            p.int(r.dataset_id, 8);
            p.f64(r.elem_ener);
            p.str(&r.elem, 32);
            p.f64(r.elem_count);
            p.f64(r.cloud_ener);
            p.str(&r.cloud, 32);
            p.f64(r.cloud_count);
            p.int(r.nblob, 1);
            p.bool(r.blob_success);
        }
        Ok(())
    }

    /// The output file name, `nexus_label_<K>_<kind>.h5`.
    pub fn file_name(&self) -> String {
        format!(
            "nexus_label_{}_{}.h5",
            self.cfg.file_number,
            self.cfg.kind.tag()
        )
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The file written.
    pub path: PathBuf,
    /// Events written.
    pub events: u64,
    /// 0νββ events among them.
    pub signal_events: u64,
    /// `MCVoxels` rows written.
    pub rows: u64,
    /// Median voxels per event.
    pub median_voxels: f64,
    /// Fraction of 0νββ events with exactly two blob elements (NaN without such events).
    pub two_blob_signal: f64,
    /// Fraction of single-electron events with exactly two blob elements (NaN without such events).
    pub two_blob_background: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Removes a temporary file unless disarmed.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Events generated in parallel per write.
const BATCH: u64 = 1024;

/// Generates the whole file into `out_dir` (temporary name, renamed when complete).
pub fn run(
    cfg: Config,
    out_dir: &Path,
    threads: usize,
    mut on_progress: impl FnMut(u64),
) -> Result<Summary> {
    let started = std::time::Instant::now();
    let toy = Toy::new(cfg)?;
    if out_dir.exists() && !out_dir.is_dir() {
        bail!(
            "{}: exists and is not a directory; -o names the directory the label files go into",
            out_dir.display()
        );
    }
    // Created like `mkdir -p`, so array tasks can all name the same fresh directory.
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("{}: cannot create output directory", out_dir.display()))?;
    let dest = out_dir.join(toy.file_name());
    let tmp = nextgnn_stream::output::create_temp_sibling(&dest)?.0;
    let guard = TempFile(Some(tmp.clone()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")?;
    let cfg = toy.config().clone();

    let w = H5Writer::create(&tmp)
        .with_context(|| format!("{}: cannot create output", dest.display()))?;
    let g = w.group("DATASET")?;
    let mut voxels = g.table("MCVoxels", &toy.voxel_columns(), 2048)?;
    let mut info = g.table(
        "EventsInfo",
        &[
            col("event_id", ColType::Int(8)),
            col("binclass", ColType::Int(1)),
            col("dataset_id", ColType::Int(8)),
            col("pathname", ColType::Str(128)),
            col("basename", ColType::Str(128)),
            col("label_pathname", ColType::Str(128)),
            col("label_basename", ColType::Str(128)),
        ],
        512,
    )?;
    let basename = format!(
        "toymc_seed{}_{}_{}",
        cfg.seed,
        cfg.file_number,
        cfg.kind.tag()
    );
    let label_basename = toy.file_name();

    let writing = || format!("{}: cannot write", dest.display());
    let row_size = voxels.row_size();
    let mut nvox = Vec::with_capacity(cfg.events as usize);
    let (mut signal, mut two_sig, mut two_bkg, mut rows) = (0u64, 0u64, 0u64, 0u64);
    let mut start = 0;
    while start < cfg.events {
        let end = (start + BATCH).min(cfg.events);
        let batch: Vec<(Vec<u8>, usize, i8, i64)> = pool.install(|| {
            (start..end)
                .into_par_iter()
                .map(|i| {
                    let ev = toy.event(i)?;
                    let mut p = RowPacker {
                        buf: Vec::with_capacity(ev.rows.len() * row_size),
                    };
                    toy.pack_rows(&ev.rows, &mut p)?;
                    Ok((p.buf, ev.rows.len(), ev.binclass, ev.nblob))
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut vbuf = Vec::new();
        let mut ibuf = RowPacker::default();
        for (i, (bytes, n, binclass, nblob)) in batch.into_iter().enumerate() {
            let id = start as i64 + i as i64;
            vbuf.extend_from_slice(&bytes);
            nvox.push(n);
            rows += n as u64;
            if binclass == 1 {
                signal += 1;
                two_sig += (nblob == 2) as u64;
            } else {
                two_bkg += (nblob == 2) as u64;
            }
            ibuf.int(id, 8);
            ibuf.int(binclass as i64, 1);
            ibuf.int(id, 8);
            ibuf.str("toymc", 128);
            ibuf.str(&basename, 128);
            ibuf.str("toymc", 128);
            ibuf.str(&label_basename, 128);
        }
        voxels.append(&vbuf).with_context(writing)?;
        info.append(&ibuf.buf).with_context(writing)?;
        on_progress(end - start);
        start = end;
    }
    voxels.finish().with_context(writing)?;
    info.finish().with_context(writing)?;

    let mut bins = g.table("BinsInfo", &bins_columns(), 64)?;
    let mut b = RowPacker::default();
    for k in 0..3 {
        let (s, t, v) = (cfg.start_bin[k], cfg.total_size[k], cfg.voxel_size[k]);
        for x in [s, t, v, s + t, (t + v) / v] {
            b.f64(x);
        }
    }
    // sb_th: the small-blob relabelling is not applied (NaN, like the unused ener_th)
    for x in [cfg.rmax, cfg.blob_fraction, f64::NAN, f64::NAN, 3f64.sqrt()] {
        b.f64(x);
    }
    b.str("none", 32);
    bins.append(&b.buf)?;
    bins.finish()?;
    g.table(
        "BeershebaVoxels",
        &[col("dataset_id", ColType::Str(32))],
        2048,
    )?
    .finish()?;
    drop(g);
    w.close()?;
    std::fs::rename(&tmp, &dest)
        .with_context(|| format!("{}: cannot rename into place", dest.display()))?;
    std::mem::forget(guard);

    nvox.sort_unstable();
    let median = if nvox.len() % 2 == 1 {
        nvox[nvox.len() / 2] as f64
    } else {
        (nvox[nvox.len() / 2 - 1] + nvox[nvox.len() / 2]) as f64 / 2.0
    };
    let frac = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    Ok(Summary {
        path: dest,
        events: cfg.events,
        signal_events: signal,
        rows,
        median_voxels: median,
        two_blob_signal: frac(two_sig, signal),
        two_blob_background: frac(two_bkg, cfg.events - signal),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn bins_columns() -> Vec<Column> {
    let mut v = Vec::new();
    for a in ["x", "y", "z"] {
        for f in ["min", "total", "size", "max", "nbins"] {
            v.push(col(&format!("{f}_{a}"), ColType::F64));
        }
    }
    for f in ["Rmax", "loss_th", "ener_th", "sb_th", "max_dis"] {
        v.push(col(f, ColType::F64));
    }
    v.push(col("fix_conn", ColType::Str(32)));
    v
}
