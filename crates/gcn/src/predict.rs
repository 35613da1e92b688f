//! Prediction tables of gcn-predict: the reference's `EventPred` and `VoxelPred`, as CSV or as a
//! PyTables-compatible HDF5 table that `pandas.read_hdf(file, 'EventPred')` reads.

use crate::batch::Batch;
use crate::model::{self, Task, Weights};
use crate::ops::Backend;
use anyhow::{ensure, Context, Result};
use hdf5::H5Type;
use nextgnn_stream::Graph;
use std::io::Write;
use std::path::Path;

/// One classified event (reference `EventPred`).
#[derive(H5Type, Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct EventPred {
    /// File number (fnum).
    pub file_id: i64,
    /// Event id.
    pub dataset_id: i64,
    /// True class from the stream.
    pub binclass: i64,
    /// Voxels.
    pub num_nodes: i64,
    /// Directed edges.
    pub num_edges: i64,
    /// Mean x coordinate of the voxels.
    pub mean_x: f64,
    /// Mean y coordinate.
    pub mean_y: f64,
    /// Mean z coordinate.
    pub mean_z: f64,
    /// x of the voxel with the highest first feature (energy).
    #[hdf5(rename = "maxE_x")]
    pub max_e_x: i64,
    /// y of that voxel.
    #[hdf5(rename = "maxE_y")]
    pub max_e_y: i64,
    /// z of that voxel.
    #[hdf5(rename = "maxE_z")]
    pub max_e_z: i64,
    /// Mean Euclidean distance of the voxels from their mean position (coordinate units).
    pub mean_dist: f64,
    /// Softmax probability of class 0 (background).
    pub class_0: f64,
    /// Softmax probability of class 1 (signal).
    pub class_1: f64,
}

/// One classified voxel (reference `VoxelPred`), for three node classes.
#[derive(H5Type, Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct VoxelPred {
    /// File number (fnum).
    pub file_id: i64,
    /// Event id.
    pub dataset_id: i64,
    /// Event class from the stream.
    pub binclass: i64,
    /// Voxel x coordinate.
    pub x: i64,
    /// Voxel y coordinate.
    pub y: i64,
    /// Voxel z coordinate.
    pub z: i64,
    /// First node feature (energy).
    pub energy: f64,
    /// True node class, -1 when the stream has no node labels.
    pub label: i64,
    /// Softmax probability of class 0 (other).
    pub class_0: f64,
    /// Softmax probability of class 1 (track).
    pub class_1: f64,
    /// Softmax probability of class 2 (blob).
    pub class_2: f64,
}

/// Column names of the tables, in order.
pub const EVENT_COLUMNS: [&str; 14] = [
    "file_id",
    "dataset_id",
    "binclass",
    "num_nodes",
    "num_edges",
    "mean_x",
    "mean_y",
    "mean_z",
    "maxE_x",
    "maxE_y",
    "maxE_z",
    "mean_dist",
    "class_0",
    "class_1",
];
/// Column names of `VoxelPred`.
pub const VOXEL_COLUMNS: [&str; 11] = [
    "file_id",
    "dataset_id",
    "binclass",
    "x",
    "y",
    "z",
    "energy",
    "label",
    "class_0",
    "class_1",
    "class_2",
];

/// Predictions of a whole stream, rows sorted by (file_id, dataset_id).
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// One row per event.
    Events(Vec<EventPred>),
    /// One row per voxel.
    Voxels(Vec<VoxelPred>),
}

/// Summary of the predictions against the labels of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Accuracy (classification) or IoU per class (segmentation).
    pub values: Vec<f64>,
    /// Rows scored.
    pub count: usize,
}

fn softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Runs the model in eval mode over `graphs` (batches of `batch`) and builds the table.
pub fn predict<B: Backend>(
    backend: &B,
    w: &Weights,
    graphs: &mut [Graph],
    batch: usize,
    nfeat: usize,
    ncoord: usize,
) -> Result<(Predictions, Option<Score>)> {
    ensure!(
        ncoord == 3,
        "the stream has {ncoord} coordinate columns; prediction tables need x, y, z"
    );
    ensure!(
        w.config.task == Task::Classification || w.config.nclass <= 3,
        "the model has {} node classes; VoxelPred holds class_0..class_2",
        w.config.nclass
    );
    // Stable sort: events with equal ids keep stream order.
    graphs.sort_by_key(|g| (g.fnum, g.dataset_id));
    let nclass = w.config.nclass;
    let mut conf = vec![0u64; nclass * nclass];
    let mut labelled = true;
    let mut events = Vec::new();
    let mut voxels = Vec::new();
    for chunk in graphs.chunks(batch.max(1)) {
        let refs: Vec<&Graph> = chunk.iter().collect();
        let b = Batch::new(&refs, nfeat);
        let logits = model::eval_logits(backend, w, &b);
        match w.config.task {
            Task::Classification => {
                crate::train::add_confusion(&mut conf, &logits, &b.graph_labels, nclass);
                for (g, row) in chunk.iter().zip(logits.chunks(nclass)) {
                    let p = softmax(row);
                    events.push(event_row(g, nfeat, &p));
                }
            }
            Task::Segmentation => {
                labelled &= !b.node_labels.is_empty();
                if !b.node_labels.is_empty() {
                    crate::train::add_confusion(&mut conf, &logits, &b.node_labels, nclass);
                }
                let mut rows = logits.chunks(nclass);
                for g in chunk {
                    for i in 0..g.num_nodes {
                        let p = softmax(rows.next().context("model returned too few rows")?);
                        let c = &g.coords[i * 3..i * 3 + 3];
                        voxels.push(VoxelPred {
                            file_id: g.fnum,
                            dataset_id: g.dataset_id,
                            binclass: g.binclass,
                            x: c[0],
                            y: c[1],
                            z: c[2],
                            energy: g.x[i * nfeat] as f64,
                            label: g.y.get(i).copied().unwrap_or(-1),
                            class_0: p.first().copied().unwrap_or(0.0),
                            class_1: p.get(1).copied().unwrap_or(0.0),
                            class_2: p.get(2).copied().unwrap_or(0.0),
                        });
                    }
                }
            }
        }
    }
    let count: u64 = conf.iter().sum();
    let score = (labelled && count > 0).then(|| Score {
        values: crate::train::scores(w.config.task, &conf, nclass),
        count: count as usize,
    });
    Ok(match w.config.task {
        Task::Classification => (Predictions::Events(events), score),
        Task::Segmentation => (Predictions::Voxels(voxels), score),
    })
}

