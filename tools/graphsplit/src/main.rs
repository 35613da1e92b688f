//! graphsplit: split graph streams into `<prefix>_train.gs`, `<prefix>_valid.gs`, `<prefix>_test.gs`.

use clap::{Parser, ValueEnum};
use graphsplit::{parse_fractions, part_path, split, Mode, SplitOptions, PARTS};

const EXAMPLES: &str = "\
Examples:
  graphsplit all.gs --prefix data/next           # 80/10/10, seed 42
  voxel2graph file.h5 | graphsplit - --prefix p --fractions 0.7,0.15,0.15 --seed 1
  graphsplit part_*.gs --prefix p --stratify binclass
  graphsplit chunk_$SLURM_ARRAY_TASK_ID.gs --prefix out/chunk_$SLURM_ARRAY_TASK_ID --by-hash

--by-hash puts a graph in train when u < f_train, in valid when u < f_train + f_valid, else in
test, with u = (h >> 11) / 2^53 and h = m(m(m(seed) ^ fnum) ^ dataset_id), m = SplitMix64
(docs/FORMAT.md). Every task then agrees on where an event goes, and memory stays flat.";

/// Which column to stratify on.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Stratify {
    /// The event class (signal / background).
    Binclass,
}

/// Split nextgnn graph streams into train, validation and test streams.
///
/// The three outputs appear only once complete (written under a temporary name, then renamed).
/// Frames are copied byte for byte, never decoded.
#[derive(Parser, Debug)]
#[command(name = "graphsplit", version, after_help = EXAMPLES)]
struct Args {
    /// Input graph streams, read one after the other; `-` reads stdin.
    #[arg(default_value = "-")]
    inputs: Vec<String>,
    /// Output prefix: writes PREFIX_train.gs, PREFIX_valid.gs and PREFIX_test.gs.
    #[arg(short, long)]
    prefix: String,
    /// Train, validation and test fractions, adding up to 1.
    #[arg(long, value_delimiter = ',', default_value = "0.8,0.1,0.1")]
    fractions: Vec<f64>,
    /// Seed of the shuffle (or of the hash with --by-hash): same inputs and seed, same split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Assign each graph by a hash of (fnum, dataset_id) instead of a shuffle: streaming, flat
    /// memory, consistent across independent jobs; part sizes then match the fractions on average.
    #[arg(long)]
    by_hash: bool,
    /// Split each class separately so that every part keeps the class balance (shuffle mode only).
    #[arg(long, value_enum, conflicts_with = "by_hash")]
    stratify: Option<Stratify>,
}

fn main() {
    nextgnn_stream::run_main(|| {
        let a: Args = nextgnn_stream::parse_args();
        let opts = SplitOptions {
            fractions: parse_fractions(&a.fractions)?,
            seed: a.seed,
            mode: if a.by_hash {
                Mode::ByHash
            } else {
                Mode::Shuffle
            },
            stratify_binclass: a.stratify.is_some(),
        };
        nextgnn_stream::output::remove_temp_files_on_signals()?;
        nextgnn_stream::output::check_distinct_inputs(
            a.inputs
                .iter()
                .filter(|p| *p != "-")
                .map(std::path::Path::new),
        )?;
        for k in 0..PARTS.len() {
            nextgnn_stream::output::check_not_an_input(
                &part_path(&a.prefix, k),
                a.inputs.iter().map(std::path::Path::new),
            )?;
        }
        let counts = split(&a.inputs, &a.prefix, &opts)?;
        for (k, c) in counts.iter().enumerate() {
            println!("{:<5} {c:>9} graphs  {}", PARTS[k], part_path(&a.prefix, k));
        }
        println!("total {:>9} graphs", counts.iter().sum::<u64>());
        Ok(())
    })
}
