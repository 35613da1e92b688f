//! The NEXT graph convolutional network on dfdx: the reference `GCNClass` layout with PyTorch
//! Geometric's `GCNConv` numerics, its training loop, checkpoints and prediction tables.
//!
//! The model and numerics are described in `docs/GCN.md`.

pub mod batch;
pub mod model;
pub mod ops;
pub mod predict;
pub mod store;
pub mod tool;
pub mod train;

pub use batch::{Batch, Csr, Propagation};
pub use model::{Adam, ModelConfig, Task, Weights};
pub use ops::{Backend, CpuFast, Pure};
pub use store::{GraphStore, StoredGraph};
