//! graphinfo: summarise, print and check nextgnn graph streams.

use clap::Parser;
use graphinfo::{
    check, graph_json, head, parse_id, select_graph, show_text, summarize, summary_text, Selector,
};
use std::io::Write;

const EXAMPLES: &str = "\
Examples:
  graphinfo train.gs                     # counts, sizes, class balance, feature ranges, provenance
  graphinfo a.gs b.gs --json | jq .graphs
  graphinfo train.gs --show 0            # first graph, PyG style, and its first rows
  graphinfo train.gs --id 0:12 --rows 20 # the graph of fnum 0, dataset_id 12
  graphinfo train.gs --head 10 | less
  voxel2graph f.h5 | graphinfo --check   # exit status 1 and the place of the first bad frame
  graphinfo test.gs --id 1:14 --plot ev.svg                    # xy, xz, yz views by voxel class
  graphinfo test.gs --id 1:14 --plot ev.png --pred voxels.csv  # coloured by predicted class
  graphinfo test.gs --id 1:14 --plot ev.svg --pred voxels.csv --prob-class 2   # by P(blob)";

/// Summarise, print and check nextgnn graph streams.
///
/// Without options it prints a summary of all inputs taken together.
#[derive(Parser, Debug)]
#[command(name = "graphinfo", version, after_help = EXAMPLES)]
struct Args {
    /// Graph streams to read, one after the other; `-` reads stdin.
    #[arg(default_value = "-")]
    inputs: Vec<String>,
    /// Print the N-th graph (0-based, over all inputs) like PyG prints a Data object, then its first rows.
    #[arg(long, value_name = "N", conflicts_with_all = ["id", "head", "check"])]
    show: Option<u64>,
    /// Print the graph with this file number and event id, like --show.
    #[arg(long, value_name = "FNUM:DATASET_ID", conflicts_with_all = ["head", "check"])]
    id: Option<String>,
    /// Print one line per graph for the first N graphs.
    #[arg(long, value_name = "N", conflicts_with = "check")]
    head: Option<u64>,
    /// Rows of nodes and edges printed by --show and --id.
    #[arg(long, default_value_t = 5)]
    rows: usize,
    /// Machine-readable output: the summary, the whole selected graph, or one JSON object per line with --head.
    #[arg(long)]
    json: bool,
    /// Decode and validate every frame; exit 1 at the first fault, naming file, byte offset and graph count.
    #[arg(long)]
    check: bool,
    /// Draw the graph chosen by --show or --id in three projections (xy, xz, yz) into this file:
    /// SVG, or PNG when the name ends in .png. Voxels are coloured by their true class.
    #[arg(long, value_name = "FILE")]
    plot: Option<std::path::PathBuf>,
    /// With --plot: colour voxels by the predicted class of a gcn-predict VoxelPred file (CSV or HDF5).
    #[arg(long, value_name = "VOXELPRED", requires = "plot")]
    pred: Option<String>,
    /// With --plot and --pred: colour voxels by the probability of this class (0 other, 1 track, 2 blob).
    #[arg(long, value_name = "K", requires = "pred")]
    prob_class: Option<usize>,
    /// With --plot: leave the edges out of the picture.
    #[arg(long, requires = "plot")]
    no_edges: bool,
}

fn main() {
    nextgnn_stream::run_main(|| {
        let a: Args = nextgnn_stream::parse_args();
        let mut out = std::io::stdout().lock();
        let sel = match (&a.show, &a.id) {
            (Some(n), _) => Some(Selector::Index(*n)),
            (_, Some(id)) => Some(parse_id(id)?),
            _ => None,
        };
        if a.plot.is_some() && sel.is_none() {
            anyhow::bail!(
                "--plot draws one event: choose it with --show N or --id FNUM:DATASET_ID"
            );
        }
        let text = if let Some(sel) = sel {
            let (schema, g) = select_graph(&a.inputs, sel)?;
            if let Some(path) = &a.plot {
                nextgnn_eval::plots::event_picture(
                    &g,
                    &schema,
                    a.pred.as_deref(),
                    a.prob_class,
                    !a.no_edges,
                    path,
                )?;
                format!(
                    "graphinfo: drew event {}:{} into {}\n",
                    g.fnum,
                    g.dataset_id,
                    path.display()
                )
            } else if a.json {
                format!("{}\n", graph_json(&g, &schema))
            } else {
                show_text(&g, &schema, a.rows)
            }
        } else if let Some(n) = a.head {
            head(&a.inputs, n, a.json)?
        } else if a.check {
            let (graphs, bytes) = check(&a.inputs)?;
            if a.json {
                format!(
                    "{}\n",
                    serde_json::json!({"ok": true, "graphs": graphs, "bytes": bytes})
                )
            } else {
                format!(
                    "ok: {graphs} graphs, {bytes} bytes, {} inputs\n",
                    a.inputs.len()
                )
            }
        } else {
            let s = summarize(&a.inputs)?;
            if a.json {
                format!("{}\n", serde_json::to_string_pretty(&s)?)
            } else {
                summary_text(&s)
            }
        };
        out.write_all(text.as_bytes())?;
        out.flush()?;
        Ok(())
    })
}
