//! Xenon gas and electron physics: density, stopping powers, straggling, scattering, attenuation.
//!
//! Every constant carries its source; docs/TOYMC.md lists them with the simplifications.

/// Electron rest energy, MeV (CODATA 2018).
pub const ME: f64 = 0.510_998_95;
/// Atomic number of xenon.
pub const Z_XE: f64 = 54.0;
/// Standard atomic weight of xenon, g/mol (IUPAC).
pub const A_XE: f64 = 131.293;
/// Mean excitation energy of xenon, MeV (482 eV, ICRU Report 37, as used by NIST ESTAR).
pub const I_XE: f64 = 482.0e-6;
/// Radiation length of xenon, g/cm² (PDG, Atomic and nuclear properties of materials).
pub const X0_XE: f64 = 8.48;
/// Q value of 136Xe double beta decay, MeV (Redshaw et al., PRL 98 (2007) 053003).
pub const Q_BB: f64 = 2.457_83;
/// 2π N_A r_e² m_e c², MeV cm²/mol (PDG, Passage of particles through matter, K/2).
const K_HALF: f64 = 0.153_536;
/// Gas constant, J/(mol K) (CODATA 2018).
const R_GAS: f64 = 8.314_462_618;
/// Temperature of the gas, K (20 °C, as in the NIST WebBook values below).
pub const T_GAS: f64 = 293.15;
/// Second virial coefficient of xenon at 293.15 K, m³/mol: fitted to the NIST WebBook densities.
const VIRIAL_B: f64 = -135.247e-6;
/// Third virial coefficient of xenon at 293.15 K, m⁶/mol²: fitted with `VIRIAL_B`.
const VIRIAL_C: f64 = 6694.43e-12;

/// Xenon densities at 293.15 K from the NIST Chemistry WebBook (bar, kg/m³): the fit points.
pub const NIST_DENSITY: [(f64, f64); 3] = [(10.0, 57.16), (13.0, 75.77), (15.0, 88.62)];

/// Xenon gas density in g/cm³ at `pressure_bar` and 293.15 K.
///
/// Virial equation p = ρRT(1 + Bρ + Cρ²) with B, C fitted to [`NIST_DENSITY`]; reproduces the three
/// points to 0.01 kg/m³ and tends to the ideal gas at low pressure.
pub fn xenon_density(pressure_bar: f64) -> f64 {
    let p = pressure_bar * 1e5;
    let rt = R_GAS * T_GAS;
    let mut rho = p / rt; // mol/m³, ideal-gas start
    for _ in 0..50 {
        let f = rho * rt * (1.0 + VIRIAL_B * rho + VIRIAL_C * rho * rho) - p;
        let df = rt * (1.0 + 2.0 * VIRIAL_B * rho + 3.0 * VIRIAL_C * rho * rho);
        let step = f / df;
        rho -= step;
        if step.abs() < 1e-12 * rho {
            break;
        }
    }
    rho * A_XE * 1e-6 // mol/m³ × g/mol → g/m³ → g/cm³
}

/// β² of an electron of kinetic energy `t` (MeV).
pub fn beta2(t: f64) -> f64 {
    let g = 1.0 + t / ME;
    1.0 - 1.0 / (g * g)
}

/// Z/A of xenon, mol/g.
const ZA: f64 = Z_XE / A_XE;

/// Collision stopping power of xenon for electrons, MeV cm²/g (ICRU Report 37 formula, as ESTAR).
///
/// The density-effect correction is zero: for xenon gas below 20 bar it starts above βγ ≈ 10,
/// far beyond the 2.5 MeV of this generator.
pub fn collision_stopping_power(t: f64) -> f64 {
    let tau = t / ME;
    let b2 = beta2(t);
    let f = 1.0 - b2
        + (tau * tau / 8.0 - (2.0 * tau + 1.0) * std::f64::consts::LN_2)
            / ((tau + 1.0) * (tau + 1.0));
    let i = I_XE / ME;
    K_HALF * ZA / b2 * ((tau * tau * (tau + 2.0) / (2.0 * i * i)).ln() + f)
}

/// Radiative stopping power of xenon, MeV cm²/g: S_col · T·Z / 700 MeV (Knoll, Radiation
/// Detection and Measurement, eq. 2.12).
pub fn radiative_stopping_power(t: f64) -> f64 {
    collision_stopping_power(t) * t * Z_XE / 700.0
}

/// Total (collision + radiative) stopping power, MeV cm²/g.
pub fn total_stopping_power(t: f64) -> f64 {
    collision_stopping_power(t) + radiative_stopping_power(t)
}

