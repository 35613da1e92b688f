//! Event kinematics and condensed-history electron transport: energy deposits ("hits") per event.

use crate::physics::{photon_attenuation, Transport, ME, Q_BB};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Owner tag of hits from secondaries (delta electrons, bremsstrahlung conversions).
pub const OTHER: u8 = u8::MAX;

/// One energy deposit: position (mm), energy (MeV), owner (primary index or [`OTHER`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// Position in mm.
    pub pos: [f64; 3],
    /// Deposited energy in MeV.
    pub e: f64,
    /// Index of the primary electron that made it, or [`OTHER`].
    pub owner: u8,
}

/// The gas volume: a cylinder along z, plus the vertex cylinder inside it (all in mm).
#[derive(Clone, Copy, Debug)]
pub struct Volume {
    /// Radius of the gas (and of the labelling fiducial cut Rmax).
    pub rmax: f64,
    /// z extent of the gas.
    pub z: (f64, f64),
    /// Radius of the cylinder in which vertices are drawn uniformly.
    pub vertex_radius: f64,
    /// z extent of the vertex cylinder.
    pub vertex_z: (f64, f64),
}

impl Volume {
    fn contains(&self, p: &[f64; 3]) -> bool {
        p[0] * p[0] + p[1] * p[1] < self.rmax * self.rmax && p[2] >= self.z.0 && p[2] < self.z.1
    }
}

/// What to simulate per event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Neutrinoless double beta decay: two electrons sharing Q_ββ (binclass 1).
    DoubleBeta,
    /// One electron with the Q_ββ energy (binclass 0).
    SingleElectron,
}

/// Transport settings shared by all events of a run.
#[derive(Clone, Debug)]
pub struct Simulator {
    /// Energy-loss tables of the gas.
    pub transport: Transport,
    /// Maximum step length, mm.
    pub max_step: f64,
    /// Electrons below this kinetic energy (MeV) deposit what is left where they are.
    pub min_energy: f64,
    /// Gas volume and vertex cylinder.
    pub volume: Volume,
    /// Full width (MeV) of the uniform spread of the single-electron energy around Q_ββ.
    pub roi_width: f64,
}

/// The simulated truth of one event.
#[derive(Clone, Debug, Default)]
pub struct Event {
    /// All deposits; each primary's hits are contiguous and in track order.
    pub hits: Vec<Hit>,
    /// Kinetic energy of each primary electron, MeV.
    pub primary_energy: Vec<f64>,
    /// Path length of each primary electron until it stopped, mm.
    pub primary_path: Vec<f64>,
}

struct Secondary {
    pos: [f64; 3],
    dir: [f64; 3],
    t: f64,
}

impl Simulator {
    /// A vertex drawn uniformly in the vertex cylinder.
    fn vertex(&self, rng: &mut ChaCha8Rng) -> [f64; 3] {
        let v = &self.volume;
        let r = v.vertex_radius * rng.gen::<f64>().sqrt();
        let phi = std::f64::consts::TAU * rng.gen::<f64>();
        let z = v.vertex_z.0 + (v.vertex_z.1 - v.vertex_z.0) * rng.gen::<f64>();
        [r * phi.cos(), r * phi.sin(), z]
    }

    /// One electron of kinetic energy `t` (MeV) from a random vertex, isotropic.
    pub fn electron(&self, t: f64, rng: &mut ChaCha8Rng) -> Event {
        let vertex = self.vertex(rng);
        let d = isotropic(rng);
        let mut ev = Event::default();
        let mut stack = Vec::new();
        ev.primary_energy.push(t);
        let path = self.transport_electron(rng, vertex, d, t, 0, true, &mut ev.hits, &mut stack);
        ev.primary_path.push(path);
        self.secondaries(rng, &mut ev, stack);
        ev
    }

    /// Simulates one event of `kind` from `rng`.
    pub fn event(&self, kind: EventKind, rng: &mut ChaCha8Rng) -> Event {
        if kind == EventKind::SingleElectron {
            let t = Q_BB + self.roi_width * (rng.gen::<f64>() - 0.5);
            return self.electron(t, rng);
        }
        let vertex = self.vertex(rng);
        let mut ev = Event::default();
        let mut stack = Vec::new();
        let d1 = isotropic(rng);
        let (t1, t2) = sample_bb_energies(rng);
        let (b1, b2) = (
            crate::physics::beta2(t1).sqrt(),
            crate::physics::beta2(t2).sqrt(),
        );
        // dN/dcosθ ∝ 1 − β1β2 cosθ, by rejection
        let cos = loop {
            let c = 2.0 * rng.gen::<f64>() - 1.0;
            if rng.gen::<f64>() * (1.0 + b1 * b2) < 1.0 - b1 * b2 * c {
                break c;
            }
        };
        let d2 = rotate(d1, cos, std::f64::consts::TAU * rng.gen::<f64>());
        for (i, (t, d)) in [(t1, d1), (t2, d2)].into_iter().enumerate() {
            ev.primary_energy.push(t);
            let path =
                self.transport_electron(rng, vertex, d, t, i as u8, true, &mut ev.hits, &mut stack);
            ev.primary_path.push(path);
        }
        self.secondaries(rng, &mut ev, stack);
        ev
    }

