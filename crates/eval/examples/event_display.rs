//! Draws one event of a graph stream, as `graphinfo --plot` does: the pictures of docs/EVAL.md.
//!
//! Usage: `cargo run -p nextgnn-eval --example event_display -- STREAM FNUM:DATASET_ID OUT
//! [VOXELPRED [CLASS]]`. Without predictions voxels are coloured by their true class; with a
//! gcn-predict VoxelPred file by the predicted class, or by the probability of CLASS when given.

use anyhow::{bail, Context};
use nextgnn_eval::plots::{event_display, NodeColours};
use nextgnn_eval::segment::{argmax, class_name};
use nextgnn_stream::{run_main, StreamReader};
use std::path::Path;

fn main() {
    run_main(|| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if !(3..=5).contains(&args.len()) {
            bail!("usage: event_display STREAM FNUM:DATASET_ID OUT [VOXELPRED [CLASS]]");
        }
        let (fnum, id) = args[1]
            .split_once(':')
            .context("event id must be FNUM:DATASET_ID")?;
        let (fnum, id): (i64, i64) = (fnum.parse()?, id.parse()?);
        let mut reader = StreamReader::open(&args[0])?;
        let schema = reader.schema().clone();
        let g = loop {
            match reader.next_graph()? {
                Some(g) if g.fnum == fnum && g.dataset_id == id => break g,
                Some(_) => continue,
                None => bail!("{}: no event {fnum}:{id}", args[0]),
            }
        };
        let out = Path::new(&args[2]);
        let Some(pred_path) = args.get(3) else {
            return event_display(&g, &schema, NodeColours::TrueClass, true, out);
        };
        let preds = nextgnn_eval::read_predictions(pred_path)?;
        let probs = preds.node_probabilities(&g, schema.coord_names.len())?;
        let k = preds.num_classes;
        match args.get(4) {
            None => {
                let classes: Vec<usize> = probs.chunks(k).map(argmax).collect();
                event_display(
                    &g,
                    &schema,
                    NodeColours::PredictedClass(&classes),
                    true,
                    out,
                )
            }
            Some(c) => {
                let c: usize = c.parse().context("CLASS must be a class number")?;
                if c >= k {
                    bail!("class {c} is not among the {k} predicted classes");
                }
                let values: Vec<f64> = probs.chunks(k).map(|p| p[c]).collect();
                let name = format!("P({})", class_name(c));
                event_display(
                    &g,
                    &schema,
                    NodeColours::Probability {
                        values: &values,
                        name: &name,
                    },
                    true,
                    out,
                )
            }
        }
    });
}