/// CSDA range in g/cm² from `t0` down to `t_min` (MeV): ∫ dT / S_total(T), log-spaced midpoint rule.
pub fn csda_range(t0: f64, t_min: f64) -> f64 {
    let n = 4000;
    let (lo, hi) = (t_min.ln(), t0.ln());
    let h = (hi - lo) / n as f64;
    (0..n)
        .map(|i| {
            let t = (lo + (i as f64 + 0.5) * h).exp();
            t / total_stopping_power(t) * h
        })
        .sum()
}

/// Mass attenuation coefficients of xenon for photons (MeV, cm²/g), rounded from NIST XCOM
/// (total with coherent scattering); log-log interpolated. Includes the K edge at 34.56 keV.
const XE_ATTENUATION: [(f64, f64); 19] = [
    (0.010, 170.0),
    (0.020, 27.0),
    (0.030, 9.2),
    (0.03456, 6.3),
    (0.03457, 36.0),
    (0.040, 24.0),
    (0.050, 13.0),
    (0.060, 8.0),
    (0.080, 3.8),
    (0.100, 2.1),
    (0.150, 0.72),
    (0.200, 0.37),
    (0.300, 0.17),
    (0.400, 0.12),
    (0.500, 0.094),
    (0.800, 0.067),
    (1.000, 0.058),
    (2.000, 0.042),
    (3.000, 0.038),
];

/// Photon mass attenuation coefficient of xenon at energy `k` (MeV), cm²/g.
pub fn photon_attenuation(k: f64) -> f64 {
    let tab = &XE_ATTENUATION;
    if k <= tab[0].0 {
        return tab[0].1;
    }
    for w in tab.windows(2) {
        let ((e0, m0), (e1, m1)) = (w[0], w[1]);
        if k <= e1 {
            let f = (k / e0).ln() / (e1 / e0).ln();
            return (m0.ln() + f * (m1 / m0).ln()).exp();
        }
    }
    tab[tab.len() - 1].1
}

/// One precomputed row of the transport table (all rates per g/cm²).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rates {
    /// Total stopping power (collision + radiative), MeV cm²/g: sets the step length.
    pub s_total: f64,
    /// Continuous part: restricted collision loss plus bremsstrahlung below the photon cut.
    pub s_cont: f64,
    /// Bohr energy-loss variance of the continuous part, MeV² cm²/g.
    pub strag_var: f64,
    /// Number of delta electrons above the delta cut per g/cm².
    pub delta_rate: f64,
    /// Number of bremsstrahlung photons above the photon cut per g/cm².
    pub brems_rate: f64,
    /// 13.6 MeV / (βcp): the Highland prefactor.
    pub highland: f64,
    /// β², for the Highland logarithm.
    pub beta2: f64,
}

/// Energy-loss tables for one medium and production cuts, on a log-spaced kinetic-energy grid.
#[derive(Clone, Debug)]
pub struct Transport {
    /// Gas density, g/cm³.
    pub rho: f64,
    /// Delta-electron production threshold, MeV.
    pub delta_cut: f64,
    /// Bremsstrahlung photon production threshold, MeV.
    pub brems_cut: f64,
    ln_min: f64,
    inv_dln: f64,
    rows: Vec<Rates>,
}

const GRID_MIN: f64 = 1e-3;
const GRID_MAX: f64 = 4.0;
const GRID_N: usize = 512;

impl Transport {
    /// Builds the tables for density `rho` (g/cm³) and the given cuts (MeV).
    pub fn new(rho: f64, delta_cut: f64, brems_cut: f64) -> Self {
        let ln_min = GRID_MIN.ln();
        let dln = (GRID_MAX.ln() - ln_min) / (GRID_N - 1) as f64;
        let rows = (0..GRID_N)
            .map(|i| Self::rates_at((ln_min + i as f64 * dln).exp(), delta_cut, brems_cut))
            .collect();
        Transport {
            rho,
            delta_cut,
            brems_cut,
            ln_min,
            inv_dln: 1.0 / dln,
            rows,
        }
    }

    /// Exact (not interpolated) rates at kinetic energy `t`.
    ///
    /// Delta electrons: Møller cross-section in its W ≪ T limit, K/2·(Z/A)/β²/W² for
    /// W in [cut, T/2]; bremsstrahlung: dσ/dk ∝ 1/k on [0, T] normalised to the radiative
    /// stopping power. The continuous part is what is left of the total after the discrete part,
    /// so the mean energy loss per length is the total stopping power.
    pub fn rates_at(t: f64, delta_cut: f64, brems_cut: f64) -> Rates {
        let b2 = beta2(t);
        let s_col = collision_stopping_power(t);
        let s_rad = radiative_stopping_power(t);
        let k = K_HALF * ZA / b2;
        let (delta_rate, delta_mean, w_max) = if t > 2.0 * delta_cut {
            (
                k * (1.0 / delta_cut - 2.0 / t),
                k * (t / (2.0 * delta_cut)).ln(),
                delta_cut,
            )
        } else {
            (0.0, 0.0, t / 2.0)
        };
        let (brems_rate, soft_rad) = if t > brems_cut {
            (s_rad / t * (t / brems_cut).ln(), s_rad / t * brems_cut)
        } else {
            (0.0, s_rad)
        };
        let pc = (t * (t + 2.0 * ME)).sqrt();
        Rates {
            s_total: s_col + s_rad,
            s_cont: (s_col - delta_mean).max(0.0) + soft_rad,
            strag_var: k * w_max * (1.0 - b2 / 2.0),
            delta_rate,
            brems_rate,
            highland: 13.6 / (b2.sqrt() * pc),
            beta2: b2,
        }
    }

