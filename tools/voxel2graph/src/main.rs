//! voxel2graph: NEXT HDF5 label files to a graph stream, as the NEXT_GRAPHS reference does.

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use nextgnn_labels::{
    check_inputs, convert, schema, task_share, EdgeMode, OnDuplicate, Options, SegclassBase, Sink,
};
use nextgnn_stream::{command_line, progress, run_main, Output, StreamWriter};
use std::collections::HashSet;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Edges {
    /// k nearest neighbours of every node (--k, --max-dist), made undirected.
    Knn,
    /// The 26 lattice neighbours: coordinates differing by at most 1 on every axis (distance <= sqrt 3).
    Classic,
    /// Every pair of nodes.
    All,
    /// Edges of the Delaunay triangulation (Qhull, as scipy.spatial.Delaunay); every pair for
    /// at most d+1 voxels; flat events (all in one plane or line) are skipped and counted.
    Delaunay,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Dup {
    /// Stop with an error naming the file, event and rows (as the reference).
    Error,
    /// Merge into one node: features summed, label of the more energetic voxel.
    Merge,
    /// Skip the event (counted in the summary).
    Skip,
}

/// Turn NEXT label files (HDF5 voxel tables) into a graph stream: one graph per event, one node
/// per voxel, edges between nearby voxels. Defaults reproduce the reference template
/// (NEXT_GRAPHS create_datasetTemplate.conf).
#[derive(Parser, Debug)]
#[command(
    name = "voxel2graph",
    version,
    after_help = "\
Examples:
  voxel2graph nexus_label_0_doublescape.h5 -o graphs.gs
  voxel2graph --edges classic --cloud-info label_*.h5 -o classic.gs
  voxel2graph --table DATASET/Voxels --features energy --coords xbin,ybin,zbin --fnum 0 \\
      --edges classic MC_dataset.h5 -o mc.gs
  voxel2graph --files-from list.txt -o part_${SLURM_ARRAY_TASK_ID}.gs   # inside a SLURM array
  voxel2graph nexus_label_0_doublescape.h5 | graphinfo -

Graphs come out in (file, dataset_id) order whatever the thread count. Events whose graph has
no edges are skipped, as in the reference; a one-line summary on stderr counts them.
Labels: y = segclass - 1 (segclass 0..2 of the old DATASET/Voxels tables gives y = segclass).
Details and differences from the reference: docs/VOXEL2GRAPH.md."
)]
struct Args {
    /// Label files (HDF5), processed in the order given.
    #[arg(value_name = "FILE")]
    inputs: Vec<PathBuf>,

    /// Read more input file names from this file, one per line ('-' = stdin; blank lines and '#' comments ignored).
    #[arg(long, value_name = "LIST")]
    files_from: Option<String>,

    /// Output graph stream ('-' = stdout).
    #[arg(short, long, default_value = "-", value_name = "FILE")]
    output: String,

    /// Table (HDF5 dataset path) holding one row per voxel.
    #[arg(long, default_value = "DATASET/MCVoxels")]
    table: String,

    /// Column grouping rows into events.
    #[arg(long, default_value = "dataset_id", value_name = "COLUMN")]
    id: String,

