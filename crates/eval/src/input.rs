//! Readers for gcn-predict output: `EventPred` (one row per event) and `VoxelPred` (one row per
//! voxel) tables, as CSV with a header or as an HDF5 compound table at the file root.
//!
//! The table kind is told by the columns: a `label` column means VoxelPred, otherwise a `binclass`
//! column means EventPred. Columns are found by name, so their order and any extra columns do not
//! matter. Every problem is reported with the file, and the row and column where there is one.

use anyhow::{bail, Context, Result};
use nextgnn_stream::Graph;
use std::collections::HashMap;
use std::io::{BufRead, Read};

/// Which gcn-predict table a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredKind {
    /// One row per event: binclass and class_0, class_1 (softmax).
    Event,
    /// One row per voxel: x, y, z, label and class_0..class_{K-1}.
    Voxel,
}

impl PredKind {
    /// The table name used by gcn-predict (and the HDF5 dataset name).
    pub fn table_name(self) -> &'static str {
        match self {
            PredKind::Event => "EventPred",
            PredKind::Voxel => "VoxelPred",
        }
    }
}

/// Predictions read from one or more gcn-predict files, column by column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Predictions {
    /// Whether these are event or voxel predictions (None only for an empty default value).
    pub kind: Option<PredKind>,
    /// Source file per row, for error messages.
    pub sources: Vec<String>,
    /// Row count of each source, in order.
    pub source_rows: Vec<usize>,
    /// File number of the event (reference `fnum`).
    pub file_id: Vec<i64>,
    /// Event id inside its file.
    pub dataset_id: Vec<i64>,
    /// True event class (1 = signal).
    pub binclass: Vec<i64>,
    /// True voxel class (VoxelPred only; empty for EventPred).
    pub label: Vec<i64>,
    /// Voxel coordinates as written by gcn-predict (VoxelPred only).
    pub xyz: Vec<[f64; 3]>,
    /// Number of class probability columns K.
    pub num_classes: usize,
    /// Class probabilities, row-major [rows, K].
    pub probs: Vec<f64>,
}

impl Predictions {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.file_id.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.file_id.is_empty()
    }

    /// The K class probabilities of row `i`.
    pub fn probs_row(&self, i: usize) -> &[f64] {
        &self.probs[i * self.num_classes..(i + 1) * self.num_classes]
    }

    /// `file:row` of row `i` (1-based data row), for messages.
    pub fn row_origin(&self, mut i: usize) -> String {
        for (src, &n) in self.sources.iter().zip(&self.source_rows) {
            if i < n {
                return format!("{src}: row {}", i + 1);
            }
            i -= n;
        }
        format!("row {}", i + 1)
    }

    /// Appends another file's predictions; both must be the same kind with the same class count.
    pub fn append(&mut self, other: Predictions) -> Result<()> {
        if self.kind.is_none() {
            *self = other;
            return Ok(());
        }
        if self.kind != other.kind || self.num_classes != other.num_classes {
            bail!(
                "{}: holds {} with {} classes, but earlier inputs hold {} with {} classes",
                other.sources.join(", "),
                other.kind.map_or("nothing", |k| k.table_name()),
                other.num_classes,
                self.kind.map_or("nothing", |k| k.table_name()),
                self.num_classes
            );
        }
        self.sources.extend(other.sources);
        self.source_rows.extend(other.source_rows);
        self.file_id.extend(other.file_id);
        self.dataset_id.extend(other.dataset_id);
        self.binclass.extend(other.binclass);
        self.label.extend(other.label);
        self.xyz.extend(other.xyz);
        self.probs.extend(other.probs);
        Ok(())
    }
}

/// Reads several gcn-predict files (CSV or HDF5, `-` = CSV on stdin) into one table.
pub fn read_predictions_many(paths: &[String]) -> Result<Predictions> {
    let mut all = Predictions::default();
    for p in paths {
        all.append(read_predictions(p)?)?;
    }
    Ok(all)
}

/// Reads one gcn-predict file; HDF5 is recognised by its signature, anything else is CSV.
pub fn read_predictions(path: &str) -> Result<Predictions> {
    let table = if path != "-" && is_hdf5(path)? {
        read_h5_table(path)?
    } else {
        read_csv_table(path)?
    };
    table.into_predictions()
}

const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

