//! The bodies of the gcn-train and gcn-predict commands (their `main.rs` only parses arguments).

use crate::model::Task;
use crate::ops::CpuFast;
use crate::predict::{self, Predictions};
use crate::store::GraphStore;
use crate::train::{self, Checkpoint, Outcome, RunSetup, TrainConfig};
use anyhow::{ensure, Context, Result};
use nextgnn_stream::{FileReader, StreamReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Where the model runs; the tools' `--device` values (cpu, cuda, cpu-dfdx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceKind {
    /// CPU with the custom graph kernels.
    Cpu,
    /// The first CUDA GPU (build with --features cuda).
    Cuda,
    /// CPU with dfdx's own ops only: the CUDA code path, for comparisons.
    CpuDfdx,
}

/// Why `--device cuda` fails in a build without the `cuda` feature, and the command that fixes it.
#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str = "--device cuda: this build has no CUDA support; rebuild the GCN tools with \
     `cargo build --release -p gcn-train -p gcn-predict --features cuda` (needs the CUDA toolkit)";

impl DeviceKind {
    /// Fails at once when this build cannot run on the device, before any input is read or any
    /// output directory is made.
    pub fn ensure_built(self) -> Result<()> {
        #[cfg(not(feature = "cuda"))]
        if self == DeviceKind::Cuda {
            anyhow::bail!(NO_CUDA);
        }
        Ok(())
    }
}

/// Calls `f` with the backend of `kind`.
macro_rules! with_backend {
    ($kind:expr, |$b:ident| $body:expr) => {
        match $kind {
            DeviceKind::Cpu => {
                let $b = CpuFast::default();
                $body
            }
            DeviceKind::CpuDfdx => {
                let $b = crate::ops::Pure::<dfdx::prelude::Cpu>::default();
                $body
            }
            DeviceKind::Cuda => {
                #[cfg(feature = "cuda")]
                {
                    let dev = dfdx::prelude::Cuda::try_build(0, 0)
                        .map_err(|e| anyhow::anyhow!("cannot open CUDA device 0: {e:?}"))?;
                    let $b = crate::ops::Pure { dev };
                    $body
                }
                #[cfg(not(feature = "cuda"))]
                {
                    anyhow::bail!(NO_CUDA)
                }
            }
        }
    };
}

/// Sets the rayon pool size (0 = one thread per core); called once, before any work.
pub fn set_threads(n: usize) -> Result<()> {
    if n > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("cannot set the thread count")?;
    }
    Ok(())
}

/// Keeps freed memory in the process for reuse instead of returning it to the system.
///
/// Every training step allocates and frees the same few megabytes of activations and gradients.
/// With glibc's defaults the top of the heap is trimmed and large blocks are unmapped after each
/// step, so the next step faults every page in again: a third of the training time went to page
/// faults. Blocks below 4 MiB now come from the heap, which is never trimmed; the peak resident
/// size stays what the largest step needs.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // glibc's mallopt parameters (malloc.h).
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes allocator tuning parameters; it is called before any
        // other thread exists.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 4 << 20);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}

/// Reads the graphs of a stream into a compact store, checking each one as it arrives, so that
/// the decoded form of only one graph is alive at a time.
pub fn read_store(r: &mut FileReader, task: Task, nclass: usize, name: &str) -> Result<GraphStore> {
    let schema = r.schema().clone();
    let mut store = GraphStore::new(schema.node_features.len(), task == Task::Segmentation);
    let mut k = 0usize;
    while let Some(g) = r.next_graph()? {
        train::check_graph(task, &schema, &g, nclass, name, k)?;
        store.push(&g).with_context(|| {
            format!("{name}: graph {k} (file {} event {})", g.fnum, g.dataset_id)
        })?;
        k += 1;
    }
    store.shrink();
    Ok(store)
}

/// Options of gcn-train besides the hyperparameters.
#[derive(Debug, Clone)]
pub struct TrainArgs {
    /// Training stream.
    pub train: String,
    /// Validation stream.
    pub valid: String,
    /// Output directory.
    pub out: PathBuf,
    /// Checkpoint to continue from.
    pub resume: Option<PathBuf>,
    /// Overrides the epoch count of a resumed run.
    pub epochs_override: Option<usize>,
    /// Device.
    pub device: DeviceKind,
    /// Stop after this many batches (tests).
    pub max_batches: Option<usize>,
    /// Long names of the hyperparameter options given on the command line: with `resume`, each
    /// must agree with the checkpoint.
    pub given: Vec<String>,
}

/// Whether two stream arguments name one file (stdin never does).
fn same_file(a: &str, b: &str) -> bool {
    use nextgnn_stream::output::file_id;
    a != "-" && b != "-" && file_id(Path::new(a)).is_some_and(|x| file_id(Path::new(b)) == Some(x))
}

