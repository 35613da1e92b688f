//! Stream reader and writer used by every tool.

use crate::format::{
    decode_frame, encode_frame_into, parse_header_body, peek_ids, read_exact_grow, write_header,
    EncodeScratch, FrameIds, MAGIC, MAX_FRAME, MAX_HEADER, VERSION,
};
use crate::graph::{Graph, Schema};
use std::io::{self, BufReader, Read, Write};

/// A stream error that says where: source name, byte offset, and graphs read so far.
///
/// A file that could not be opened at all has no place inside it, so its message has none.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {what}{}", place(self))]
pub struct StreamError {
    /// File name, or `-` for stdin.
    pub source_name: String,
    /// Byte offset of the record that failed.
    pub offset: u64,
    /// Graphs read successfully before the failure.
    pub graphs: u64,
    /// What went wrong.
    pub what: String,
}

fn place(e: &StreamError) -> String {
    if e.what.starts_with("cannot open") {
        String::new()
    } else {
        format!(" (at byte {}, after {} graphs)", e.offset, e.graphs)
    }
}

/// One frame as stored: payload bytes, undecoded. Lets tools move graphs without decoding them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The bincode payload (without the 4-byte length prefix).
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// Identity fields (fnum, dataset_id, binclass, sizes) read from the payload's start.
    pub fn ids(&self) -> Result<FrameIds, crate::format::FrameError> {
        peek_ids(&self.payload)
    }
    /// Full decode, validated against the schema.
    pub fn decode(&self, schema: &Schema) -> Result<Graph, crate::format::FrameError> {
        decode_frame(&self.payload, schema)
    }
    /// Bytes this frame takes on disk, prefix included.
    pub fn stored_len(&self) -> usize {
        self.payload.len() + 4
    }
}

/// Reads a graph stream: one header, then frames; repeated identical-schema headers (from `cat`) are skipped.
pub struct StreamReader<R: Read> {
    inner: R,
    name: String,
    schema: Schema,
    provenance: Vec<String>,
    offset: u64,
    graphs: u64,
    buf: Vec<u8>,
    /// Byte offset of the last frame returned by `next_raw` (its length prefix).
    frame_start: u64,
    /// Set after the first error: the iterator then ends instead of reading from a broken position.
    failed: bool,
}

impl StreamReader<Box<dyn Read + Send>> {
    /// Opens a file, or stdin for `-`.
    pub fn open(path: &str) -> Result<Self, StreamError> {
        let inner: Box<dyn Read + Send> = if path == "-" {
            Box::new(BufReader::with_capacity(1 << 20, io::stdin()))
        } else {
            let f = std::fs::File::open(path).map_err(|e| StreamError {
                source_name: path.to_string(),
                offset: 0,
                graphs: 0,
                what: format!("cannot open: {e}"),
            })?;
            Box::new(BufReader::with_capacity(1 << 20, f))
        };
        StreamReader::new(inner, path)
    }
}

impl<R: Read> StreamReader<R> {
    /// Reads the first header from `inner`; `name` is used in error messages.
    pub fn new(inner: R, name: &str) -> Result<Self, StreamError> {
        let mut r = StreamReader {
            inner,
            name: name.to_string(),
            schema: Schema::default(),
            provenance: Vec::new(),
            offset: 0,
            graphs: 0,
            buf: Vec::new(),
            frame_start: 0,
            failed: false,
        };
        let mut first = [0u8; 4];
        let got = r.fill(&mut first)?;
        if got == 0 {
            return Err(r.err(0, "empty input: not a graph stream (expected a header; was the producing step killed or given no events?)"));
        }
        if got == 4 && first == *b"\x89HDF" {
            return Err(r.err(0, "an HDF5 file, not a graph stream: turn label files into graphs with voxel2graph first (voxel2graph FILE.h5 -o FILE.gs)"));
        }
        if got < 4 || first != MAGIC[..4] {
            return Err(r.err(0, "not a nextgnn graph stream (wrong magic bytes)"));
        }
        let (schema, prov) = r.read_header_rest()?;
        r.schema = schema;
        r.provenance.push(prov);
        Ok(r)
    }

    /// The stream's schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The provenance line of every header seen so far (one per concatenated stream).
    pub fn provenance(&self) -> &[String] {
        &self.provenance
    }