    fn secondaries(&self, rng: &mut ChaCha8Rng, ev: &mut Event, mut stack: Vec<Secondary>) {
        // Secondaries make no further secondaries: their energies are small (simplification).
        while let Some(s) = stack.pop() {
            self.transport_electron(
                rng,
                s.pos,
                s.dir,
                s.t,
                OTHER,
                false,
                &mut ev.hits,
                &mut stack,
            );
        }
    }

    /// Steps one electron until it stops; returns its path length (mm).
    #[allow(clippy::too_many_arguments)]
    fn transport_electron(
        &self,
        rng: &mut ChaCha8Rng,
        mut pos: [f64; 3],
        mut dir: [f64; 3],
        mut t: f64,
        owner: u8,
        discrete: bool,
        hits: &mut Vec<Hit>,
        stack: &mut Vec<Secondary>,
    ) -> f64 {
        let tr = &self.transport;
        let rho = tr.rho;
        let mut path = 0.0;
        loop {
            if t <= self.min_energy {
                hits.push(Hit { pos, e: t, owner });
                return path;
            }
            let r = tr.rates(t);
            // ≤ max_step and ≤ 20 % of the energy, so the tables stay valid across a step
            let s = self.max_step.min(2.0 * t / (r.s_total * rho));
            let x = rho * s * 0.1; // g/cm²
            let (mean, var) = if discrete {
                (r.s_cont * x, r.strag_var * x)
            } else {
                (r.s_total * x, r.strag_var * x)
            };
            let de = sample_gamma(rng, mean, var);
            for k in 0..3 {
                pos[k] += dir[k] * s;
            }
            path += s;
            if de >= t {
                hits.push(Hit { pos, e: t, owner });
                return path;
            }
            t -= de;
            hits.push(Hit { pos, e: de, owner });
            if discrete {
                let (pd, pb) = (r.delta_rate * x, r.brems_rate * x);
                let u: f64 = rng.gen();
                if u < pd {
                    let tc = tr.delta_cut;
                    let w = 1.0 / (1.0 / tc - rng.gen::<f64>() * (1.0 / tc - 2.0 / t));
                    if w < t - self.min_energy {
                        let cos = (w * (t + 2.0 * ME) / (t * (w + 2.0 * ME))).sqrt().min(1.0);
                        let d = rotate(dir, cos, std::f64::consts::TAU * rng.gen::<f64>());
                        stack.push(Secondary { pos, dir: d, t: w });
                        t -= w;
                    }
                } else if u < pd + pb {
                    let kc = tr.brems_cut;
                    let k = kc * (t / kc).powf(rng.gen::<f64>());
                    if k < t - self.min_energy {
                        t -= k;
                        self.photon(rng, pos, dir, t + k, k, stack);
                    }
                }
            }
            // multiple scattering: two projected Gaussian angles give θ and φ without trig for φ
            let theta0 = Transport::highland_theta0(&r, x);
            let gx: f64 = StandardNormal.sample(rng);
            let gy: f64 = StandardNormal.sample(rng);
            let g = (gx * gx + gy * gy).sqrt();
            if g > 0.0 {
                let theta = theta0 * g;
                let (st, ct) = theta.sin_cos();
                dir = rotate_sc(dir, st, ct, gx / g, gy / g);
            }
        }
    }

    /// A bremsstrahlung photon of energy `k` emitted by an electron of kinetic energy `t_parent`:
    /// it converts (photoabsorption) at an exponentially distributed distance, or escapes.
    fn photon(
        &self,
        rng: &mut ChaCha8Rng,
        pos: [f64; 3],
        dir: [f64; 3],
        t_parent: f64,
        k: f64,
        stack: &mut Vec<Secondary>,
    ) {
        // emission angle ~ m/E: Rayleigh-distributed with that scale
        let scale = ME / (t_parent + ME);
        let theta = scale * (-2.0 * (1.0 - rng.gen::<f64>()).ln()).sqrt();
        let d = rotate(dir, theta.cos(), std::f64::consts::TAU * rng.gen::<f64>());
        let mu = photon_attenuation(k) * self.transport.rho; // 1/cm
        let dist = -(1.0 - rng.gen::<f64>()).ln() / mu * 10.0; // mm
        let p = [
            pos[0] + d[0] * dist,
            pos[1] + d[1] * dist,
            pos[2] + d[2] * dist,
        ];
        if self.volume.contains(&p) {
            stack.push(Secondary {
                pos: p,
                dir: isotropic(rng),
                t: k,
            });
        }
    }
}