/// The files a training run writes into its `--out` directory.
pub const RUN_FILES: [&str; 3] = ["last.ckpt", "best.ckpt", "metrics.csv"];

/// Refuses an `--out` that holds the files of a run other than the one being continued, so that
/// no run overwrites another's checkpoints or mixes rows into its metrics.csv.
fn check_out_dir(a: &TrainArgs) -> Result<()> {
    let out = a.out.display();
    let held: Vec<&str> = RUN_FILES
        .into_iter()
        .filter(|f| a.out.join(f).exists())
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    let held = held.join(", ");
    match &a.resume {
        None => anyhow::bail!(
            "{out}: already holds a training run ({held}); continue it with --resume {}, or \
             give another --out (or remove {out}) to start a new run",
            a.out.join("last.ckpt").display()
        ),
        Some(p) => {
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let same = match (parent.canonicalize(), a.out.canonicalize()) {
                (Ok(x), Ok(y)) => x == y,
                _ => false,
            };
            ensure!(
                same,
                "{out}: holds another run's files ({held}) and --resume {} is not from it; a \
                 resumed run writes into --out: give --out {} or an empty directory",
                p.display(),
                parent.display()
            );
            Ok(())
        }
    }
}

/// Refuses hyperparameter options, given with `--resume`, that contradict the checkpoint: a
/// resumed run keeps its own (only `--epochs` may change).
fn check_resume_options(cfg: &TrainConfig, ck: &Checkpoint, a: &TrainArgs) -> Result<()> {
    let Some(p) = &a.resume else { return Ok(()) };
    let clashes: Vec<String> = cfg
        .differences(&ck.config)
        .into_iter()
        .filter(|(name, _, _)| a.given.iter().any(|g| g == name))
        .map(|(name, given, saved)| format!("--{name} {given} (checkpoint: {saved})"))
        .collect();
    ensure!(
        clashes.is_empty(),
        "{}: {} contradicts the checkpoint; a resumed run keeps its hyperparameters (only --epochs \
         may change): drop the option, or start a new run in another --out",
        p.display(),
        clashes.join(", ")
    );
    Ok(())
}

/// Runs gcn-train; `on_epoch` gets each epoch's metrics (after metrics.csv is written).
pub fn train_command(
    cfg: TrainConfig,
    a: &TrainArgs,
    stop: &AtomicBool,
    mut on_epoch: impl FnMut(&train::EpochMetrics, &Path),
) -> Result<Outcome> {
    a.device.ensure_built()?;
    ensure!(
        !(a.train == "-" && a.valid == "-"),
        "--train and --valid are both stdin (-); at most one stream can come from stdin"
    );
    check_out_dir(a)?;
    let resumed = a.resume.as_deref().map(Checkpoint::load).transpose()?;
    if let Some(ck) = &resumed {
        check_resume_options(&cfg, ck, a)?;
    }
    let mut train_reader = StreamReader::open(&a.train).context("--train")?;
    let mut valid_reader = StreamReader::open(&a.valid).context("--valid")?;
    let schema = train_reader.schema().clone();
    let vschema = valid_reader.schema().clone();
    ensure!(
        vschema.node_features == schema.node_features,
        "{}: node features [{}] differ from the training stream's [{}]",
        a.valid,
        vschema.node_features.join(", "),
        schema.node_features.join(", ")
    );
    // Inputs are checked before anything is derived from them (class weights, the model).
    let (task, nclass) = match &resumed {
        Some(ck) => (ck.config.task, ck.weights.config.nclass),
        None => (cfg.task, train::nclass_for(cfg.task, &schema)),
    };
    train::check_schema(task, &schema, &a.train)?;
    train::check_schema(task, &vschema, &a.valid)?;
    let train_graphs = read_store(&mut train_reader, task, nclass, &a.train).context("--train")?;
    let valid_graphs = read_store(&mut valid_reader, task, nclass, &a.valid).context("--valid")?;
    // The readers' buffers (a megabyte each) are not needed during training.
    drop((train_reader, valid_reader));
    let ck = match (resumed, &a.resume) {
        (Some(mut ck), Some(p)) => {
            ensure!(
                ck.schema.node_features == schema.node_features,
                "{}: node features [{}] differ from the checkpoint's [{}] ({})",
                a.train,
                schema.node_features.join(", "),
                ck.schema.node_features.join(", "),
                p.display()
            );
            if let Some(e) = a.epochs_override {
                ck.config.epochs = e;
            }
            ensure!(
                ck.epoch < ck.config.epochs,
                "{}: the run has already done {} epochs, --epochs {} leaves nothing to train: give \
                 a larger --epochs to continue it",
                p.display(),
                ck.epoch,
                ck.config.epochs
            );
            ck
        }
        _ => {
            ensure!(
                !train_graphs.is_empty(),
                "the training stream has no graphs"
            );
            train::new_run(cfg, schema.clone(), &train_graphs)?
        }
    };
    ensure!(
        !valid_graphs.is_empty(),
        "{}: the validation stream has no graphs",
        a.valid
    );
    if same_file(&a.train, &a.valid) {
        eprintln!(
            "gcn-train: warning: --valid is the training stream: validation scores will measure \
             the fit, not how the model generalises (graphsplit makes a validation part)"
        );
    }
    let created = !a.out.exists();
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the output directory", a.out.display()))?;
    eprintln!(
        "gcn-train: {} {} training / {} validation graphs, {} features, {} classes, class weights [{}], epoch {} of {}",
        task,
        train_graphs.len(),
        valid_graphs.len(),
        schema.node_features.len(),
        nclass,
        ck.class_weights.iter().map(|w| format!("{w:.4}")).collect::<Vec<_>>().join(", "),
        ck.epoch + 1,
        ck.config.epochs
    );
    let setup = RunSetup {
        train: train_graphs,
        valid: valid_graphs,
        schema,
        out: a.out.clone(),
        max_batches: a.max_batches,
    };
    let metrics = a.out.join("metrics.csv");
    // A closure, so that a device that fails to open (the `?` in with_backend) still reaches the
    // clean-up below.
    let result = (|| {
        with_backend!(a.device, |b| train::run(
            &b,
            ck,
            &setup,
            stop,
            |m| on_epoch(m, &metrics)
        ))
    })();
    if result.is_err() && created {
        // A run that failed before its first checkpoint leaves no empty directory behind.
        let _ = std::fs::remove_dir(&a.out);
    }
    result
}