    /// Rates at `t` by linear interpolation in ln T.
    #[inline]
    pub fn rates(&self, t: f64) -> Rates {
        let u =
            ((t.max(GRID_MIN).ln() - self.ln_min) * self.inv_dln).min((GRID_N - 1) as f64 - 1e-9);
        let i = u as usize;
        let f = u - i as f64;
        let (a, b) = (&self.rows[i], &self.rows[i + 1]);
        let l = |x: f64, y: f64| x + f * (y - x);
        Rates {
            s_total: l(a.s_total, b.s_total),
            s_cont: l(a.s_cont, b.s_cont),
            strag_var: l(a.strag_var, b.strag_var),
            delta_rate: l(a.delta_rate, b.delta_rate),
            brems_rate: l(a.brems_rate, b.brems_rate),
            highland: l(a.highland, b.highland),
            beta2: l(a.beta2, b.beta2),
        }
    }

    /// Highland scattering angle θ0 (rad, plane-projected) for a step of `x` g/cm² (PDG eq. 34.15).
    #[inline]
    pub fn highland_theta0(r: &Rates, x: f64) -> f64 {
        let xr = x / X0_XE;
        (r.highland * xr.sqrt() * (1.0 + 0.038 * (xr / r.beta2).ln())).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_reproduces_nist_points_and_ideal_gas_limit() {
        for (p, rho) in NIST_DENSITY {
            let got = xenon_density(p) * 1e3;
            assert!((got - rho).abs() < 0.02, "{p} bar: {got} vs {rho}");
        }
        let ideal = 0.1e5 * A_XE / (R_GAS * T_GAS) * 1e-6;
        assert!((xenon_density(0.1) / ideal - 1.0).abs() < 2e-3);
    }

    #[test]
    fn collision_stopping_power_matches_estar_values() {
        // ESTAR xenon collision stopping powers quoted in the project's issue.
        for (t, s) in [(0.1, 2.27), (1.0, 1.12), (2.458, 1.18)] {
            let got = collision_stopping_power(t);
            assert!((got / s - 1.0).abs() < 0.005, "{t} MeV: {got} vs {s}");
        }
    }

    #[test]
    fn csda_range_at_13_bar_is_about_24_5_cm() {
        let r = csda_range(Q_BB, 1e-3) / xenon_density(13.0);
        assert!((r - 24.5).abs() < 0.5, "CSDA range {r} cm");
    }

    #[test]
    fn discrete_plus_continuous_loss_equals_total_stopping_power() {
        for t in [0.05, 0.3, 1.0, 2.4] {
            let r = Transport::rates_at(t, 0.05, 0.01);
            // mean discrete energies: deltas K'/β² ln(T/2Tc); photons S_rad/T (T - kc)
            let k = K_HALF * ZA / beta2(t);
            let delta = if t > 0.1 { k * (t / 0.1).ln() } else { 0.0 };
            let brems = radiative_stopping_power(t) / t * (t - 0.01);
            let sum = r.s_cont + delta + brems;
            assert!(
                (sum / r.s_total - 1.0).abs() < 1e-9,
                "{t}: {sum} vs {}",
                r.s_total
            );
        }
    }

    #[test]
    fn interpolated_rates_follow_exact_rates() {
        let tr = Transport::new(0.0758, 0.05, 0.01);
        for t in [0.011, 0.2, 1.7, 2.45] {
            let (a, b) = (tr.rates(t), Transport::rates_at(t, 0.05, 0.01));
            assert!((a.s_total / b.s_total - 1.0).abs() < 1e-3);
            assert!((a.s_cont / b.s_cont - 1.0).abs() < 2e-3);
        }
    }

    #[test]
    fn attenuation_has_k_edge_and_decreases_above_it() {
        assert!(photon_attenuation(0.035) > 4.0 * photon_attenuation(0.034));
        assert!(photon_attenuation(0.5) < photon_attenuation(0.1));
        assert!((photon_attenuation(0.1) - 2.1).abs() < 1e-9);
    }
}