fn is_hdf5(path: &str) -> Result<bool> {
    let mut f = std::fs::File::open(path).with_context(|| format!("{path}: cannot open"))?;
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        let n = f
            .read(&mut head[got..])
            .with_context(|| format!("{path}: cannot read"))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got == 8 && &head == HDF5_SIGNATURE)
}

/// Columns of one file as numbers, before interpretation.
struct RawTable {
    source: String,
    header: Vec<String>,
    rows: usize,
    columns: HashMap<String, Vec<f64>>,
}

/// The kind, class count and needed columns implied by a header.
fn layout(source: &str, header: &[String]) -> Result<(PredKind, usize, Vec<String>)> {
    let has = |c: &str| header.iter().any(|h| h == c);
    let k = (0..).take_while(|i| has(&format!("class_{i}"))).count();
    let kind = if has("label") {
        PredKind::Voxel
    } else if has("binclass") || has("num_nodes") {
        PredKind::Event
    } else {
        bail!(
            "{source}: not a gcn-predict table: expected EventPred columns (file_id, dataset_id, \
             binclass, class_0, class_1) or VoxelPred columns (file_id, dataset_id, binclass, x, y, \
             z, label, class_0, ...); found: {}",
            header.join(", ")
        );
    };
    let mut need: Vec<String> = match kind {
        PredKind::Event => vec!["file_id", "dataset_id", "binclass", "class_0", "class_1"],
        PredKind::Voxel => vec![
            "file_id",
            "dataset_id",
            "binclass",
            "x",
            "y",
            "z",
            "label",
            "class_0",
            "class_1",
        ],
    }
    .into_iter()
    .map(String::from)
    .collect();
    let missing: Vec<&str> = need
        .iter()
        .filter(|c| !has(c))
        .map(|s| s.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{source}: {} table is missing column{} {} (columns found: {})",
            kind.table_name(),
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            header.join(", ")
        );
    }
    if kind == PredKind::Event && k != 2 {
        bail!("{source}: EventPred must have exactly two probability columns class_0, class_1, found {k}");
    }
    need.extend((2..k).map(|i| format!("class_{i}")));
    Ok((kind, k, need))
}

/// What a prediction file must be, for messages about files that are something else.
const NOT_PREDICTIONS: &str = "not a prediction file (CSV or HDF5 from gcn-predict)";

fn read_csv_table(path: &str) -> Result<RawTable> {
    let reader: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("{path}: cannot open"))?)
    };
    let mut reader = std::io::BufReader::new(reader);
    let head = reader
        .fill_buf()
        .with_context(|| format!("{path}: cannot read"))?;
    if head.starts_with(&nextgnn_stream::MAGIC) {
        bail!("{path}: this is a graph stream, {NOT_PREDICTIONS}; run gcn-predict on it first");
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { .. } => {
                anyhow::anyhow!("{path}: {NOT_PREDICTIONS}: its first line is not text")
            }
            _ => anyhow::anyhow!("{path}: cannot read the CSV header: {e}"),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        bail!("{path}: empty file: expected a CSV header line from gcn-predict");
    }
    let (_, _, need) = layout(path, &header)?;
    let idx: Vec<(String, usize)> = need
        .iter()
        .map(|c| {
            (
                c.clone(),
                header
                    .iter()
                    .position(|h| h == c)
                    .expect("checked by layout"),
            )
        })
        .collect();
    let mut columns: HashMap<String, Vec<f64>> =
        need.iter().map(|c| (c.clone(), Vec::new())).collect();
    let mut rows = 0;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| match e.kind() {
            csv::ErrorKind::Utf8 { pos, .. } => anyhow::anyhow!(
                "{path}: line {} is not text (invalid UTF-8); is this a prediction file (CSV or \
                 HDF5 from gcn-predict)?",
                pos.as_ref().map_or(0, |p| p.line())
            ),
            _ => anyhow::anyhow!("{path}: malformed CSV: {e}"),
        })?;
        rows += 1;
        for (name, i) in &idx {
            let field = rec.get(*i).unwrap_or("").trim();
            let v: f64 = field.parse().map_err(|_| {
                let line = rec.position().map_or(0, |p| p.line());
                anyhow::anyhow!("{path}: line {line}, column {name}: '{field}' is not a number")
            })?;
            columns.get_mut(name).expect("created above").push(v);
        }
    }
    Ok(RawTable {
        source: path.to_string(),
        header,
        rows,
        columns,
    })
}

