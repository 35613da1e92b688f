//! Label files to a graph stream: reading in chunks, grouping by event, parallel graph building.

use crate::build::{build_graph_reusing, BuildConfig, CloudColumns, Event, Outcome, SkipReason};
use crate::h5table::{open_file, ColumnType, Field, Layout, Rows, Table};
use anyhow::{bail, Context, Result};
use nextgnn_stream::{Graph, Schema};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Most written graphs kept for reuse.
const POOL_MAX: usize = 4096;

/// Which segclass value is class 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegclassBase {
    /// 0 for a table named `Voxels` (the old NEXT_SPARSECONVNET format, segclass 0..2), else 1.
    Auto,
    /// This value is class 0.
    Fixed(i64),
}

/// Everything voxel2graph needs to know (the reference configuration plus I/O).
#[derive(Debug, Clone)]
pub struct Options {
    /// Label files, in output order.
    pub inputs: Vec<PathBuf>,
    /// Table path inside each file.
    pub table: String,
    /// Event id column.
    pub id: String,
    /// Feature columns.
    pub features: Vec<String>,
    /// Label column; None for unlabelled graphs.
    pub label: Option<String>,
    /// Coordinate columns (1 to 3, integers).
    pub coords: Vec<String>,
    /// Event class column.
    pub binclass: String,
    /// File number for every input, instead of parsing it from the file name.
    pub fnum: Option<i64>,
    /// Segclass offset rule.
    pub segclass_base: SegclassBase,
    /// Graph construction (feature names and label name are filled in from the fields above).
    pub build: BuildConfig,
    /// Rows read per HDF5 request (whole events are kept together). Small enough that a batch's
    /// rows and graphs stay in cache; the id pass reads 8 times as many rows at a time.
    pub batch_rows: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            inputs: Vec::new(),
            table: "DATASET/MCVoxels".into(),
            id: "dataset_id".into(),
            features: vec!["ener".into(), "nhits".into()],
            label: Some("segclass".into()),
            coords: vec!["x".into(), "y".into(), "z".into()],
            binclass: "binclass".into(),
            fnum: None,
            segclass_base: SegclassBase::Auto,
            build: BuildConfig::default(),
            batch_rows: 1 << 13,
        }
    }
}

/// Counts for the one-line summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Rows (voxels) read.
    pub voxels: u64,
    /// Events read.
    pub events: u64,
    /// Graphs written.
    pub written: u64,
    /// Events without a graph, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Warnings printed (empty tables, unordered tables).
    pub warnings: Vec<String>,
}

