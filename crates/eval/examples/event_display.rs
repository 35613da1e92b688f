//! Draws one event of a graph stream, as `graphinfo --plot` does.
//!
//! Usage: `cargo run -p nextgnn-eval --example event_display -- STREAM FNUM:DATASET_ID OUT
//! [VOXELPRED [CLASS]]`. Without predictions voxels are coloured by their true class; with a
//! gcn-predict VoxelPred file by the predicted class, or by the probability of CLASS when given.

use anyhow::{bail, Context};
use nextgnn_eval::plots::event_picture;
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
        let class = args
            .get(4)
            .map(|c| c.parse::<usize>().context("CLASS must be a class number"))
            .transpose()?;
        event_picture(
            &g,
            &schema,
            args.get(3).map(String::as_str),
            class,
            true,
            Path::new(&args[2]),
        )
    });
}