    /// Node feature columns, comma separated; the first one drives the edge gradient.
    #[arg(
        long,
        default_value = "ener,nhits",
        value_delimiter = ',',
        value_name = "COLUMNS"
    )]
    features: Vec<String>,

    /// Node label column (segclass).
    #[arg(long, default_value = "segclass", value_name = "COLUMN")]
    label: String,

    /// Write graphs without node labels (for unlabelled data).
    #[arg(long, conflicts_with = "label")]
    no_label: bool,

    /// Voxel coordinate columns (integer bin indices), comma separated, 1 to 3.
    #[arg(
        long,
        default_value = "x,y,z",
        value_delimiter = ',',
        value_name = "COLUMNS"
    )]
    coords: Vec<String>,

    /// Event class column.
    #[arg(long, default_value = "binclass", value_name = "COLUMN")]
    binclass: String,

    /// Keep raw feature values instead of dividing each by its event sum.
    #[arg(long)]
    no_norm: bool,

    /// Add two features: cloud_ener / sum(ener), and the cloud's summed nhits / sum(nhits).
    /// Needs the columns cloud (the voxel's cloud label), cloud_ener, ener and nhits.
    #[arg(long)]
    cloud_info: bool,

    /// How edges are made.
    #[arg(long, value_enum, default_value = "knn")]
    edges: Edges,

    /// Neighbours per node for --edges knn (reference num_neigh).
    #[arg(long, default_value_t = 6)]
    k: usize,

    /// Reference search_neigh: how many candidates scipy is asked for. Only the reference's tie
    /// order depends on it; here ties are broken by (distance, index), so it has no effect
    /// (accepted for compatibility; it must be at least 1).
    #[arg(long, default_value_t = 20)]
    search_k: usize,

    /// Largest neighbour distance for --edges knn, in coordinate units (default: no limit).
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    max_dist: Option<f64>,

    /// One edge per accepted neighbour (node -> neighbour) instead of both directions.
    #[arg(long)]
    directed: bool,

    /// Map segclass 1..7 to 1 2 3 1 2 3 4 (reconstruction labels to three classes plus ghost).
    #[arg(long)]
    simplify_segclass: bool,

    /// Which segclass value is class 0: auto = 0 for tables named Voxels (old format, segclass 0..2), else 1.
    #[arg(long, default_value = "auto", value_name = "auto|0|1")]
    segclass_base: String,

    /// Number of node classes; a label outside 0..N is an error [default: 3, or 4 with --simplify-segclass].
    #[arg(long, value_name = "N")]
    num_classes: Option<u32>,

    /// What to do with two voxels at the same coordinates in one event.
    #[arg(long, value_enum, default_value = "error")]
    on_duplicate: Dup,

    /// File number for every input; by default the integer in the second-to-last '_' token of the name.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    fnum: Option<i64>,

    /// Process only this task's share of the inputs: files i with i mod TASKS = ID.
    /// Defaults to SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN when set.
    #[arg(long, value_name = "ID")]
    task_id: Option<usize>,

    /// Number of tasks sharing the inputs. Defaults to SLURM_ARRAY_TASK_COUNT when set.
    #[arg(long, value_name = "TASKS")]
    tasks: Option<usize>,

    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0, value_parser = nextgnn_stream::output::parse_threads)]
    threads: usize,
}

fn env_usize(name: &str) -> Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("environment variable {name}={v:?} is not a whole number")),
        _ => Ok(None),
    }
}

fn read_list(src: &str) -> Result<Vec<PathBuf>> {
    let reader: Box<dyn BufRead> = if src == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(src).with_context(|| format!("{src}: cannot open file list"))?,
        ))
    };
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.with_context(|| format!("{src}: reading file list"))?;
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') {
            out.push(PathBuf::from(t));
        }
    }
    Ok(out)
}