fn event_row(g: &Graph, nfeat: usize, p: &[f64]) -> EventPred {
    let n = g.num_nodes.max(1) as f64;
    let mut mean = [0f64; 3];
    for i in 0..g.num_nodes {
        for (k, m) in mean.iter_mut().enumerate() {
            *m += g.coords[i * 3 + k] as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut dist = 0f64;
    for i in 0..g.num_nodes {
        let d2: f64 = (0..3)
            .map(|k| (g.coords[i * 3 + k] as f64 - mean[k]).powi(2))
            .sum();
        dist += d2.sqrt();
    }
    // First maximum, as torch.argmax returns.
    let mut best = 0;
    for i in 1..g.num_nodes {
        if g.x[i * nfeat] > g.x[best * nfeat] {
            best = i;
        }
    }
    let c = |k: usize| g.coords.get(best * 3 + k).copied().unwrap_or(0);
    EventPred {
        file_id: g.fnum,
        dataset_id: g.dataset_id,
        binclass: g.binclass,
        num_nodes: g.num_nodes as i64,
        num_edges: g.num_edges() as i64,
        mean_x: mean[0],
        mean_y: mean[1],
        mean_z: mean[2],
        max_e_x: c(0),
        max_e_y: c(1),
        max_e_z: c(2),
        mean_dist: dist / n,
        class_0: p.first().copied().unwrap_or(0.0),
        class_1: p.get(1).copied().unwrap_or(0.0),
    }
}

/// Writes the table as CSV with a header line (floats in shortest round-trip form).
pub fn write_csv<W: Write>(p: &Predictions, mut w: W) -> Result<()> {
    match p {
        Predictions::Events(rows) => {
            writeln!(w, "{}", EVENT_COLUMNS.join(","))?;
            for r in rows {
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                    r.file_id,
                    r.dataset_id,
                    r.binclass,
                    r.num_nodes,
                    r.num_edges,
                    r.mean_x,
                    r.mean_y,
                    r.mean_z,
                    r.max_e_x,
                    r.max_e_y,
                    r.max_e_z,
                    r.mean_dist,
                    r.class_0,
                    r.class_1
                )?;
            }
        }
        Predictions::Voxels(rows) => {
            writeln!(w, "{}", VOXEL_COLUMNS.join(","))?;
            for r in rows {
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{},{}",
                    r.file_id,
                    r.dataset_id,
                    r.binclass,
                    r.x,
                    r.y,
                    r.z,
                    r.energy,
                    r.label,
                    r.class_0,
                    r.class_1,
                    r.class_2
                )?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

fn str_attr(loc: &hdf5::Location, name: &str, value: &str) -> Result<()> {
    let v = hdf5::types::VarLenAscii::from_ascii(value)
        .with_context(|| format!("attribute {name} is not ASCII"))?;
    loc.new_attr::<hdf5::types::VarLenAscii>()
        .create(name)?
        .write_scalar(&v)?;
    Ok(())
}

fn table<T: H5Type>(file: &hdf5::File, name: &str, columns: &[&str], rows: &[T]) -> Result<()> {
    let chunk = rows.len().clamp(1, 4096);
    let ds = file
        .new_dataset::<T>()
        .chunk(chunk)
        .shape(rows.len()..)
        .create(name)?;
    ds.write(rows)?;
    str_attr(&ds, "CLASS", "TABLE")?;
    str_attr(&ds, "VERSION", "2.7")?;
    str_attr(&ds, "TITLE", name)?;
    ds.new_attr::<i64>()
        .create("NROWS")?
        .write_scalar(&(rows.len() as i64))?;
    for (i, c) in columns.iter().enumerate() {
        str_attr(&ds, &format!("FIELD_{i}_NAME"), c)?;
    }
    Ok(())
}

/// Writes the table as `/EventPred` or `/VoxelPred` of a new HDF5 file with PyTables metadata.
pub fn write_h5(p: &Predictions, path: &Path) -> Result<()> {
    let file = hdf5::File::create(path)
        .with_context(|| format!("{}: cannot create HDF5 file", path.display()))?;
    str_attr(&file, "CLASS", "GROUP")?;
    str_attr(&file, "TITLE", "")?;
    str_attr(&file, "VERSION", "1.0")?;
    str_attr(&file, "PYTABLES_FORMAT_VERSION", "2.1")?;
    match p {
        Predictions::Events(rows) => table(&file, "EventPred", &EVENT_COLUMNS, rows)?,
        Predictions::Voxels(rows) => table(&file, "VoxelPred", &VOXEL_COLUMNS, rows)?,
    }
    file.close()?;
    Ok(())
}