    /// Graphs read so far.
    pub fn graphs_read(&self) -> u64 {
        self.graphs
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The source name used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, offset: u64, what: impl Into<String>) -> StreamError {
        StreamError {
            source_name: self.name.clone(),
            offset,
            graphs: self.graphs,
            what: what.into(),
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.err(self.offset, format!("read error: {e}"))),
            }
        }
        self.offset += got as u64;
        Ok(got)
    }

    /// Reads the rest of a header after its first four magic bytes.
    fn read_header_rest(&mut self) -> Result<(Schema, String), StreamError> {
        let start = self.offset - 4;
        let mut rest = [0u8; 10];
        if self.fill(&mut rest)? < 10 {
            return Err(self.err(start, "truncated stream header"));
        }
        if rest[..4] != MAGIC[4..] {
            return Err(self.err(start, "not a nextgnn graph stream (wrong magic bytes)"));
        }
        let version = u16::from_le_bytes([rest[4], rest[5]]);
        if version != VERSION {
            return Err(self.err(
                start,
                format!("stream format version {version}, this build reads version {VERSION}: use a matching nextgnn"),
            ));
        }
        let len = u32::from_le_bytes([rest[6], rest[7], rest[8], rest[9]]);
        if len > MAX_HEADER {
            return Err(self.err(
                start,
                format!("header claims {len} bytes, more than the 1 MiB limit"),
            ));
        }
        let mut buf = std::mem::take(&mut self.buf);
        let got = read_exact_grow(&mut self.inner, len as usize, &mut buf)
            .map_err(|e| self.err(start, format!("read error: {e}")))?;
        self.offset += got as u64;
        if got < len as usize {
            return Err(self.err(start, "truncated stream header"));
        }
        let parsed =
            parse_header_body(&buf).map_err(|e| self.err(start, format!("corrupt header: {e}")));
        self.buf = buf;
        parsed
    }

    /// Byte offset of the last frame returned (its length prefix), for error messages.
    pub fn frame_offset(&self) -> u64 {
        self.frame_start
    }

    /// Next frame, undecoded; `None` at a clean end of stream, and after an error.
    pub fn next_raw(&mut self) -> Result<Option<RawFrame>, StreamError> {
        if self.failed {
            return Ok(None);
        }
        let r = self.next_raw_inner();
        self.failed = r.is_err();
        r
    }

    fn next_raw_inner(&mut self) -> Result<Option<RawFrame>, StreamError> {
        loop {
            let start = self.offset;
            let mut pre = [0u8; 4];
            let got = self.fill(&mut pre)?;
            if got == 0 {
                return Ok(None);
            }
            if got < 4 {
                return Err(self.err(start, "truncated frame length (stream cut short)"));
            }
            if pre == MAGIC[..4] {
                let (schema, prov) = self.read_header_rest()?;
                if schema != self.schema {
                    return Err(self.err(
                        start,
                        format!(
                            "concatenated stream has a different schema ({}); join only streams made with the same options",
                            schema_diff(&self.schema, &schema)
                        ),
                    ));
                }
                self.provenance.push(prov);
                continue;
            }
            let len = u32::from_le_bytes(pre);
            if len > MAX_FRAME {
                return Err(self.err(
                    start,
                    format!(
                        "frame length {len} exceeds the {MAX_FRAME} byte limit (corrupt stream)"
                    ),
                ));
            }
            let mut payload = Vec::new();
            let got = read_exact_grow(&mut self.inner, len as usize, &mut payload)
                .map_err(|e| self.err(start, format!("read error: {e}")))?;
            self.offset += got as u64;
            if got < len as usize {
                return Err(self.err(
                    start,
                    format!("truncated frame: {got} of {len} bytes (stream cut short)"),
                ));
            }
            self.graphs += 1;
            self.frame_start = start;
            return Ok(Some(RawFrame { payload }));
        }
    }

    /// Next graph, decoded and validated; `None` at a clean end of stream, and after an error.
    pub fn next_graph(&mut self) -> Result<Option<Graph>, StreamError> {
        match self.next_raw()? {
            None => Ok(None),
            Some(raw) => match raw.decode(&self.schema) {
                Ok(g) => Ok(Some(g)),
                Err(e) => {
                    self.graphs -= 1;
                    self.failed = true;
                    Err(self.err(self.frame_start, e.to_string()))
                }
            },
        }
    }

    /// Error for a frame the caller decoded itself and found bad (offset of the last frame).
    pub fn frame_error(&self, what: impl std::fmt::Display) -> StreamError {
        StreamError {
            source_name: self.name.clone(),
            offset: self.frame_start,
            graphs: self.graphs.saturating_sub(1),
            what: what.to_string(),
        }
    }

    /// Reads every remaining graph.
    pub fn read_all(&mut self) -> Result<Vec<Graph>, StreamError> {
        let mut out = Vec::new();
        while let Some(g) = self.next_graph()? {
            out.push(g);
        }
        Ok(out)
    }
}

impl<R: Read> Iterator for StreamReader<R> {
    type Item = Result<Graph, StreamError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_graph().transpose()
    }
}

/// Writes a graph stream: the header at creation, then one frame per graph.
pub struct StreamWriter<W: Write> {
    inner: W,
    schema: Schema,
    graphs: u64,
    bytes: u64,
    scratch: EncodeScratch,
}

impl<W: Write> StreamWriter<W> {
    /// Writes the header; `provenance` is free text, usually the command line.
    pub fn new(mut inner: W, schema: Schema, provenance: &str) -> io::Result<Self> {
        write_header(&mut inner, &schema, provenance)?;
        Ok(StreamWriter {
            inner,
            schema,
            graphs: 0,
            bytes: 0,
            scratch: EncodeScratch::default(),
        })
    }

