//! toymc: writes toy NEXT label files (0νββ and single electrons in xenon gas).
use anyhow::{bail, Result};
use clap::Parser;
use nextgnn_toymc::{run, Config, Kind};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  # 10,000 0nubb events, file number 3, in out/ -> out/nexus_label_3_0nubb.h5
  toymc --events 10000 --kind 0nubb --seed 1 --file-number 3 -o out

  # the matching background file (single electrons of energy Q_bb)
  toymc --events 10000 --kind 1eroi --seed 1 --file-number 4 -o out

  # SLURM array: one independent, reproducible file per task
  toymc --events 5000 --kind mix --signal-fraction 0.5 --seed 7 \\
        --file-number $SLURM_ARRAY_TASK_ID -o /scratch/toy

  # read it back
  python -c \"import pandas as pd; print(pd.read_hdf('out/nexus_label_3_0nubb.h5', 'DATASET/MCVoxels'))\"

The file has DATASET/MCVoxels (one row per voxel, the columns of the production label files),
DATASET/EventsInfo, DATASET/BinsInfo and an empty DATASET/BeershebaVoxels, readable by
pandas.read_hdf and voxel2graph. Each file's random stream depends only on (--seed, --file-number)
and each event has its own stream, so the output is identical for any number of threads.
Physics and the source of every number: docs/TOYMC.md.";

/// Generate toy NEXT label files: 0νββ events and single electrons in high-pressure xenon.
#[derive(Parser, Debug)]
#[command(name = "toymc", version, about, after_help = AFTER_HELP)]
struct Args {
    /// Number of events in the file.
    #[arg(long, default_value_t = 1000)]
    events: u64,
    /// Event kind: 0nubb (two electrons sharing Q_bb, binclass 1), 1eroi (one electron of energy
    /// Q_bb, binclass 0) or mix (both, see --signal-fraction).
    #[arg(long, default_value = "0nubb")]
    kind: Kind,
    /// With --kind mix: probability that an event is 0nubb.
    #[arg(long, default_value_t = 0.5)]
    signal_fraction: f64,
    /// Xenon pressure in bar at 20 °C (1 to 20).
    #[arg(long, default_value_t = 13.0)]
    pressure: f64,
    /// Voxel size in mm, x,y,z.
    #[arg(long, default_value = "5,5,4", value_parser = triple)]
    voxel_size: [f64; 3],
    /// Lower corner of the voxel grid in mm, x,y,z (voxel indices count from here).
    #[arg(long, default_value = "-500,-500,0", value_parser = triple, allow_hyphen_values = true)]
    start_bin: [f64; 3],
    /// Extent of the voxel grid in mm, x,y,z (whole numbers of voxels).
    #[arg(long, default_value = "1000,1000,1300", value_parser = triple)]
    total_size: [f64; 3],
    /// Radius of the gas cylinder in mm; events with a deposit at r >= rmax are regenerated.
    #[arg(long, default_value_t = 490.0)]
    rmax: f64,
    /// Radius of the cylinder in which event vertices are drawn uniformly, mm.
    #[arg(long, default_value_t = 440.0)]
    vertex_radius: f64,
    /// z range of the vertex cylinder in mm, zmin,zmax.
    #[arg(long, default_value = "50,1250", value_parser = pair, allow_hyphen_values = true)]
    vertex_z: [f64; 2],
    /// Master random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// File number K of nexus_label_K_<kind>.h5; also selects the file's random stream.
    #[arg(long, default_value_t = 0)]
    file_number: u64,
    /// Output directory (created if missing).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output_dir: PathBuf,
    /// Maximum transport step of electrons, mm.
    #[arg(long, default_value_t = 1.0)]
    max_step: f64,
    /// Fraction of each main electron's deposited energy, counted from its end, labelled blob.
    #[arg(long, default_value_t = 0.25)]
    blob_fraction: f64,
    /// Delta electrons above this energy (MeV) are produced and tracked (segclass other).
    #[arg(long, default_value_t = 0.05)]
    delta_cut: f64,
    /// Bremsstrahlung photons above this energy (MeV) are produced and converted (segclass other).
    #[arg(long, default_value_t = 0.01)]
    brems_cut: f64,
    /// Electrons below this kinetic energy (MeV) deposit the rest where they are.
    #[arg(long, default_value_t = 0.01)]
    min_energy: f64,
    /// Full width (MeV) of a uniform spread of the 1eroi electron energy around Q_bb.
    #[arg(long, default_value_t = 0.0)]
    roi_width: f64,
    /// Worker threads (0: one per core). The output does not depend on it.
    #[arg(long, default_value_t = 0, value_parser = nextgnn_stream::output::parse_threads)]
    threads: usize,
}

fn list(s: &str, n: usize) -> Result<Vec<f64>, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| format!("'{x}' is not a number"))
        })
        .collect::<Result<_, _>>()?;
    if v.len() != n || v.iter().any(|x| !x.is_finite()) {
        return Err(format!(
            "expected {n} comma-separated finite numbers, got '{s}'"
        ));
    }
    Ok(v)
}

fn triple(s: &str) -> Result<[f64; 3], String> {
    let v = list(s, 3)?;
    Ok([v[0], v[1], v[2]])
}

fn pair(s: &str) -> Result<[f64; 2], String> {
    let v = list(s, 2)?;
    Ok([v[0], v[1]])
}

fn main() {
    nextgnn_stream::output::run_main_no_atexit(|| {
        let a: Args = nextgnn_stream::parse_args();
        nextgnn_stream::output::remove_temp_files_on_signals()?;
        if a.kind != Kind::Mix && a.signal_fraction != 0.5 {
            bail!("--signal-fraction only applies to --kind mix");
        }
        let cfg = Config {
            events: a.events,
            kind: a.kind,
            signal_fraction: a.signal_fraction,
            pressure: a.pressure,
            voxel_size: a.voxel_size,
            start_bin: a.start_bin,
            total_size: a.total_size,
            rmax: a.rmax,
            vertex_radius: a.vertex_radius,
            vertex_z: a.vertex_z,
            seed: a.seed,
            file_number: a.file_number,
            max_step: a.max_step,
            blob_fraction: a.blob_fraction,
            delta_cut: a.delta_cut,
            brems_cut: a.brems_cut,
            min_energy: a.min_energy,
            roi_width: a.roi_width,
        };
        let pb = nextgnn_stream::progress(a.events, "toymc");
        let s = run(cfg, &a.output_dir, a.threads, |n| pb.inc(n))?;
        pb.finish_and_clear();
        eprintln!(
            "toymc: wrote {} ({} events, {} 0nubb, {} voxels, median {} per event) in {:.1} s ({:.0} events/s); \
             two-blob fraction: {}",
            s.path.display(),
            s.events,
            s.signal_events,
            s.rows,
            s.median_voxels,
            s.seconds,
            s.events as f64 / s.seconds,
            two_blob_text(s.two_blob_signal, s.two_blob_background)
        );
        Ok(())
    });
}

/// The two-blob fractions of the kinds present in the file (a NaN means the kind is absent).
fn two_blob_text(signal: f64, background: f64) -> String {
    [("0nubb", signal), ("1eroi", background)]
        .iter()
        .filter(|(_, f)| f.is_finite())
        .map(|(k, f)| format!("{k} {f:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}