macro_rules! h5_columns {
    ($($name:ident),* $(,)?) => {
        $(
            #[derive(hdf5::H5Type, Clone, Copy)]
            #[repr(C)]
            #[allow(non_camel_case_types)]
            struct $name {
                $name: f64,
            }
        )*

        /// Reads one named field of a compound table as f64 (HDF5 converts any numeric type).
        fn h5_column(ds: &hdf5::Dataset, name: &str) -> hdf5::Result<Option<Vec<f64>>> {
            match name {
                $(stringify!($name) => Ok(Some(ds.read_raw::<$name>()?.into_iter().map(|r| r.$name).collect())),)*
                _ => Ok(None),
            }
        }
    };
}

h5_columns!(
    file_id, dataset_id, binclass, label, x, y, z, class_0, class_1, class_2, class_3, class_4,
    class_5, class_6, class_7, class_8, class_9, class_10, class_11, class_12, class_13, class_14,
    class_15,
);

fn read_h5_table(path: &str) -> Result<RawTable> {
    let file = hdf5::File::open(path).with_context(|| format!("{path}: cannot open as HDF5"))?;
    let mut found = None;
    for kind in [PredKind::Event, PredKind::Voxel] {
        let name = kind.table_name();
        // A bare PyTables table at the root, or pandas' `format="table"` layout (NAME/table).
        for candidate in [name.to_string(), format!("{name}/table")] {
            if file.link_exists(&candidate) {
                if let Ok(ds) = file.dataset(&candidate) {
                    found = Some((candidate, ds));
                    break;
                }
            }
        }
        if found.is_some() {
            break;
        }
    }
    let Some((name, ds)) = found else {
        bail!("{path}: no EventPred or VoxelPred table at the file root (is this a gcn-predict file?)");
    };
    let source = format!("{path}:/{name}");
    let desc = ds
        .dtype()
        .and_then(|t| t.to_descriptor())
        .with_context(|| format!("{source}: cannot read the table's column types"))?;
    let hdf5::types::TypeDescriptor::Compound(comp) = desc else {
        bail!("{source}: not a table (expected a compound dataset with named columns)");
    };
    let header: Vec<String> = comp.fields.iter().map(|f| f.name.clone()).collect();
    if ds.ndim() != 1 {
        bail!(
            "{source}: expected a one-dimensional table, found {} dimensions",
            ds.ndim()
        );
    }
    let rows = ds.size();
    let (_, _, need) = layout(&source, &header)?;
    let mut columns = HashMap::new();
    for c in need {
        let values = h5_column(&ds, &c)
            .with_context(|| format!("{source}: cannot read column {c} as numbers"))?
            .with_context(|| {
                format!("{source}: column {c} is not supported (more than 16 classes?)")
            })?;
        columns.insert(c, values);
    }
    Ok(RawTable {
        source,
        header,
        rows,
        columns,
    })
}

impl RawTable {
    fn take(&mut self, name: &str) -> Vec<f64> {
        self.columns.remove(name).unwrap_or_default()
    }

    fn take_int(&mut self, name: &str) -> Result<Vec<i64>> {
        let v = self.take(name);
        v.iter()
            .enumerate()
            .map(|(i, &x)| {
                if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
                    Ok(x as i64)
                } else {
                    bail!(
                        "{}: row {}, column {name}: {x} is not an integer",
                        self.source,
                        i + 1
                    )
                }
            })
            .collect()
    }

    fn into_predictions(mut self) -> Result<Predictions> {
        let (kind, k, _) = layout(&self.source, &self.header)?;
        if self.rows == 0 {
            bail!("{}: {} table has no rows", self.source, kind.table_name());
        }
        let file_id = self.take_int("file_id")?;
        let dataset_id = self.take_int("dataset_id")?;
        let binclass = self.take_int("binclass")?;
        let cls: Vec<Vec<f64>> = (0..k).map(|c| self.take(&format!("class_{c}"))).collect();
        let mut probs = Vec::with_capacity(self.rows * k);
        for r in 0..self.rows {
            for (c, col) in cls.iter().enumerate() {
                let p = col[r];
                // Softmax outputs; a little rounding slack, but NaN or a logit is refused.
                if !(p.is_finite() && (-1e-6..=1.0 + 1e-6).contains(&p)) {
                    bail!(
                        "{}: row {} (file_id {}, dataset_id {}), column class_{c}: {p} is not a probability in [0, 1]",
                        self.source,
                        r + 1,
                        file_id[r],
                        dataset_id[r]
                    );
                }
                probs.push(p);
            }
        }
        let mut preds = Predictions {
            kind: Some(kind),
            sources: vec![self.source.clone()],
            source_rows: vec![self.rows],
            file_id,
            dataset_id,
            binclass,
            num_classes: k,
            probs,
            ..Default::default()
        };
        if kind == PredKind::Voxel {
            preds.label = self.take_int("label")?;
            let (x, y, z) = (self.take("x"), self.take("y"), self.take("z"));
            preds.xyz = (0..self.rows).map(|r| [x[r], y[r], z[r]]).collect();
        }
        Ok(preds)
    }
}