/// Energies of the two 0νββ electrons: dN/dT1 ∝ (T1+m)²(T2+m)², T1+T2 = Q (Primakoff–Rosen).
pub fn sample_bb_energies(rng: &mut ChaCha8Rng) -> (f64, f64) {
    let peak = (Q_BB / 2.0 + ME).powi(4);
    loop {
        let t1 = Q_BB * rng.gen::<f64>();
        let (e1, e2) = (t1 + ME, Q_BB - t1 + ME);
        if rng.gen::<f64>() * peak < (e1 * e2).powi(2) {
            return (t1, Q_BB - t1);
        }
    }
}

/// A uniformly distributed unit vector.
pub fn isotropic(rng: &mut ChaCha8Rng) -> [f64; 3] {
    let c = 2.0 * rng.gen::<f64>() - 1.0;
    let s = (1.0 - c * c).max(0.0).sqrt();
    let (sp, cp) = (std::f64::consts::TAU * rng.gen::<f64>()).sin_cos();
    [s * cp, s * sp, c]
}

/// `d` turned by polar angle acos(`cos`) and azimuth `phi` around itself.
pub fn rotate(d: [f64; 3], cos: f64, phi: f64) -> [f64; 3] {
    let sin = (1.0 - cos * cos).max(0.0).sqrt();
    let (sp, cp) = phi.sin_cos();
    rotate_sc(d, sin, cos, cp, sp)
}

/// `d` turned by a polar angle (sin, cos) and azimuth (cos φ, sin φ), renormalised.
#[inline]
fn rotate_sc(d: [f64; 3], st: f64, ct: f64, cp: f64, sp: f64) -> [f64; 3] {
    let (px, py, pz) = (st * cp, st * sp, ct);
    let perp2 = d[0] * d[0] + d[1] * d[1];
    let n = if perp2 > 1e-20 {
        let up = perp2.sqrt();
        [
            (d[0] * d[2] * px - d[1] * py) / up + d[0] * pz,
            (d[1] * d[2] * px + d[0] * py) / up + d[1] * pz,
            -up * px + d[2] * pz,
        ]
    } else if d[2] >= 0.0 {
        [px, py, pz]
    } else {
        [-px, -py, -pz]
    };
    let norm = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    [n[0] / norm, n[1] / norm, n[2] / norm]
}

/// Energy loss with the given mean and variance: a gamma variate (positive, exact mean).
#[inline]
pub fn sample_gamma(rng: &mut ChaCha8Rng, mean: f64, var: f64) -> f64 {
    if mean <= 0.0 || var <= 0.0 {
        return mean.max(0.0);
    }
    let shape = mean * mean / var;
    let scale = var / mean;
    if shape > 1e4 {
        let g: f64 = StandardNormal.sample(rng);
        return (mean + var.sqrt() * g).max(0.0);
    }
    // Marsaglia–Tsang; shapes below 1 use the U^(1/k) boost
    let (k, boost) = if shape < 1.0 {
        (shape + 1.0, rng.gen::<f64>().powf(1.0 / shape))
    } else {
        (shape, 1.0)
    };
    let d = k - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z: f64 = StandardNormal.sample(rng);
        let v = 1.0 + c * z;
        if v <= 0.0 {
            continue;
        }
        let v3 = v * v * v;
        let u: f64 = rng.gen();
        if u < 1.0 - 0.0331 * z * z * z * z || u.ln() < 0.5 * z * z + d * (1.0 - v3 + v3.ln()) {
            return d * v3 * scale * boost;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn gamma_has_requested_mean_and_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (m, v) in [(7e-3, 1.5e-5), (1e-3, 4e-6), (2.0, 0.01)] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| sample_gamma(&mut rng, m, v)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!((mean / m - 1.0).abs() < 0.01, "mean {mean} vs {m}");
            assert!((var / v - 1.0).abs() < 0.03, "var {var} vs {v}");
        }
    }

    #[test]
    fn bb_energies_sum_to_q_and_peak_in_the_middle() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut mid = 0;
        let n = 20_000;
        for _ in 0..n {
            let (a, b) = sample_bb_energies(&mut rng);
            assert!((a + b - Q_BB).abs() < 1e-12 && a >= 0.0 && b >= 0.0);
            if (a - Q_BB / 2.0).abs() < Q_BB / 6.0 {
                mid += 1;
            }
        }
        // uniform would put 1/3 in the central third; (E1 E2)² favours it
        assert!(mid as f64 / n as f64 > 0.40, "{mid}");
    }

    #[test]
    fn rotation_keeps_unit_length_and_angle() {
        let d = [0.6, 0.0, 0.8];
        let r = rotate(d, 0.3, 1.1);
        let dot = d[0] * r[0] + d[1] * r[1] + d[2] * r[2];
        assert!((dot - 0.3).abs() < 1e-12);
        assert!(((r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) - 1.0).abs() < 1e-12);
    }
}
