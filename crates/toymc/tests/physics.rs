//! Physics checks of the toy: path lengths, blob labelling, event size and topology.

use nextgnn_toymc::generator::Simulator;
use nextgnn_toymc::physics::{csda_range, xenon_density, Q_BB};
use nextgnn_toymc::{Config, Kind, Toy};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn toy(kind: Kind, pressure: f64) -> Toy {
    Toy::new(Config {
        kind,
        pressure,
        seed: 11,
        ..Config::default()
    })
    .expect("valid config")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn mean_path_of_qbb_electrons_equals_the_csda_range() {
    let t = toy(Kind::Eroi, 13.0);
    let n = 2000;
    let paths: Vec<f64> = (0..n)
        .map(|i| t.event(i).unwrap().event.primary_path[0])
        .collect();
    let mean_mm = paths.iter().sum::<f64>() / n as f64;
    let rho = xenon_density(13.0);
    let csda_mm = csda_range(Q_BB, t.config().min_energy) / rho * 10.0;
    println!("mean path {mean_mm:.1} mm, CSDA integral {csda_mm:.1} mm");
    assert!(
        (mean_mm / csda_mm - 1.0).abs() < 0.05,
        "mean path {mean_mm} mm vs CSDA {csda_mm} mm"
    );
    assert!(
        (csda_mm - 245.0).abs() < 7.0,
        "CSDA range {csda_mm} mm, expected about 245 mm"
    );
}

#[test]
fn blob_holds_the_last_quarter_of_each_main_track() {
    let t = toy(Kind::Bb0nu, 13.0);
    let mut fractions = Vec::new();
    for i in 0..500 {
        for b in t.event(i).unwrap().blob {
            let f = b.blob / b.deposited;
            // the hit crossing the threshold is blob: 0.25 <= f < 0.25 + one hit
            assert!(
                f >= 0.25 - 1e-12 && f <= 0.25 + b.max_hit / b.deposited + 1e-12,
                "event {i}: blob fraction {f}"
            );
            fractions.push(f);
        }
    }
    let mean = fractions.iter().sum::<f64>() / fractions.len() as f64;
    println!(
        "mean blob fraction {mean:.4} over {} tracks",
        fractions.len()
    );
    assert!(mean > 0.25 && mean < 0.27, "mean blob fraction {mean}");
}

#[test]
fn voxels_per_event_at_13_bar() {
    let (s, b) = (toy(Kind::Bb0nu, 13.0), toy(Kind::Eroi, 13.0));
    let sig = median(
        (0..1000)
            .map(|i| s.event(i).unwrap().rows.len() as f64)
            .collect(),
    );
    let bkg = median(
        (0..1000)
            .map(|i| b.event(i).unwrap().rows.len() as f64)
            .collect(),
    );
    println!("median voxels per event at 13 bar, 5x5x4 mm: 0nubb {sig}, 1eroi {bkg}");
    // about 0.3 voxels per mm of a 245 mm track, as in the reference file (next test)
    for m in [sig, bkg] {
        assert!((55.0..=100.0).contains(&m), "median voxels {m}");
    }
}

#[test]
fn voxels_per_event_match_the_reference_file_at_its_energy_and_pressure() {
    // The reference label file: 208Tl double-escape events, ~1.6 MeV at 10.2 bar, 5x5x4 mm voxels.
    let path = nextgnn_stream::testing::golden("nexus_label_0_doublescape.h5");
    let tab = nextgnn_toymc::h5table::read_table(&path, "DATASET/MCVoxels").unwrap();
    let mut per_event = std::collections::BTreeMap::<i64, (usize, f64)>::new();
    for r in 0..tab.len() {
        let e = per_event.entry(tab.int(r, "dataset_id")).or_default();
        e.0 += 1;
        e.1 += tab.f64(r, "ener");
    }
    let ref_voxels = per_event.values().map(|v| v.0 as f64).sum::<f64>() / per_event.len() as f64;
    let ref_energy = per_event.values().map(|v| v.1).sum::<f64>() / per_event.len() as f64;
    let cfg = Config {
        pressure: 10.2,
        ..Config::default()
    };
    let t = Toy::new(cfg).unwrap();
    let sim: &Simulator = t.simulator();
    let grid = nextgnn_toymc::labelling::Grid {
        start: [-500.0, -500.0, 0.0],
        voxel: [5.0, 5.0, 4.0],
        nbins: [200, 200, 325],
    };
    let mut counts = Vec::new();
    for i in 0..500 {
        let mut rng = ChaCha8Rng::seed_from_u64(i);
        let ev = sim.electron(ref_energy, &mut rng);
        let mut keys: Vec<[i64; 3]> = ev.hits.iter().filter_map(|h| grid.index(&h.pos)).collect();
        keys.sort_unstable();
        keys.dedup();
        counts.push(keys.len() as f64);
    }
    let toy_voxels = counts.iter().sum::<f64>() / counts.len() as f64;
    println!("reference: {ref_voxels:.1} voxels at {ref_energy:.3} MeV; toy: {toy_voxels:.1}");
    assert!(
        (toy_voxels / ref_voxels - 1.0).abs() < 0.25,
        "toy {toy_voxels} vs reference {ref_voxels}"
    );
}

#[test]
fn two_blob_events_are_mostly_double_beta() {
    let (s, b) = (toy(Kind::Bb0nu, 13.0), toy(Kind::Eroi, 13.0));
    let n = 1000;
    let two =
        |t: &Toy| (0..n).filter(|&i| t.event(i).unwrap().nblob == 2).count() as f64 / n as f64;
    let (fs, fb) = (two(&s), two(&b));
    println!("two-blob fraction: 0nubb {fs:.3}, 1eroi {fb:.3}");
    assert!(fs > 0.7, "0nubb two-blob fraction {fs}");
    assert!(fb < 0.15, "1eroi two-blob fraction {fb}");
}

#[test]
fn events_depend_only_on_seed_file_number_and_index() {
    let a = toy(Kind::Mix, 13.0);
    let b = toy(Kind::Mix, 13.0);
    for i in [0, 7, 1234] {
        assert_eq!(a.event(i).unwrap().rows, b.event(i).unwrap().rows);
    }
    let other = Toy::new(Config {
        kind: Kind::Mix,
        seed: 11,
        file_number: 1,
        ..Config::default()
    })
    .unwrap();
    assert_ne!(a.event(0).unwrap().rows, other.event(0).unwrap().rows);
    assert_ne!(a.event(0).unwrap().rows, a.event(1).unwrap().rows);
}

#[test]
fn mix_follows_the_signal_fraction_and_energy_is_conserved_or_escapes() {
    let t = Toy::new(Config {
        kind: Kind::Mix,
        signal_fraction: 0.3,
        ..Config::default()
    })
    .unwrap();
    let n = 2000;
    let (mut sig, mut total) = (0, 0.0);
    for i in 0..n {
        let ev = t.event(i).unwrap();
        sig += ev.binclass as usize;
        let e: f64 = ev.rows.iter().map(|r| r.ener).sum();
        // bremsstrahlung photons may escape; nothing is created
        assert!(e <= Q_BB + 1e-9 && e > 0.0, "event {i}: {e} MeV");
        total += e;
        assert_eq!(
            ev.event.primary_energy.len(),
            if ev.binclass == 1 { 2 } else { 1 }
        );
    }
    let mean = total / n as f64;
    println!("mean deposited energy {mean:.4} MeV");
    // radiation yield of xenon at 2.5 MeV is a few per cent, and some photons convert in the gas
    assert!(
        mean > 0.93 * Q_BB && mean < 0.995 * Q_BB,
        "mean deposited energy {mean}"
    );
    let f = sig as f64 / n as f64;
    assert!((f - 0.3).abs() < 0.035, "signal fraction {f}");
}

#[test]
fn voxels_per_event_at_2_mm_are_the_125_to_165_of_the_project_issue() {
    // The issue expected a median of 100-200 (its seed production: 125-165) at 5x5x4 mm; the
    // toy and the real file give ~70 there (tests above). The same events voxelised at 2 mm fall
    // in 125-165: the figure fits a 2 mm voxelisation (docs/TOYMC.md has the table).
    let at_2mm = |kind| {
        Toy::new(Config {
            kind,
            pressure: 13.0,
            seed: 11,
            voxel_size: [2.0, 2.0, 2.0],
            ..Config::default()
        })
        .expect("valid config")
    };
    for kind in [Kind::Bb0nu, Kind::Eroi] {
        let t = at_2mm(kind);
        let m = median(
            (0..400)
                .map(|i| t.event(i).unwrap().rows.len() as f64)
                .collect(),
        );
        println!("median voxels per event at 13 bar, 2x2x2 mm: {kind:?} {m}");
        assert!((125.0..=165.0).contains(&m), "{kind:?}: median voxels {m}");
    }
}
