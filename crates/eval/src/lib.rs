//! Evaluation of nextgnn predictions and the project's pictures.
//!
//! - [`classify`]: ROC curve (signal efficiency vs background rejection), AUC, the best figure of
//!   merit `εs/√εb`, efficiency at fixed rejection and rejection at fixed efficiency, with
//!   binomial uncertainties; confusion matrix.
//! - [`segment`]: voxel segmentation confusion matrix, per-class IoU, accuracy.
//! - [`input`]: readers of gcn-predict's EventPred / VoxelPred tables (CSV or HDF5).
//! - [`report`]: the gcn-eval tool's computation and output.
//! - [`plots`]: ROC curves, training curves and event displays (SVG, or PNG by extension).

pub mod classify;
pub mod input;
pub mod plots;
pub mod report;
pub mod segment;

pub use classify::{binomial_err, BinaryConfusion, Roc, RocPoint, WorkingPoint};
pub use input::{read_predictions, read_predictions_many, PredKind, Predictions};
pub use plots::{event_display, roc_plot, training_curves, NodeColours};
pub use segment::SegMetrics;
