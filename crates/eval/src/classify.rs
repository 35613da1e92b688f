//! Event classification figures: ROC curve, AUC, figure of merit and working points.
//!
//! Signal is binclass 1 and an event is selected when its signal score is `>= threshold`.
//! Efficiencies are fractions of the true class that pass; background rejection is `1 - εb` and
//! the rejection factor is `1 / εb` (the "5×" of NEXT papers). Uncertainties are binomial,
//! `sqrt(p (1 - p) / n)`, and propagated to derived quantities to first order.

use serde::Serialize;

/// Default minimum number of background events a cut must pass to compete for the best `εs/√εb`.
pub const DEFAULT_FOM_MIN_BACKGROUND: u64 = 10;

/// Binomial standard error of a fraction `p` measured on `n` trials (0 when `n` is 0).
pub fn binomial_err(p: f64, n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    (p * (1.0 - p) / n as f64).max(0.0).sqrt()
}

/// One point of the ROC curve: the selection `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocPoint {
    /// Score cut; `+inf` for the first point, which selects nothing.
    pub threshold: f64,
    /// Signal events passing.
    pub signal_pass: u64,
    /// Background events passing.
    pub background_pass: u64,
    /// Signal efficiency εs.
    pub efficiency: f64,
    /// Background efficiency εb (mistag rate).
    pub background_efficiency: f64,
    /// Background rejection `1 - εb`.
    pub rejection: f64,
}

/// A ROC curve from the strictest cut (nothing selected) to the loosest (everything selected).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roc {
    /// Number of signal events (binclass 1).
    pub n_signal: u64,
    /// Number of background events (binclass 0).
    pub n_background: u64,
    /// One point per distinct score, plus the leading nothing-selected point.
    pub points: Vec<RocPoint>,
}

/// A chosen cut with its efficiencies, rejection and figure of merit, each with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WorkingPoint {
    /// The requested rejection or efficiency, when the point was chosen by one.
    pub target: Option<f64>,
    /// Score cut (`score >= threshold` is selected).
    pub threshold: f64,
    /// Signal efficiency εs.
    pub efficiency: f64,
    /// Binomial uncertainty of εs.
    pub efficiency_err: f64,
    /// Background efficiency εb.
    pub background_efficiency: f64,
    /// Background rejection `1 - εb`.
    pub rejection: f64,
    /// Binomial uncertainty of εb, hence of the rejection.
    pub rejection_err: f64,
    /// Rejection factor `1 / εb`; infinite (JSON null) when no background passes.
    pub rejection_factor: f64,
    /// First-order uncertainty of the rejection factor, `σεb / εb²`.
    pub rejection_factor_err: f64,
    /// Figure of merit `εs / sqrt(εb)`; infinite (JSON null) when no background passes.
    pub fom: f64,
    /// First-order uncertainty of the figure of merit.
    pub fom_err: f64,
}

/// Why a ROC curve cannot be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum RocError {
    /// Labels and scores differ in length.
    Length { labels: usize, scores: usize },
    /// A score is NaN or infinite (index of the first).
    NonFinite { index: usize },
    /// Only one class is present: efficiency or rejection is undefined.
    SingleClass { n_signal: u64, n_background: u64 },
}

impl std::fmt::Display for RocError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RocError::Length { labels, scores } => {
                write!(f, "{labels} labels but {scores} scores")
            }
            RocError::NonFinite { index } => {
                write!(f, "score of row {index} is not a finite number")
            }
            RocError::SingleClass {
                n_signal,
                n_background,
            } => write!(
                f,
                "a ROC curve needs both classes, but there are {n_signal} signal (binclass 1) and \
                 {n_background} background (binclass 0) events"
            ),
        }
    }
}

impl std::error::Error for RocError {}