/// Output format of gcn-predict (its `--format` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// HDF5 table (PyTables layout, readable by `pandas.read_hdf`) named EventPred or VoxelPred.
    H5,
}

/// Runs gcn-predict: reads the model and the stream, writes the table, returns the score.
pub fn predict_command(
    model: &Path,
    input: &str,
    output: &str,
    format: Format,
    batch: usize,
    device: DeviceKind,
) -> Result<(Task, Option<predict::Score>)> {
    device.ensure_built()?;
    let ck = Checkpoint::load(model)?;
    let mut reader = StreamReader::open(input)?;
    train::check_coords(reader.schema(), input)?;
    let schema = reader.schema().clone();
    let mut graphs = reader.read_all()?;
    ensure!(
        schema.node_features == ck.schema.node_features,
        "{input}: node features [{}] differ from the model's [{}] ({})",
        schema.node_features.join(", "),
        ck.schema.node_features.join(", "),
        model.display()
    );
    // Labels outside the model's classes are refused here, not met while scoring.
    let nclass = ck.weights.config.nclass;
    for (k, g) in graphs.iter().enumerate() {
        train::check_graph(ck.config.task, &schema, g, nclass, input, k)?;
    }
    let nfeat = schema.node_features.len();
    let ncoord = schema.coord_names.len();
    let (pred, score) = with_backend!(device, |b| predict::predict(
        &b,
        &ck.weights,
        &mut graphs,
        batch,
        nfeat,
        ncoord
    ))?;
    write_predictions(&pred, output, format)?;
    Ok((ck.config.task, score))
}

fn write_predictions(p: &Predictions, output: &str, format: Format) -> Result<()> {
    match format {
        Format::Csv => {
            let mut o = nextgnn_stream::Output::create(output)?;
            predict::write_csv(p, &mut o)?;
            o.commit()
        }
        Format::H5 => {
            ensure!(
                output != "-",
                "--format h5 needs a file name (-o FILE.h5), not stdout"
            );
            let dest = Path::new(output);
            ensure!(
                !nextgnn_stream::output::is_special(dest),
                "{output}: not a regular file; HDF5 output needs a file name"
            );
            ensure!(
                !dest.is_dir(),
                "{output}: is a directory; give the output a file name (a path inside it, or another name)"
            );
            let tmp = nextgnn_stream::output::create_temp_sibling(dest)?.0;
            let r = predict::write_h5(p, &tmp).and_then(|_| {
                std::fs::rename(&tmp, dest)
                    .with_context(|| format!("{output}: cannot rename into place"))
            });
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            r
        }
    }
}

/// One-line summary of a score for stderr.
pub fn score_line(task: Task, s: &predict::Score) -> String {
    match task {
        Task::Classification => format!("accuracy {:.4} on {} events", s.values[0], s.count),
        Task::Segmentation => format!(
            "IoU {} on {} voxels",
            s.values
                .iter()
                .enumerate()
                .map(|(k, v)| format!("class {k} {v:.4}"))
                .collect::<Vec<_>>()
                .join(", "),
            s.count
        ),
    }
}