fn main() {
    run_main(|| {
        let a: Args = nextgnn_stream::parse_args();
        let mut inputs = a.inputs.clone();
        if let Some(list) = &a.files_from {
            inputs.extend(read_list(list)?);
        }
        if inputs.is_empty() {
            bail!("no input files (give label files or --files-from LIST; see --help)");
        }
        nextgnn_stream::output::remove_temp_files_on_signals()?;
        check_output_name(&a.output, &inputs)?;
        check_columns("--coords", &a.coords)?;
        check_columns("--features", &a.features)?;
        if a.num_classes == Some(0) {
            bail!("--num-classes must be at least 1 (labels run from 0 to N-1)");
        }
        let from_env = a.task_id.is_none() && a.tasks.is_none();
        let task = match a.task_id {
            Some(t) => Some(t),
            None => match env_usize("SLURM_ARRAY_TASK_ID")? {
                Some(id) => {
                    // Stepped arrays (--array=0-8:2) number their tasks MIN, MIN+STEP, ...
                    let min = env_usize("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                    let step = env_usize("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
                    Some(
                        id.checked_sub(min)
                            .context("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?
                            / step,
                    )
                }
                None => None,
            },
        };
        let tasks = match a.tasks {
            Some(t) => Some(t),
            None => env_usize("SLURM_ARRAY_TASK_COUNT")?,
        };
        match (task, tasks) {
            (Some(t), Some(n)) => {
                let given = inputs.len();
                inputs = task_share(inputs, t, n)?;
                if from_env && n > 1 {
                    // Inside an array job the share is taken without being asked for: say so.
                    eprintln!(
                        "voxel2graph: SLURM array task {t} of {n}: converting {} of the {given} input files (--task-id/--tasks from SLURM_ARRAY_TASK_*; --tasks 1 converts them all)",
                        inputs.len()
                    );
                }
                if inputs.is_empty() {
                    eprintln!(
                        "voxel2graph: warning: task {t} of {n} has no input file ({given} files in all); writing an empty stream"
                    );
                }
            }
            (None, None) => {}
            (Some(_), None) => bail!("--task-id needs --tasks (or SLURM_ARRAY_TASK_COUNT)"),
            (None, Some(_)) => bail!("--tasks needs --task-id (or SLURM_ARRAY_TASK_ID)"),
        }
        if a.k == 0 && matches!(a.edges, Edges::Knn) {
            bail!("--k must be at least 1");
        }
        if let Some(d) = a.max_dist {
            if d.is_nan() || d <= 0.0 {
                bail!("--max-dist must be a positive distance, got {d}");
            }
        }
        let segclass_base = match a.segclass_base.as_str() {
            "auto" => SegclassBase::Auto,
            s => SegclassBase::Fixed(
                s.parse()
                    .with_context(|| format!("--segclass-base {s:?}: expected auto, 0 or 1"))?,
            ),
        };
        let mut opts = Options {
            inputs,
            table: a.table.clone(),
            id: a.id.clone(),
            features: a.features.clone(),
            label: if a.no_label {
                None
            } else {
                Some(a.label.clone())
            },
            coords: a.coords.clone(),
            binclass: a.binclass.clone(),
            fnum: a.fnum,
            segclass_base,
            ..Default::default()
        };
        let b = &mut opts.build;
        b.edges = match a.edges {
            Edges::Knn => EdgeMode::Knn,
            Edges::Classic => EdgeMode::Classic,
            Edges::All => EdgeMode::All,
            Edges::Delaunay => EdgeMode::Delaunay,
        };
        if a.search_k == 0 {
            bail!("--search-k must be at least 1");
        }
        b.k = a.k;
        b.max_dist = a.max_dist.unwrap_or(f64::INFINITY);
        b.directed = a.directed;
        b.norm = !a.no_norm;
        b.cloud_info = a.cloud_info;
        b.simplify_segclass = a.simplify_segclass;
        b.num_classes = a
            .num_classes
            .unwrap_or(if a.simplify_segclass { 4 } else { 3 });
        b.on_duplicate = match a.on_duplicate {
            Dup::Error => OnDuplicate::Error,
            Dup::Merge => OnDuplicate::Merge,
            Dup::Skip => OnDuplicate::Skip,
        };
        if a.threads > 0 {
            rayon::ThreadPoolBuilder::new()
                .num_threads(a.threads)
                .build_global()
                .ok();
        }
        if a.output == "-" && std::io::stdout().is_terminal() {
            bail!("refusing to write a binary graph stream to a terminal: use -o FILE or a pipe");
        }
        check_inputs(&opts)?;
        let out = Output::create(&a.output)?;
        let w = StreamWriter::new(out, schema(&opts), &command_line())
            .with_context(|| format!("{}: writing header", a.output))?;
        let pb = progress(0, "voxels");
        let mut sink = StreamSink {
            w,
            name: &a.output,
            marks: Vec::new(),
            seen: HashSet::new(),
            written: Vec::new(),
        };
        let summary = convert(&opts, &pb, &mut sink)?;
        pb.finish_and_clear();
        let out = sink
            .w
            .finish()
            .with_context(|| format!("{}: finishing stream", a.output))?;
        out.commit()?;
        eprintln!("{}", summary.line());
        Ok(())
    });
}

/// The output stream as a [`Sink`]: a file output can go back (see [`Sink::mark`]).
struct StreamSink<'a> {
    w: StreamWriter<Output>,
    name: &'a str,
    /// The writer's counts and the number of graphs written at each mark.
    marks: Vec<(u64, (u64, u64), usize)>,
    /// (fnum, dataset_id) of the graphs written, as a set and in order (for going back).
    seen: HashSet<(i64, i64)>,
    written: Vec<(i64, i64)>,
}

impl Sink for StreamSink<'_> {
    fn write(&mut self, g: &nextgnn_stream::Graph) -> anyhow::Result<()> {
        let key = (g.fnum, g.dataset_id);
        if !self.seen.insert(key) {
            bail!(
                "{}: file {} event {} would be written twice: two inputs have file number {} \
                 (from their names, --fnum or toymc --file-number); give each file its own number",
                self.name,
                g.fnum,
                g.dataset_id,
                g.fnum
            );
        }
        self.written.push(key);
        self.w
            .write(g)
            .with_context(|| format!("{}: writing graph", self.name))
    }

    fn mark(&mut self) -> anyhow::Result<Option<u64>> {
        let at = self
            .w
            .get_mut()
            .mark()
            .with_context(|| format!("{}: writing", self.name))?;
        if let Some(at) = at {
            self.marks.push((at, self.w.counts(), self.written.len()));
        }
        Ok(at)
    }

    fn rewind(&mut self, mark: u64) -> anyhow::Result<()> {
        let (counts, n) = self
            .marks
            .iter()
            .find(|m| m.0 == mark)
            .map(|m| (m.1, m.2))
            .with_context(|| format!("{}: no mark at byte {mark}", self.name))?;
        for key in self.written.drain(n..) {
            self.seen.remove(&key);
        }
        self.w
            .get_mut()
            .rewind(mark)
            .with_context(|| format!("{}: going back to byte {mark}", self.name))?;
        self.w.set_counts(counts);
        Ok(())
    }
}