impl Roc {
    /// Builds the curve from per-event truth (`true` = signal) and signal scores.
    pub fn new(is_signal: &[bool], scores: &[f64]) -> Result<Roc, RocError> {
        if is_signal.len() != scores.len() {
            return Err(RocError::Length {
                labels: is_signal.len(),
                scores: scores.len(),
            });
        }
        if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
            return Err(RocError::NonFinite { index });
        }
        let n_signal = is_signal.iter().filter(|&&s| s).count() as u64;
        let n_background = is_signal.len() as u64 - n_signal;
        if n_signal == 0 || n_background == 0 {
            return Err(RocError::SingleClass {
                n_signal,
                n_background,
            });
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        // Descending score; the index breaks ties only to make the order total, ties are grouped below.
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));

        let point = |threshold: f64, s: u64, b: u64| {
            let eb = b as f64 / n_background as f64;
            RocPoint {
                threshold,
                signal_pass: s,
                background_pass: b,
                efficiency: s as f64 / n_signal as f64,
                background_efficiency: eb,
                rejection: 1.0 - eb,
            }
        };
        let mut points = vec![point(f64::INFINITY, 0, 0)];
        let (mut s, mut b) = (0u64, 0u64);
        let mut i = 0;
        while i < order.len() {
            let t = scores[order[i]];
            // Equal scores pass or fail together, so they make one point (a diagonal step).
            while i < order.len() && scores[order[i]] == t {
                if is_signal[order[i]] {
                    s += 1;
                } else {
                    b += 1;
                }
                i += 1;
            }
            points.push(point(t, s, b));
        }
        Ok(Roc {
            n_signal,
            n_background,
            points,
        })
    }

    /// Area under the curve of εs against εb (trapezoids; a tie counts one half, as Mann–Whitney).
    pub fn auc(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| {
                (w[1].background_efficiency - w[0].background_efficiency)
                    * (w[1].efficiency + w[0].efficiency)
                    / 2.0
            })
            .sum()
    }

    /// The working point of a curve point, with uncertainties.
    pub fn working_point(&self, p: &RocPoint, target: Option<f64>) -> WorkingPoint {
        let es = p.efficiency;
        let eb = p.background_efficiency;
        let ses = binomial_err(es, self.n_signal);
        let seb = binomial_err(eb, self.n_background);
        let (factor, factor_err, fom, fom_err) = if p.background_pass == 0 {
            (f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY)
        } else {
            let fom = es / eb.sqrt();
            let fom_err = ((ses / eb.sqrt()).powi(2) + (fom * seb / (2.0 * eb)).powi(2)).sqrt();
            (1.0 / eb, seb / (eb * eb), fom, fom_err)
        };
        WorkingPoint {
            target,
            threshold: p.threshold,
            efficiency: es,
            efficiency_err: ses,
            background_efficiency: eb,
            rejection: p.rejection,
            rejection_err: seb,
            rejection_factor: factor,
            rejection_factor_err: factor_err,
            fom,
            fom_err,
        }
    }

    /// The cut maximising `εs / sqrt(εb)` among cuts that pass at least `min_background`
    /// background events (at least one, at most all of them).
    ///
    /// Cuts passing no or very few background events have a figure of merit that only reflects
    /// the sample size (one event in a thousand gives "1000× rejection ± 100 %"), so they are
    /// left out; among equal figures the stricter cut wins.
    pub fn best_fom(&self, min_background: u64) -> Option<WorkingPoint> {
        let min_background = min_background.clamp(1, self.n_background);
        let mut best: Option<(f64, &RocPoint)> = None;
        for p in self
            .points
            .iter()
            .filter(|p| p.background_pass >= min_background)
        {
            let f = p.efficiency / p.background_efficiency.sqrt();
            if best.is_none_or(|(bf, _)| f > bf) {
                best = Some((f, p));
            }
        }
        best.map(|(_, p)| self.working_point(p, None))
    }

    /// The highest signal efficiency whose background rejection is at least `rejection`.
    ///
    /// Among cuts of equal efficiency the one with the higher rejection is taken. The curve is a
    /// step function here (no interpolation), so the reported rejection is the one really achieved.
    pub fn at_rejection(&self, rejection: f64) -> Option<WorkingPoint> {
        if !(0.0..=1.0).contains(&rejection) {
            return None;
        }
        let max_bkg = (1.0 - rejection) * self.n_background as f64 + 1e-9;
        let mut best: Option<&RocPoint> = None;
        for p in self
            .points
            .iter()
            .filter(|p| p.background_pass as f64 <= max_bkg)
        {
            if best.is_none_or(|b| p.signal_pass > b.signal_pass) {
                best = Some(p);
            }
        }
        best.map(|p| self.working_point(p, Some(rejection)))
    }

    /// The highest background rejection whose signal efficiency is at least `efficiency`.
    ///
    /// Among cuts of equal rejection the one with the higher efficiency is taken.
    pub fn at_efficiency(&self, efficiency: f64) -> Option<WorkingPoint> {
        if !(0.0..=1.0).contains(&efficiency) {
            return None;
        }
        let min_sig = efficiency * self.n_signal as f64 - 1e-9;
        let mut best: Option<&RocPoint> = None;
        for p in self
            .points
            .iter()
            .filter(|p| p.signal_pass as f64 >= min_sig)
        {
            let better = best.is_none_or(|b| {
                p.background_pass < b.background_pass
                    || (p.background_pass == b.background_pass && p.signal_pass > b.signal_pass)
            });
            if better {
                best = Some(p);
            }
        }
        best.map(|p| self.working_point(p, Some(efficiency)))
    }
}

