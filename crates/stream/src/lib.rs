//! nextgnn's graph record and graph stream: the one format every tool reads and writes.
//!
//! A stream is a header (magic, version, schema, provenance) followed by length-prefixed bincode
//! frames, one graph each. The byte layout is specified in `docs/FORMAT.md`.

pub mod format;
pub mod graph;
pub mod output;
pub mod stream;

pub use format::{FrameError, FrameIds, MAGIC, MAX_FRAME, MAX_HEADER, MAX_NODES, VERSION};
pub use graph::{Graph, Schema};
pub use output::{
    command_line, parse_args, parse_args_given, progress, progress_bytes, run_main, write_atomic,
    Output,
};
pub use stream::{
    check_same_schema, open_streams, read_streams, schema_diff, FileReader, RawFrame, StreamError,
    StreamReader, StreamWriter,
};

pub mod testing;