/// Refuses a column list with an empty name (`--features ""`, `ener,,nhits`) or a name twice.
fn check_columns(option: &str, names: &[String]) -> Result<()> {
    if names.iter().any(|c| c.trim().is_empty()) {
        bail!(
            "{option} has an empty column name (\"{}\"); give column names separated by commas",
            names.join(",")
        );
    }
    if let Some(c) = names
        .iter()
        .enumerate()
        .find_map(|(i, c)| names[..i].contains(c).then_some(c))
    {
        bail!("{option} names column {c} twice; give each column once");
    }
    Ok(())
}

/// Refuses outputs that would destroy or confuse inputs: an input file itself, a name ending in
/// .h5 (graph streams are not HDF5), and the same input given twice (its graphs would be
/// written twice, with the same ids, and could land in both training and test sets).
fn check_output_name(output: &str, inputs: &[PathBuf]) -> Result<()> {
    nextgnn_stream::output::check_not_an_input(output, inputs.iter().map(|p| p.as_path()))?;
    let lower = output.to_ascii_lowercase();
    if lower.ends_with(".h5") || lower.ends_with(".hdf5") {
        bail!(
            "{output}: a graph stream is not an HDF5 file; name the output .gs (a label file may be meant as an input: check the command line)"
        );
    }
    nextgnn_stream::output::check_distinct_inputs(inputs.iter().map(|p| p.as_path()))?;
    Ok(())
}