/// Two-class confusion matrix at one cut: `matrix[true][predicted]`, class 1 = signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryConfusion {
    /// The cut: predicted signal when `score >= threshold`.
    pub threshold: f64,
    /// Counts, rows = true class (0 background, 1 signal), columns = predicted class.
    pub matrix: [[u64; 2]; 2],
    /// Fraction of events whose predicted class is the true one.
    pub accuracy: f64,
    /// Binomial uncertainty of the accuracy.
    pub accuracy_err: f64,
}

impl BinaryConfusion {
    /// Counts true/predicted classes for the cut `score >= threshold`.
    pub fn new(is_signal: &[bool], scores: &[f64], threshold: f64) -> BinaryConfusion {
        let mut matrix = [[0u64; 2]; 2];
        for (&t, &s) in is_signal.iter().zip(scores) {
            matrix[t as usize][(s >= threshold) as usize] += 1;
        }
        let n = is_signal.len().min(scores.len()) as u64;
        let correct = matrix[0][0] + matrix[1][1];
        let accuracy = if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        };
        BinaryConfusion {
            threshold,
            matrix,
            accuracy,
            accuracy_err: binomial_err(accuracy, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Eight events, hand-ranked: s b s s b b s b with scores 0.9 down to 0.2.
    fn eight() -> (Vec<bool>, Vec<f64>) {
        let sig = vec![true, false, true, true, false, false, true, false];
        let scores = vec![0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
        (sig, scores)
    }

    #[test]
    fn roc_points_by_hand() {
        let (sig, scores) = eight();
        let roc = Roc::new(&sig, &scores).unwrap();
        assert_eq!((roc.n_signal, roc.n_background), (4, 4));
        let got: Vec<(f64, u64, u64)> = roc
            .points
            .iter()
            .map(|p| (p.threshold, p.signal_pass, p.background_pass))
            .collect();
        let want = vec![
            (f64::INFINITY, 0, 0),
            (0.9, 1, 0),
            (0.8, 1, 1),
            (0.7, 2, 1),
            (0.6, 3, 1),
            (0.5, 3, 2),
            (0.4, 3, 3),
            (0.3, 4, 3),
            (0.2, 4, 4),
        ];
        assert_eq!(got, want);
        assert!(close(roc.points[4].efficiency, 0.75));
        assert!(close(roc.points[4].rejection, 0.75));
        // 11 of the 16 (signal, background) pairs are ordered correctly.
        assert!(close(roc.auc(), 11.0 / 16.0));
    }

    #[test]
    fn ties_count_half_in_auc() {
        // One signal and one background at the same score: the only point is the diagonal.
        let roc = Roc::new(&[true, false], &[0.5, 0.5]).unwrap();
        assert_eq!(roc.points.len(), 2);
        assert!(close(roc.auc(), 0.5));
        // s=0.8, s=0.5, b=0.5, b=0.1: pairs (0.8>0.5) (0.8>0.1) (0.5=0.5 -> 1/2) (0.5>0.1) = 3.5/4.
        let roc = Roc::new(&[true, true, false, false], &[0.8, 0.5, 0.5, 0.1]).unwrap();
        assert!(close(roc.auc(), 3.5 / 4.0));
        assert_eq!(roc.points.len(), 4);
        // Perfect separation and perfect inversion.
        let roc = Roc::new(&[true, false], &[0.9, 0.1]).unwrap();
        assert!(close(roc.auc(), 1.0));
        let roc = Roc::new(&[true, false], &[0.1, 0.9]).unwrap();
        assert!(close(roc.auc(), 0.0));
    }

    #[test]
    fn best_fom_by_hand() {
        let (sig, scores) = eight();
        let roc = Roc::new(&sig, &scores).unwrap();
        let w = roc.best_fom(1).unwrap();
        // εs/√εb: 0.25/0.5, 0.5/0.5, 0.75/0.5 = 1.5 (t 0.6), 0.75/√0.5, 0.75/√0.75, 1/√0.75, 1.
        assert_eq!(w.threshold, 0.6);
        assert!(close(w.fom, 1.5));
        assert!(close(w.efficiency, 0.75));
        assert!(close(w.background_efficiency, 0.25));
        let e = (0.75f64 * 0.25 / 4.0).sqrt();
        assert!(close(w.efficiency_err, e));
        assert!(close(w.rejection_err, e));
        assert!(close(w.rejection_factor, 4.0));
        assert!(close(w.rejection_factor_err, e / 0.0625));
        // σF² = (σs/√εb)² + (F σb / (2 εb))² = (e/0.5)² + (1.5 e / 0.5)² = 4e² + 9e².
        assert!(close(w.fom_err, (13.0f64).sqrt() * e));
        // At least two background events: t 0.5 (0.75/√0.5 = 1.061), t 0.4 (0.866), t 0.3
        // (1/√0.75 = 1.155), t 0.2 (1): the best is t 0.3.
        let w = roc.best_fom(2).unwrap();
        assert_eq!(w.threshold, 0.3);
        assert!(close(w.fom, 1.0 / 0.75f64.sqrt()));
        // A minimum above the background count falls back to all of it (the loosest cut).
        let w = roc.best_fom(100).unwrap();
        assert_eq!((w.threshold, w.fom), (0.2, 1.0));
        assert_eq!(roc.best_fom(0), roc.best_fom(1));
    }

    #[test]
    fn working_points_by_hand() {
        let (sig, scores) = eight();
        let roc = Roc::new(&sig, &scores).unwrap();
        // Rejection >= 75 % allows one background event: best efficiency 0.75 at t 0.6.
        let w = roc.at_rejection(0.75).unwrap();
        assert_eq!((w.threshold, w.efficiency, w.rejection), (0.6, 0.75, 0.75));
        // Rejection >= 90 % allows no background: efficiency 0.25 at t 0.9, infinite factor.
        let w = roc.at_rejection(0.90).unwrap();
        assert_eq!((w.threshold, w.efficiency, w.rejection), (0.9, 0.25, 1.0));
        assert!(w.rejection_factor.is_infinite());
        assert_eq!(w.target, Some(0.90));
        // Efficiency >= 80 % needs all four signal events: t 0.3 keeps 3 background, rejection 0.25.
        let w = roc.at_efficiency(0.80).unwrap();
        assert_eq!((w.threshold, w.efficiency, w.rejection), (0.3, 1.0, 0.25));
        assert!(close(w.rejection_factor, 4.0 / 3.0));
        // Efficiency >= 50 %: t 0.7 and t 0.6 both reject 75 %; the higher efficiency (t 0.6) wins.
        let w = roc.at_efficiency(0.50).unwrap();
        assert_eq!((w.threshold, w.efficiency, w.rejection), (0.6, 0.75, 0.75));
        // Exactly representable boundary: 1 - 0.75 = 0.25 of 4 background is one event.
        let w = roc.at_efficiency(0.25).unwrap();
        assert_eq!(w.threshold, 0.9);
        assert!(roc.at_efficiency(1.5).is_none());
        assert!(roc.at_rejection(-0.1).is_none());
    }

    #[test]
    fn rejection_boundary_is_not_lost_to_rounding() {
        // Ten background events: rejection 0.9 must allow exactly one (1 - 0.9 = 0.0999..98).
        let mut sig = vec![true; 2];
        sig.extend(vec![false; 10]);
        let mut scores = vec![0.95, 0.5];
        scores.extend((0..10).map(|i| if i == 0 { 0.9 } else { 0.1 }));
        let roc = Roc::new(&sig, &scores).unwrap();
        let w = roc.at_rejection(0.9).unwrap();
        assert_eq!((w.threshold, w.efficiency), (0.5, 1.0));
        assert!(close(w.rejection, 0.9));
        assert!(close(w.rejection_factor, 10.0));
    }

    #[test]
    fn roc_errors() {
        assert_eq!(
            Roc::new(&[true, true], &[0.1, 0.2]).unwrap_err(),
            RocError::SingleClass {
                n_signal: 2,
                n_background: 0
            }
        );
        assert_eq!(
            Roc::new(&[true, false], &[0.1, f64::NAN]).unwrap_err(),
            RocError::NonFinite { index: 1 }
        );
        assert!(Roc::new(&[true], &[0.1, 0.2]).is_err());
        let msg = Roc::new(&[false, false], &[0.1, 0.2])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("0 signal (binclass 1) and 2 background"),
            "{msg}"
        );
    }

    #[test]
    fn confusion_by_hand() {
        let (sig, scores) = eight();
        let c = BinaryConfusion::new(&sig, &scores, 0.5);
        // Selected (>= 0.5): s0.9 b0.8 s0.7 s0.6 b0.5; rejected: b0.4 s0.3 b0.2.
        assert_eq!(c.matrix, [[2, 2], [1, 3]]);
        assert!(close(c.accuracy, 5.0 / 8.0));
        assert!(close(
            c.accuracy_err,
            (5.0f64 / 8.0 * 3.0 / 8.0 / 8.0).sqrt()
        ));
    }

    #[test]
    fn binomial_by_hand() {
        assert!(close(binomial_err(0.5, 100), 0.05));
        assert_eq!(binomial_err(0.0, 10), 0.0);
        assert_eq!(binomial_err(1.0, 10), 0.0);
        assert_eq!(binomial_err(0.3, 0), 0.0);
    }
}