    /// The schema every graph must follow.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The underlying writer (to mark or rewind an [`crate::Output`]: see [`StreamWriter::counts`]).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Graphs and bytes written so far; [`StreamWriter::set_counts`] restores them after the
    /// underlying output was rewound to the same point.
    pub fn counts(&self) -> (u64, u64) {
        (self.graphs, self.bytes)
    }

    /// Sets the counts of graphs and bytes written (after a rewind of the underlying output).
    pub fn set_counts(&mut self, (graphs, bytes): (u64, u64)) {
        self.graphs = graphs;
        self.bytes = bytes;
    }

    /// Encodes and writes one graph; a graph that breaks the schema is an `InvalidData` error.
    pub fn write(&mut self, g: &Graph) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let done = match encode_frame_into(g, &self.schema, &mut scratch) {
            Ok(payload) => self.write_payload(payload),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("graph fnum {} dataset_id {}: {e}", g.fnum, g.dataset_id),
            )),
        };
        self.scratch = scratch;
        done
    }

    /// Writes a frame as read from another stream with the same schema, without decoding it.
    pub fn write_raw(&mut self, f: &RawFrame) -> io::Result<()> {
        self.write_payload(&f.payload)
    }

    fn write_payload(&mut self, payload: &[u8]) -> io::Result<()> {
        if payload.len() > MAX_FRAME as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "frame of {} bytes exceeds the {MAX_FRAME} byte limit",
                    payload.len()
                ),
            ));
        }
        self.inner
            .write_all(&(payload.len() as u32).to_le_bytes())?;
        self.inner.write_all(payload)?;
        self.graphs += 1;
        self.bytes += payload.len() as u64 + 4;
        Ok(())
    }

    /// Graphs written so far.
    pub fn graphs_written(&self) -> u64 {
        self.graphs
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// A reader over a file or stdin, as returned by [`StreamReader::open`].
pub type FileReader = StreamReader<Box<dyn Read + Send>>;

/// Opens several streams (or `-`, at most once) and checks that they share one schema.
///
/// All headers are read up front, so a schema mismatch is reported before any output is written.
pub fn open_streams(paths: &[String]) -> anyhow::Result<(Schema, Vec<FileReader>)> {
    if paths.iter().filter(|p| *p == "-").count() > 1 {
        anyhow::bail!("stdin (-) can be given only once");
    }
    let mut schema = None;
    let mut readers = Vec::new();
    for p in paths {
        let r = StreamReader::open(p)?;
        check_same_schema(&mut schema, r.schema(), p)?;
        readers.push(r);
    }
    Ok((schema.unwrap_or_default(), readers))
}

/// Reads several streams (or `-`) one after the other; all must share one schema.
pub fn read_streams(paths: &[String]) -> anyhow::Result<(Schema, Vec<String>, Vec<Graph>)> {
    let mut schema: Option<Schema> = None;
    let mut prov = Vec::new();
    let mut graphs = Vec::new();
    for p in paths {
        let mut r = StreamReader::open(p)?;
        check_same_schema(&mut schema, r.schema(), p)?;
        graphs.extend(r.read_all()?);
        prov.extend(r.provenance().iter().cloned());
    }
    Ok((schema.unwrap_or_default(), prov, graphs))
}

/// Names the schema fields that differ, `first` then `other`.
pub fn schema_diff(first: &Schema, other: &Schema) -> String {
    let mut d = Vec::new();
    if first.node_features != other.node_features {
        d.push(format!(
            "node features {:?} vs {:?}",
            first.node_features, other.node_features
        ));
    }
    if first.edge_features != other.edge_features {
        d.push(format!(
            "edge features {:?} vs {:?}",
            first.edge_features, other.edge_features
        ));
    }
    if first.num_node_classes != other.num_node_classes {
        d.push(format!(
            "node classes {} vs {}",
            first.num_node_classes, other.num_node_classes
        ));
    }
    if first.has_node_labels != other.has_node_labels {
        d.push(format!(
            "node labels {} vs {}",
            first.has_node_labels, other.has_node_labels
        ));
    }
    if first.coord_names != other.coord_names {
        d.push(format!(
            "coordinates {:?} vs {:?}",
            first.coord_names, other.coord_names
        ));
    }
    d.join(", ")
}

/// Keeps the first schema seen and errors, naming `path`, when a later one differs.
pub fn check_same_schema(seen: &mut Option<Schema>, s: &Schema, path: &str) -> anyhow::Result<()> {
    match seen {
        None => {
            *seen = Some(s.clone());
            Ok(())
        }
        Some(prev) if prev == s => Ok(()),
        Some(prev) => anyhow::bail!(
            "{path}: schema differs from the first input ({}); streams made with different options cannot be mixed",
            schema_diff(prev, s)
        ),
    }
}