impl Predictions {
    /// Checks the truth columns that evaluation needs: binclass 0 or 1 (EventPred), label in
    /// 0..K (VoxelPred). Reading does not check them, so that an event display can show the
    /// predictions of unlabelled data (gcn-predict writes label -1 there).
    pub fn check_truth(&self) -> Result<()> {
        let ids = |r: usize| {
            format!(
                "{} (file_id {}, dataset_id {})",
                self.row_origin(r),
                self.file_id[r],
                self.dataset_id[r]
            )
        };
        match self.kind {
            Some(PredKind::Event) => {
                if let Some(r) = self.binclass.iter().position(|&b| b != 0 && b != 1) {
                    bail!(
                        "{}: binclass {} is neither 0 nor 1",
                        ids(r),
                        self.binclass[r]
                    );
                }
            }
            Some(PredKind::Voxel) => {
                let k = self.num_classes as i64;
                if let Some(r) = self.label.iter().position(|&l| l < 0 || l >= k) {
                    if self.label[r] == -1 {
                        bail!(
                            "{}: label -1: the predicted stream had no true voxel labels, so there is nothing to compare with",
                            ids(r)
                        );
                    }
                    bail!(
                        "{}: label {} is outside 0..{} (the class_* columns)",
                        ids(r),
                        self.label[r],
                        k - 1
                    );
                }
            }
            None => bail!("no predictions"),
        }
        Ok(())
    }

    /// The K class probabilities of every node of `g`, row-major [N, K], from VoxelPred rows.
    ///
    /// Rows are those of the graph's (file_id, dataset_id). They are matched to nodes by their x,
    /// y, z against the node coordinates; if the coordinates do not match (gcn-predict wrote
    /// positions in other units) but the row count equals the node count, rows are taken in node
    /// order, which is the order gcn-predict writes them in.
    pub fn node_probabilities(&self, g: &Graph, num_coords: usize) -> Result<Vec<f64>> {
        let ev = format!("event {}:{}", g.fnum, g.dataset_id);
        if self.kind != Some(PredKind::Voxel) {
            bail!(
                "{ev}: per-voxel colours need a VoxelPred file, not {}",
                self.sources.join(", ")
            );
        }
        let rows: Vec<usize> = (0..self.len())
            .filter(|&r| self.file_id[r] == g.fnum && self.dataset_id[r] == g.dataset_id)
            .collect();
        if rows.is_empty() {
            bail!(
                "{ev}: no VoxelPred rows for this event in {}",
                self.sources.join(", ")
            );
        }
        let key = |v: [f64; 3]| v.map(|c| c.round() as i64);
        let by_xyz: HashMap<[i64; 3], usize> =
            rows.iter().map(|&r| (key(self.xyz[r]), r)).collect();
        let matched: Option<Vec<usize>> = if num_coords >= 3 && rows.len() == g.num_nodes {
            (0..g.num_nodes)
                .map(|i| {
                    let c = &g.coords[i * num_coords..i * num_coords + 3];
                    by_xyz.get(&[c[0], c[1], c[2]]).copied()
                })
                .collect()
        } else {
            None
        };
        let order = match matched {
            Some(m) => m,
            None if rows.len() == g.num_nodes => rows,
            None => bail!(
                "{ev}: {} VoxelPred rows for {} voxels (in {})",
                rows.len(),
                g.num_nodes,
                self.sources.join(", ")
            ),
        };
        Ok(order
            .iter()
            .flat_map(|&r| self.probs_row(r).iter().copied())
            .collect())
    }
}