impl Summary {
    /// `voxel2graph: 1 file, 318 voxels, 6 events read, 6 graphs written, 0 skipped`.
    pub fn line(&self) -> String {
        let skipped: u64 = self.skipped.values().sum();
        let why = if skipped == 0 {
            String::new()
        } else {
            format!(
                " ({})",
                self.skipped
                    .iter()
                    .map(|(r, n)| format!("{n} {}", r.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        format!(
            "voxel2graph: {} file{}, {} voxels, {} events read, {} graphs written, {skipped} skipped{why}",
            self.files,
            if self.files == 1 { "" } else { "s" },
            self.voxels,
            self.events,
            self.written
        )
    }
}

/// The stream schema these options produce.
pub fn schema(opts: &Options) -> Schema {
    let mut node_features = opts.features.clone();
    if opts.build.cloud_info {
        node_features.push("cloud_ener".into());
        node_features.push("cloud_nhits".into());
    }
    Schema {
        node_features,
        edge_features: vec!["distance".into(), format!("{}_gradient", opts.features[0])],
        num_node_classes: if opts.label.is_some() {
            opts.build.num_classes
        } else {
            0
        },
        has_node_labels: opts.label.is_some(),
        coord_names: opts.coords.clone(),
    }
}

/// File number from the name: the integer in the second-to-last `_` token (`nexus_label_0_tag.h5` -> 0).
pub fn fnum_from_name(path: &Path) -> Result<i64> {
    let base = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let toks: Vec<&str> = base.split('_').collect();
    let tok = if toks.len() >= 2 {
        toks[toks.len() - 2]
    } else {
        ""
    };
    tok.parse::<i64>().map_err(|_| {
        anyhow::anyhow!(
            "{}: cannot take the file number from the name (the reference reads the integer in the \
             second-to-last '_' token, e.g. nexus_label_3_tag.h5 -> 3; found {tok:?}); pass --fnum N",
            path.display()
        )
    })
}

/// The files of task `task` out of `tasks`: every file whose index modulo `tasks` is `task`.
pub fn task_share(files: Vec<PathBuf>, task: usize, tasks: usize) -> Result<Vec<PathBuf>> {
    if tasks == 0 {
        bail!("--tasks must be at least 1");
    }
    if task >= tasks {
        bail!("--task-id {task} must be smaller than --tasks {tasks} (task ids count from 0)");
    }
    Ok(files
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % tasks == task)
        .map(|(_, f)| f)
        .collect())
}

/// The columns one event needs, as fields of the rows read with [`Plan::layout`].
struct Plan {
    layout: Layout,
    id: Field,
    coords: Vec<Field>,
    features: Vec<Field>,
    label: Option<(Field, String)>,
    binclass: (Field, String),
    cloud: Option<[Field; 4]>,
}

impl Plan {
    fn new(table: &Table, opts: &Options) -> Result<Plan> {
        let mut names: Vec<String> = Vec::new();
        let mut idx = |n: &str| -> usize {
            if let Some(p) = names.iter().position(|m| m == n) {
                p
            } else {
                names.push(n.to_string());
                names.len() - 1
            }
        };
        let numeric = |n: &str, what: &str| -> Result<()> {
            let c = table.column(n)?;
            match c.ty {
                ColumnType::Int(_) | ColumnType::UInt(_) | ColumnType::Float(_) => Ok(()),
                t => bail!("{}: column {n} ({what}) is {t}, not a number", table.what()),
            }
        };
        let integer = |n: &str, what: &str| -> Result<()> {
            let c = table.column(n)?;
            match c.ty {
                ColumnType::Int(_) | ColumnType::UInt(_) => Ok(()),
                t => bail!(
                    "{}: column {n} ({what}) is {t}; it must hold integers",
                    table.what()
                ),
            }
        };
        integer(&opts.id, "event id")?;
        let id = idx(&opts.id);
        let coords = opts
            .coords
            .iter()
            .map(|c| integer(c, "voxel coordinate (bin index)").map(|_| idx(c)))
            .collect::<Result<Vec<_>>>()?;
        let features = opts
            .features
            .iter()
            .map(|c| numeric(c, "feature").map(|_| idx(c)))
            .collect::<Result<Vec<_>>>()?;
        let label = match &opts.label {
            Some(l) => {
                numeric(l, "label")?;
                Some(idx(l))
            }
            None => None,
        };
        numeric(&opts.binclass, "event class")?;
        let binclass = idx(&opts.binclass);
        let cloud = if opts.build.cloud_info {
            if table.column("cloud").is_err() {
                bail!(
                    "{}: --cloud-info needs a cloud column, and there is none (columns: {})",
                    table.what(),
                    table
                        .columns()
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if !matches!(
                table.column("cloud")?.ty,
                ColumnType::Str(_) | ColumnType::Int(_) | ColumnType::UInt(_)
            ) {
                bail!(
                    "{}: column cloud must hold labels (strings or integers)",
                    table.what()
                );
            }
            numeric("cloud_ener", "cloud energy")?;
            numeric("ener", "energy")?;
            numeric("nhits", "hit count")?;
            Some([idx("ener"), idx("nhits"), idx("cloud_ener"), idx("cloud")])
        } else {
            None
        };
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let layout = table.layout(&refs)?;
        let f = |k: usize| layout.fields[k];
        Ok(Plan {
            id: f(id),
            coords: coords.into_iter().map(f).collect(),
            features: features.into_iter().map(f).collect(),
            label: label.map(|k| (f(k), names[k].clone())),
            binclass: (f(binclass), names[binclass].clone()),
            cloud: cloud.map(|c| c.map(f)),
            layout,
        })
    }

    /// Fills `ev` (reusing its buffers) with the event held in rows `lo..hi` of `block`,
    /// whose table rows are the runs `runs`.
    fn fill(
        &self,
        ev: &mut Event,
        block: &Rows,
        id: i64,
        (lo, hi): (usize, usize),
        runs: &[(usize, usize)],
    ) -> Result<()> {
        let n = hi - lo;
        ev.dataset_id = id;
        ev.ncoords = self.coords.len();
        ev.rows.clear();
        ev.rows.extend(
            runs.iter()
                .flat_map(|&(st, len)| (st..st + len).map(|r| r as u64)),
        );
        ev.points.clear();
        ev.points.resize(n, [0i64; 3]);
        for (d, f) in self.coords.iter().enumerate() {
            f.each_i64(block, lo, hi, |i, v| ev.points[i - lo][d] = v);
        }
        let f64s = |f: &Field, v: &mut Vec<f64>| {
            v.clear();
            f.each_f64(block, lo, hi, |_, x| v.push(x));
        };
        ev.features.resize_with(self.features.len(), Vec::new);
        for (f, col) in self.features.iter().zip(&mut ev.features) {
            f64s(f, col);
        }
        ev.labels.clear();
        match &self.label {
            None => {}
            Some((f, _)) if f.is_int() => f.each_i64(block, lo, hi, |_, x| ev.labels.push(x)),
            Some((f, name)) => {
                for i in lo..hi {
                    let v = f.f64(block.get(i));
                    if v.fract() != 0.0 || !v.is_finite() {
                        bail!(
                            "row {}: column {name} is {v}, not an integer class",
                            ev.rows[i - lo]
                        );
                    }
                    ev.labels.push(v as i64);
                }
            }
        }
        ev.binclass = {
            let v = self.binclass.0.f64(block.get(lo));
            if v.fract() != 0.0 || !v.is_finite() {
                bail!(
                    "row {}: column {} is {v}, not an integer class",
                    ev.rows[0],
                    self.binclass.1
                );
            }
            v as i64
        };
        match self.cloud {
            None => ev.cloud = None,
            Some([e, nh, ce, cl]) => {
                let c = ev.cloud.get_or_insert_with(CloudColumns::default);
                f64s(&e, &mut c.ener);
                f64s(&nh, &mut c.nhits);
                f64s(&ce, &mut c.cloud_ener);
                cloud_ids(block, cl, lo, hi, &mut c.cloud);
            }
        }
        Ok(())
    }
}

/// Numbers the event's distinct cloud labels 0, 1, ... in order of first appearance.
fn cloud_ids(block: &Rows, f: Field, lo: usize, hi: usize, out: &mut Vec<u32>) {
    // An event has a handful of clouds: a linear search beats hashing 32-byte labels.
    const LINEAR: usize = 16;
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut seen_int: Vec<i64> = Vec::new();
    let mut by_str: HashMap<&[u8], u32> = HashMap::new();
    let mut by_int: HashMap<i64, u32> = HashMap::new();
    out.clear();
    for i in lo..hi {
        let r = block.get(i);
        let id = if f.is_str() {
            let key = f.bytes(r);
            match seen.iter().position(|&s| s == key) {
                Some(p) => p as u32,
                None if seen.len() < LINEAR => {
                    seen.push(key);
                    seen.len() as u32 - 1
                }
                None => {
                    let next = (LINEAR + by_str.len()) as u32;
                    *by_str.entry(key).or_insert(next)
                }
            }
        } else {
            let key = f.i64(r);
            match seen_int.iter().position(|&s| s == key) {
                Some(p) => p as u32,
                None if seen_int.len() < LINEAR => {
                    seen_int.push(key);
                    seen_int.len() as u32 - 1
                }
                None => {
                    let next = (LINEAR + by_int.len()) as u32;
                    *by_int.entry(key).or_insert(next)
                }
            }
        };
        out.push(id);
    }
}

/// An event's rows in the table: runs of (start, length), usually exactly one.
struct Span {
    id: i64,
    runs: Vec<(usize, usize)>,
    rows: usize,
}

/// Reads the id column in chunks and groups rows by id, ascending (as pandas groupby does).
///
/// Returns the spans and whether the table is ordered (every id one contiguous run, ascending),
/// in which case a batch of events is one contiguous row range.
fn group_rows(table: &Table, id: &str, chunk: usize) -> Result<(Vec<Span>, bool)> {
    let mut runs: Vec<(i64, usize, usize)> = Vec::new();
    let layout = if std::env::var_os("V2G_IDCONV").is_some() {
        table.layout_converted(&[id])?
    } else {
        table.layout(&[id])?
    };
    let field = layout.fields[0];
    let mut block = Rows::default();
    let mut start = 0;
    while start < table.nrows() {
        let count = chunk.min(table.nrows() - start);
        table.read_rows(&layout, start, count, &mut block)?;
        field.each_i64(&block, 0, count, |i, v| match runs.last_mut() {
            Some((last, _, len)) if *last == v => *len += 1,
            _ => runs.push((v, start + i, 1)),
        });
        start += count;
    }
    let ordered = runs.windows(2).all(|w| w[0].0 < w[1].0);
    if ordered {
        return Ok((
            runs.into_iter()
                .map(|(id, s, l)| Span {
                    id,
                    runs: vec![(s, l)],
                    rows: l,
                })
                .collect(),
            true,
        ));
    }
    let mut by_id: BTreeMap<i64, Span> = BTreeMap::new();
    for (id, s, l) in runs {
        let span = by_id.entry(id).or_insert_with(|| Span {
            id,
            runs: Vec::new(),
            rows: 0,
        });
        span.runs.push((s, l));
        span.rows += l;
    }
    Ok((by_id.into_values().collect(), false))
}

/// Opens one input and checks its table and columns against the options. An empty table has no
/// plan: it gives no events whatever its columns (label files carry empty placeholder tables,
/// such as a `BeershebaVoxels` with a single string column, when that labelling was not run).
fn prepare(
    opts: &Options,
    path: &Path,
) -> Result<(i64, hdf5::File, Table, Option<Plan>, BuildConfig)> {
    let name = path.display().to_string();
    // The file is opened first: "no such file" says more than a complaint about its name.
    let file = open_file(path)?;
    let fnum = match opts.fnum {
        Some(f) => f,
        None => fnum_from_name(path)?,
    };
    let table = Table::open(&file, &name, &opts.table)?;
    let plan = if table.nrows() == 0 {
        None
    } else {
        Some(Plan::new(&table, opts)?)
    };
    let mut cfg = opts.build.clone();
    cfg.feature_names = opts.features.clone();
    cfg.label_name = opts.label.clone().unwrap_or_default();
    cfg.segclass_base = match opts.segclass_base {
        SegclassBase::Fixed(b) => b,
        // The old NEXT_SPARSECONVNET table `Voxels` numbers its classes from 0.
        SegclassBase::Auto if table.path().rsplit('/').next() == Some("Voxels") => 0,
        SegclassBase::Auto => 1,
    };
    Ok((fnum, file, table, plan, cfg))
}

/// Checks every input (file name number, HDF5, table, columns) without reading events, so that
/// bad input fails before any output is written.
pub fn check_inputs(opts: &Options) -> Result<()> {
    check_options(opts)?;
    for path in &opts.inputs {
        prepare(opts, path)?;
    }
    Ok(())
}

fn check_options(opts: &Options) -> Result<()> {
    if opts.features.is_empty() {
        bail!("--features needs at least one column");
    }
    if opts.coords.is_empty() || opts.coords.len() > 3 {
        bail!("--coords needs 1 to 3 columns, got {}", opts.coords.len());
    }
    Ok(())
}

/// Where converted graphs go.
pub trait Sink {
    /// Writes one graph.
    fn write(&mut self, g: &Graph) -> Result<()>;

    /// A point to go back to, or None when the output cannot go back. With a mark, an input is
    /// read in one pass, betting that its table is ordered by event id (as label files are); if
    /// it is not, the output goes back to the mark and the input is read again, grouped by id.
    fn mark(&mut self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Drops everything written since [`Sink::mark`] returned `mark`.
    fn rewind(&mut self, mark: u64) -> Result<()> {
        bail!("this output cannot go back to byte {mark}")
    }
}

impl<F: FnMut(&Graph) -> Result<()>> Sink for F {
    fn write(&mut self, g: &Graph) -> Result<()> {
        self(g)
    }
}

/// One input being converted.
struct Input<'a> {
    opts: &'a Options,
    name: String,
    fnum: i64,
    table: Table,
    plan: Plan,
    cfg: BuildConfig,
    /// Written graphs handed back to the builders, whose buffers are reused.
    pool: Mutex<Vec<Graph>>,
}

/// An event of a block of rows: its id, its rows `lo..lo + rows` in the block, and the table
/// row runs those came from.
struct EventAt<'r> {
    id: i64,
    lo: usize,
    rows: usize,
    runs: &'r [(usize, usize)],
}

impl Input<'_> {
    /// Builds the events of `block` in parallel and writes their graphs in order.
    fn build_and_write(
        &self,
        block: &Rows,
        events: &[EventAt],
        sink: &mut impl Sink,
        summary: &mut Summary,
    ) -> Result<()> {
        let build = |ev: &mut Event, e: &EventAt| {
            self.plan
                .fill(ev, block, e.id, (e.lo, e.lo + e.rows), e.runs)?;
            let spare = self.pool.lock().ok().and_then(|mut p| p.pop());
            build_graph_reusing(ev, &self.cfg, self.fnum, spare.unwrap_or_default())
        };
        // On one thread the batch is built right here: handing it to a pool thread and waiting
        // would only add the hand-off and the pool thread's idle spinning to the CPU time.
        let outcomes: Vec<Result<Outcome>> = if rayon::current_num_threads() == 1 {
            let mut ev = Event::default();
            events.iter().map(|e| build(&mut ev, e)).collect()
        } else {
            events.par_iter().map_init(Event::default, build).collect()
        };
        for (e, out) in events.iter().zip(outcomes) {
            let out = out.with_context(|| {
                format!(
                    "{}: table {}, event {} {}",
                    self.name,
                    self.table.path(),
                    self.opts.id,
                    e.id
                )
            })?;
            summary.events += 1;
            summary.voxels += e.rows as u64;
            match out {
                Outcome::Graph(g) => {
                    sink.write(&g)?;
                    summary.written += 1;
                    // Written graphs go back to the builders: their buffers are reused
                    // instead of being freed here and allocated again on another thread.
                    if let Ok(mut p) = self.pool.lock() {
                        if p.len() < POOL_MAX {
                            p.push(g);
                        }
                    }
                }
                Outcome::Skipped(r) => *summary.skipped.entry(r).or_insert(0) += 1,
            }
        }
        Ok(())
    }

    /// One pass over the table in batches of whole events, for a table ordered by id; returns
    /// false, having written part of the graphs, as soon as an id is not above the one before.
    fn convert_ordered(
        &self,
        progress: &indicatif::ProgressBar,
        sink: &mut impl Sink,
        summary: &mut Summary,
    ) -> Result<bool> {
        let n = self.table.nrows();
        let mut block = Rows::default();
        let mut runs: Vec<(i64, usize, usize)> = Vec::new();
        let mut table_runs: Vec<[(usize, usize); 1]> = Vec::new();
        let mut last: Option<i64> = None;
        let mut start = 0;
        while start < n {
            let mut count = self.opts.batch_rows.max(1).min(n - start);
            loop {
                self.table
                    .read_rows(&self.plan.layout, start, count, &mut block)?;
                runs.clear();
                self.plan
                    .id
                    .each_i64(&block, 0, count, |i, v| match runs.last_mut() {
                        Some((id, _, len)) if *id == v => *len += 1,
                        _ => runs.push((v, i, 1)),
                    });
                // The last event may go on after the block: unless the table ends here, it is
                // read again at the start of the next block. One event filling the whole
                // block: read more rows.
                if runs.len() == 1 && start + count < n {
                    count = (2 * count).min(n - start);
                    continue;
                }
                break;
            }
            let mut prev = last;
            for &(id, _, _) in &runs {
                if prev.is_some_and(|p| id <= p) {
                    return Ok(false);
                }
                prev = Some(id);
            }
            let whole = if start + count < n {
                runs.len() - 1
            } else {
                runs.len()
            };
            table_runs.clear();
            table_runs.extend(
                runs[..whole]
                    .iter()
                    .map(|&(_, lo, len)| [(start + lo, len)]),
            );
            let events: Vec<EventAt> = runs[..whole]
                .iter()
                .zip(&table_runs)
                .map(|(&(id, lo, rows), r)| EventAt {
                    id,
                    lo,
                    rows,
                    runs: r,
                })
                .collect();
            self.build_and_write(&block, &events, sink, summary)?;
            let rows: usize = events.iter().map(|e| e.rows).sum();
            progress.inc(rows as u64);
            last = Some(runs[whole - 1].0);
            start += rows;
        }
        Ok(true)
    }

    /// Groups the rows by id first (an id pass), then reads each batch of events by its row
    /// runs: any table order works, and events come out by ascending id.
    fn convert_grouped(
        &self,
        progress: &indicatif::ProgressBar,
        sink: &mut impl Sink,
        summary: &mut Summary,
    ) -> Result<()> {
        let opts = self.opts;
        let (spans, ordered) = group_rows(&self.table, &opts.id, opts.batch_rows.max(1) * 8)?;
        if !ordered {
            let w = format!(
                "warning: {}: table {} is not ordered by {}; events are gathered row run by row run (slower)",
                self.name,
                self.table.path(),
                opts.id
            );
            eprintln!("{w}");
            summary.warnings.push(w);
        }
        let mut block = Rows::default();
        let mut part = Rows::default();
        let mut first = 0;
        while first < spans.len() {
            let mut last = first;
            let mut rows = spans[first].rows;
            while last + 1 < spans.len() && rows + spans[last + 1].rows <= opts.batch_rows {
                last += 1;
                rows += spans[last].rows;
            }
            let batch = &spans[first..=last];
            if ordered {
                self.table
                    .read_rows(&self.plan.layout, batch[0].runs[0].0, rows, &mut block)?;
            } else {
                block.buf.clear();
                for s in batch {
                    for &(st, len) in &s.runs {
                        self.table
                            .read_rows(&self.plan.layout, st, len, &mut part)?;
                        block.buf.extend_from_slice(part.bytes());
                    }
                }
                block.row = self.plan.layout.row;
                block.count = rows;
            }
            let mut at = 0;
            let events: Vec<EventAt> = batch
                .iter()
                .map(|s| {
                    let e = EventAt {
                        id: s.id,
                        lo: at,
                        rows: s.rows,
                        runs: &s.runs,
                    };
                    at += s.rows;
                    e
                })
                .collect();
            self.build_and_write(&block, &events, sink, summary)?;
            progress.inc(rows as u64);
            first = last + 1;
        }
        Ok(())
    }
}

/// Converts every input, writing graphs to `sink` in (file, dataset_id) order.
///
/// Graphs are built in parallel (rayon) per batch of events; the order never depends on the
/// number of threads. `progress` is advanced by rows (voxels).
pub fn convert(
    opts: &Options,
    progress: &indicatif::ProgressBar,
    sink: &mut impl Sink,
) -> Result<Summary> {
    check_options(opts)?;
    let mut summary = Summary::default();
    for path in &opts.inputs {
        let name = path.display().to_string();
        let (fnum, _file, table, plan, cfg) = prepare(opts, path)?;
        summary.files += 1;
        let Some(plan) = plan else {
            let w = format!(
                "warning: {name}: table {} is empty: no events",
                table.path()
            );
            eprintln!("{w}");
            summary.warnings.push(w);
            continue;
        };
        progress.inc_length(table.nrows() as u64);
        let input = Input {
            opts,
            name,
            fnum,
            table,
            plan,
            cfg,
            pool: Mutex::new(Vec::new()),
        };
        if let Some(mark) = sink.mark()? {
            let (before, at) = (summary.clone(), progress.position());
            if input.convert_ordered(progress, sink, &mut summary)? {
                continue;
            }
            sink.rewind(mark)?;
            summary = before;
            progress.set_position(at);
        }
        input.convert_grouped(progress, sink, &mut summary)?;
    }
    Ok(summary)
}
