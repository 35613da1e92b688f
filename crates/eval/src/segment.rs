//! Voxel segmentation figures: confusion matrix, per-class IoU, accuracy.

use crate::classify::binomial_err;
use serde::Serialize;

/// Names of the reference's voxel classes (y = segclass - 1).
pub const SEGMENT_CLASS_NAMES: [&str; 3] = ["other", "track", "blob"];

/// The display name of voxel class `k` ("class k" beyond the known three).
pub fn class_name(k: usize) -> String {
    SEGMENT_CLASS_NAMES
        .get(k)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("class {k}"))
}

/// Segmentation metrics over all voxels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegMetrics {
    /// Number of classes K.
    pub num_classes: usize,
    /// Number of voxels.
    pub voxels: u64,
    /// Counts, `confusion[true][predicted]`, K x K.
    pub confusion: Vec<Vec<u64>>,
    /// Fraction of voxels whose predicted class is the true one.
    pub accuracy: f64,
    /// Binomial uncertainty of the accuracy.
    pub accuracy_err: f64,
    /// Per class `TP / (TP + FP + FN)`; None (JSON null) when the class is neither true nor predicted.
    pub iou: Vec<Option<f64>>,
    /// Mean of the defined per-class IoUs.
    pub mean_iou: Option<f64>,
    /// Per class `TP / (TP + FN)`, the fraction of the class found; None when the class is absent.
    pub recall: Vec<Option<f64>>,
    /// Per class `TP / (TP + FP)`; None when the class is never predicted.
    pub precision: Vec<Option<f64>>,
}

impl SegMetrics {
    /// Computes the metrics from true and predicted classes, all `< num_classes`.
    pub fn new(truth: &[usize], predicted: &[usize], num_classes: usize) -> SegMetrics {
        let k = num_classes;
        let mut confusion = vec![vec![0u64; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let voxels: u64 = confusion.iter().flatten().sum();
        let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
        let accuracy = if voxels == 0 {
            0.0
        } else {
            correct as f64 / voxels as f64
        };
        let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        let mut iou = Vec::with_capacity(k);
        let mut recall = Vec::with_capacity(k);
        let mut precision = Vec::with_capacity(k);
        for c in 0..k {
            let tp = confusion[c][c];
            let true_c: u64 = confusion[c].iter().sum();
            let pred_c: u64 = confusion.iter().map(|row| row[c]).sum();
            iou.push(ratio(tp, true_c + pred_c - tp));
            recall.push(ratio(tp, true_c));
            precision.push(ratio(tp, pred_c));
        }
        let defined: Vec<f64> = iou.iter().flatten().copied().collect();
        let mean_iou =
            (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64);
        SegMetrics {
            num_classes: k,
            voxels,
            confusion,
            accuracy,
            accuracy_err: binomial_err(accuracy, voxels),
            iou,
            mean_iou,
            recall,
            precision,
        }
    }
}

/// The predicted class of one row of probabilities: the first maximum, as `torch.argmax`.
pub fn argmax(probs: &[f64]) -> usize {
    let mut best = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > probs[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_by_hand() {
        // truth:     0 0 1 1 1 2 2 2 2 1
        // predicted: 0 1 1 1 2 2 2 0 2 1
        let truth = [0, 0, 1, 1, 1, 2, 2, 2, 2, 1];
        let pred = [0, 1, 1, 1, 2, 2, 2, 0, 2, 1];
        let m = SegMetrics::new(&truth, &pred, 3);
        assert_eq!(
            m.confusion,
            vec![vec![1, 1, 0], vec![0, 3, 1], vec![1, 0, 3]]
        );
        assert_eq!(m.voxels, 10);
        assert_eq!(m.accuracy, 0.7);
        // class 0: TP 1, FN 1, FP 1 -> 1/3; class 1: TP 3, FN 1, FP 1 -> 3/5; class 2: TP 3, FN 1, FP 1 -> 3/5.
        let iou: Vec<f64> = m.iou.iter().map(|v| v.unwrap()).collect();
        assert!((iou[0] - 1.0 / 3.0).abs() < 1e-12);
        assert!((iou[1] - 0.6).abs() < 1e-12);
        assert!((iou[2] - 0.6).abs() < 1e-12);
        assert!((m.mean_iou.unwrap() - (1.0 / 3.0 + 1.2) / 3.0).abs() < 1e-12);
        assert_eq!(m.recall, vec![Some(0.5), Some(0.75), Some(0.75)]);
        assert_eq!(m.precision, vec![Some(0.5), Some(0.75), Some(0.75)]);
        assert!((m.accuracy_err - (0.7f64 * 0.3 / 10.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn absent_class_has_no_iou() {
        let m = SegMetrics::new(&[0, 1, 1], &[0, 1, 0], 3);
        assert_eq!(m.iou[2], None);
        assert_eq!(m.recall[2], None);
        assert_eq!(m.iou[0], Some(0.5));
        assert_eq!(m.iou[1], Some(0.5));
        assert_eq!(m.mean_iou, Some(0.5));
    }

    #[test]
    fn argmax_takes_first_maximum() {
        assert_eq!(argmax(&[0.2, 0.5, 0.3]), 1);
        assert_eq!(argmax(&[0.4, 0.4, 0.2]), 0);
        assert_eq!(argmax(&[0.1, 0.3, 0.3, 0.3]), 1);
        assert_eq!(class_name(2), "blob");
        assert_eq!(class_name(5), "class 5");
    }
}
