//! The graph stream: a header, then length-prefixed bincode frames, one graph each (docs/FORMAT.md).

use crate::graph::{Graph, Schema};
use bincode::{BorrowDecode, Decode, Encode};
use std::io::{self, Read, Write};

/// First bytes of every stream header (and of every repeated header after `cat`).
pub const MAGIC: [u8; 8] = *b"\x89NXG\r\n\x1a\n";
/// Format version written by this library.
pub const VERSION: u16 = 1;
/// Largest frame payload accepted or written, in bytes. Smaller than the magic read as a u32, so
/// a header can always be told from a frame.
pub const MAX_FRAME: u32 = 1 << 28;
/// Largest header body accepted, in bytes.
pub const MAX_HEADER: u32 = 1 << 20;
/// Largest node count accepted: no larger than the frame limit in bytes, so that consumers
/// allocating per node are bounded like those allocating per byte, even with zero features.
pub const MAX_NODES: u64 = MAX_FRAME as u64;

const FLAG_PAIRED: u8 = 1;
const FLAG_Y: u8 = 2;
const FLAG_WEIGHT: u8 = 4;

fn config() -> impl bincode::config::Config {
    // The limit caps every allocation the decoder could make from a length it read.
    bincode::config::standard().with_limit::<{ MAX_FRAME as usize }>()
}

fn header_config() -> impl bincode::config::Config {
    // `Vec<String>` reserves `len * 24` bytes up front: bound that by the header size, not the frame size.
    bincode::config::standard().with_limit::<{ MAX_HEADER as usize }>()
}

/// Header body: everything after magic, version and length.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct HeaderBody {
    node_features: Vec<String>,
    edge_features: Vec<String>,
    num_node_classes: u32,
    has_node_labels: bool,
    coord_names: Vec<String>,
    provenance: String,
}

/// A frame payload as laid out on disk; arrays are little-endian byte blobs.
#[derive(Debug, Encode, BorrowDecode)]
struct FrameV1<'a> {
    fnum: i64,
    dataset_id: i64,
    binclass: i64,
    num_nodes: u64,
    num_edges: u64,
    flags: u8,
    index_width: u8,
    y_width: u8,
    coord_width: u8,
    x: &'a [u8],
    y: &'a [u8],
    coords: &'a [u8],
    src: &'a [u8],
    dst: &'a [u8],
    edge_attr: &'a [u8],
    edge_weight: &'a [u8],
}

/// Identity fields of a frame, read without decoding its arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Decode)]
pub struct FrameIds {
    /// File number.
    pub fnum: i64,
    /// Event id.
    pub dataset_id: i64,
    /// Event class.
    pub binclass: i64,
    /// Node count.
    pub num_nodes: u64,
    /// Directed edge count.
    pub num_edges: u64,
}

/// Reasons a frame cannot be decoded, without the place (the reader adds it).
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The bincode layer failed (truncated varint, bad length, ...).
    #[error("corrupt frame: {0}")]
    Bincode(String),
    /// Arrays disagree with each other or with the schema.
    #[error("invalid graph: {0}")]
    Shape(String),
}

fn width_for_unsigned(max: u64) -> u8 {
    if max <= u8::MAX as u64 {
        1
    } else if max <= u16::MAX as u64 {
        2
    } else {
        4
    }
}

fn width_for_signed<'a>(vals: impl Iterator<Item = &'a i64>) -> u8 {
    let (mut lo, mut hi) = (0i64, 0i64);
    for &v in vals {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo >= i8::MIN as i64 && hi <= i8::MAX as i64 {
        1
    } else if lo >= i16::MIN as i64 && hi <= i16::MAX as i64 {
        2
    } else if lo >= i32::MIN as i64 && hi <= i32::MAX as i64 {
        4
    } else {
        8
    }
}

/// Appends `n` values of `W` bytes each, the i-th given by `f` (called for i = 0, 1, ...).
#[inline(always)]
fn put_le<const W: usize>(out: &mut Vec<u8>, n: usize, mut f: impl FnMut(usize) -> [u8; W]) {
    let start = out.len();
    out.resize(start + n * W, 0);
    for (i, o) in out[start..].chunks_exact_mut(W).enumerate() {
        o.copy_from_slice(&f(i));
    }
}

/// Appends every `step`-th value of `vals` as unsigned integers of `w` bytes, little-endian.
fn put_unsigned(out: &mut Vec<u8>, vals: &[u32], step: usize, w: u8) {
    let n = vals.len().div_ceil(step);
    match w {
        1 => put_le::<1>(out, n, |i| [vals[i * step] as u8]),
        2 => put_le::<2>(out, n, |i| (vals[i * step] as u16).to_le_bytes()),
        _ => put_le::<4>(out, n, |i| vals[i * step].to_le_bytes()),
    }
}

/// Appends the values as signed integers of `w` bytes, little-endian (two's complement
/// truncation: the caller picked a width that holds them).
fn put_signed(out: &mut Vec<u8>, vals: &[i64], w: u8) {
    let n = vals.len();
    match w {
        1 => put_le::<1>(out, n, |i| [vals[i] as u8]),
        2 => put_le::<2>(out, n, |i| (vals[i] as i16).to_le_bytes()),
        4 => put_le::<4>(out, n, |i| (vals[i] as i32).to_le_bytes()),
        _ => put_le::<8>(out, n, |i| vals[i].to_le_bytes()),
    }
}

/// Appends rows of `width` f32 values, taking every `step`-th row of `vals`, little-endian.
fn put_f32(out: &mut Vec<u8>, vals: &[f32], width: usize, step: usize) {
    if width == 0 {
        return;
    }
    if step == 1 {
        return put_le::<4>(out, vals.len(), |i| vals[i].to_le_bytes());
    }
    match width {
        1 => put_f32_rows::<1, 4>(out, vals, step),
        2 => put_f32_rows::<2, 8>(out, vals, step),
        3 => put_f32_rows::<3, 12>(out, vals, step),
        _ => {
            let rows = (vals.len() / width).div_ceil(step);
            let (mut row, mut col) = (0, 0);
            put_le::<4>(out, rows * width, |_| {
                let v = vals[row * step * width + col];
                col += 1;
                if col == width {
                    col = 0;
                    row += 1;
                }
                v.to_le_bytes()
            });
        }
    }
}

/// [`put_f32`] for rows of `W` values (`B` = 4 `W` bytes), every `step`-th row.
#[inline(always)]
fn put_f32_rows<const W: usize, const B: usize>(out: &mut Vec<u8>, vals: &[f32], step: usize) {
    let n = (vals.len() / W).div_ceil(step);
    put_le::<B>(out, n, |r| {
        let mut bytes = [0u8; B];
        let row = &vals[r * step * W..r * step * W + W];
        for (b, v) in bytes.chunks_exact_mut(4).zip(row) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        bytes
    });
}

fn get_unsigned(b: &[u8], w: u8) -> Vec<u32> {
    match w {
        1 => b.iter().map(|&v| v as u32).collect(),
        2 => b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32)
            .collect(),
        _ => b
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    }
}

fn get_signed(b: &[u8], w: u8) -> Vec<i64> {
    match w {
        1 => b.iter().map(|&v| v as i8 as i64).collect(),
        2 => b
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
            .collect(),
        4 => b
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
            .collect(),
        _ => b
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
    }
}

fn get_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// True when edges come as (a,b),(b,a) pairs with bit-identical features: then one of each is stored.
fn is_paired(g: &Graph, ne: usize) -> bool {
    let e = g.src.len();
    if e % 2 != 0 {
        return false;
    }
    (0..e / 2).all(|k| {
        let (i, j) = (2 * k, 2 * k + 1);
        g.src[j] == g.dst[i]
            && g.dst[j] == g.src[i]
            && g.edge_attr[i * ne..(i + 1) * ne]
                .iter()
                .zip(&g.edge_attr[j * ne..(j + 1) * ne])
                .all(|(a, b)| a.to_bits() == b.to_bits())
            && (g.edge_weight.is_empty()
                || g.edge_weight[i].to_bits() == g.edge_weight[j].to_bits())
    })
}

/// Reusable buffers of [`encode_frame_into`]: a writer keeps one, so that encoding a frame
/// allocates nothing once the buffers have grown to the largest graph.
#[derive(Debug, Default)]
pub struct EncodeScratch {
    x: Vec<u8>,
    y: Vec<u8>,
    coords: Vec<u8>,
    src: Vec<u8>,
    dst: Vec<u8>,
    edge_attr: Vec<u8>,
    edge_weight: Vec<u8>,
    payload: Vec<u8>,
}

/// Encodes one graph as a frame payload (without the length prefix).
pub fn encode_frame(g: &Graph, schema: &Schema) -> Result<Vec<u8>, FrameError> {
    let mut s = EncodeScratch::default();
    encode_frame_into(g, schema, &mut s)?;
    Ok(s.payload)
}

/// Encodes one graph as a frame payload into `s`, returning the payload bytes.
pub fn encode_frame_into<'s>(
    g: &Graph,
    schema: &Schema,
    s: &'s mut EncodeScratch,
) -> Result<&'s [u8], FrameError> {
    g.validate(schema).map_err(FrameError::Shape)?;
    if g.num_nodes as u64 > MAX_NODES {
        return Err(FrameError::Shape(format!(
            "{} nodes, more than the {MAX_NODES} node limit",
            g.num_nodes
        )));
    }
    let ne = schema.edge_features.len();
    let paired = is_paired(g, ne);
    let step = if paired { 2 } else { 1 };
    let iw = width_for_unsigned(g.num_nodes.saturating_sub(1) as u64);
    let yw = if g.y.is_empty() {
        0
    } else {
        width_for_signed(g.y.iter())
    };
    let cw = width_for_signed(g.coords.iter());
    for b in [
        &mut s.x,
        &mut s.y,
        &mut s.coords,
        &mut s.src,
        &mut s.dst,
        &mut s.edge_attr,
        &mut s.edge_weight,
    ] {
        b.clear();
    }
    put_f32(&mut s.x, &g.x, 1, 1);
    put_signed(&mut s.y, &g.y, yw);
    put_signed(&mut s.coords, &g.coords, cw);
    put_unsigned(&mut s.src, &g.src, step, iw);
    put_unsigned(&mut s.dst, &g.dst, step, iw);
    put_f32(&mut s.edge_attr, &g.edge_attr, ne, step);
    put_f32(&mut s.edge_weight, &g.edge_weight, 1, step);
    let mut flags = 0;
    if paired {
        flags |= FLAG_PAIRED;
    }
    if !g.y.is_empty() {
        flags |= FLAG_Y;
    }
    if !g.edge_weight.is_empty() {
        flags |= FLAG_WEIGHT;
    }
    let frame = FrameV1 {
        fnum: g.fnum,
        dataset_id: g.dataset_id,
        binclass: g.binclass,
        num_nodes: g.num_nodes as u64,
        num_edges: g.src.len() as u64,
        flags,
        index_width: iw,
        y_width: yw,
        coord_width: cw,
        x: &s.x,
        y: &s.y,
        coords: &s.coords,
        src: &s.src,
        dst: &s.dst,
        edge_attr: &s.edge_attr,
        edge_weight: &s.edge_weight,
    };
    s.payload.clear();
    // 64 bytes bound the fixed fields and the seven blob lengths, all varints.
    s.payload.reserve(
        64 + [
            &s.x,
            &s.y,
            &s.coords,
            &s.src,
            &s.dst,
            &s.edge_attr,
            &s.edge_weight,
        ]
        .iter()
        .map(|b| b.len())
        .sum::<usize>(),
    );
    bincode::encode_into_std_write(&frame, &mut s.payload, config())
        .map_err(|e| FrameError::Bincode(e.to_string()))?;
    if s.payload.len() > MAX_FRAME as usize {
        return Err(FrameError::Shape(format!(
            "graph needs {} bytes, more than the {} byte frame limit",
            s.payload.len(),
            MAX_FRAME
        )));
    }
    Ok(&s.payload)
}

/// Reads the identity fields at the start of a payload without touching its arrays.
pub fn peek_ids(payload: &[u8]) -> Result<FrameIds, FrameError> {
    let (ids, _) = bincode::decode_from_slice::<FrameIds, _>(payload, config())
        .map_err(|e| FrameError::Bincode(e.to_string()))?;
    Ok(ids)
}

fn check_len(name: &str, got: usize, want: u128) -> Result<(), FrameError> {
    if got as u128 != want {
        return Err(FrameError::Shape(format!(
            "{name} holds {got} bytes, expected {want}"
        )));
    }
    Ok(())
}

/// Decodes a frame payload into a graph, checking every length and index against the schema.
pub fn decode_frame(payload: &[u8], schema: &Schema) -> Result<Graph, FrameError> {
    let (f, used): (FrameV1, usize) = bincode::borrow_decode_from_slice(payload, config())
        .map_err(|e| FrameError::Bincode(e.to_string()))?;
    if used != payload.len() {
        return Err(FrameError::Bincode(format!(
            "{} trailing bytes after the graph",
            payload.len() - used
        )));
    }
    if f.num_nodes > MAX_NODES {
        return Err(FrameError::Shape(format!(
            "num_nodes {} exceeds the {MAX_NODES} node limit",
            f.num_nodes
        )));
    }
    let n = f.num_nodes as u128;
    let nf = schema.node_features.len() as u128;
    let ne = schema.edge_features.len() as u128;
    let nc = schema.coord_names.len() as u128;
    if f.flags & !(FLAG_PAIRED | FLAG_Y | FLAG_WEIGHT) != 0 {
        return Err(FrameError::Shape(format!("unknown flags {:#04x}", f.flags)));
    }
    if !matches!(f.index_width, 1 | 2 | 4) || !matches!(f.coord_width, 1 | 2 | 4 | 8) {
        return Err(FrameError::Shape(format!(
            "bad integer widths: index {} coords {}",
            f.index_width, f.coord_width
        )));
    }
    let has_y = f.flags & FLAG_Y != 0;
    if has_y && !matches!(f.y_width, 1 | 2 | 4 | 8) || !has_y && f.y_width != 0 {
        return Err(FrameError::Shape(format!("bad y width {}", f.y_width)));
    }
    let paired = f.flags & FLAG_PAIRED != 0;
    let e = f.num_edges as u128;
    if paired && e % 2 != 0 {
        return Err(FrameError::Shape(format!(
            "paired edges but odd edge count {e}"
        )));
    }
    let stored = if paired { e / 2 } else { e };
    check_len("x", f.x.len(), n * nf * 4)?;
    check_len(
        "y",
        f.y.len(),
        if has_y { n * f.y_width as u128 } else { 0 },
    )?;
    check_len("coords", f.coords.len(), n * nc * f.coord_width as u128)?;
    check_len("edge sources", f.src.len(), stored * f.index_width as u128)?;
    check_len("edge targets", f.dst.len(), stored * f.index_width as u128)?;
    check_len("edge_attr", f.edge_attr.len(), stored * ne * 4)?;
    let has_w = f.flags & FLAG_WEIGHT != 0;
    check_len(
        "edge_weight",
        f.edge_weight.len(),
        if has_w { stored * 4 } else { 0 },
    )?;
    if schema.has_node_labels && !has_y {
        return Err(FrameError::Shape(
            "the schema promises node labels but the graph has none".into(),
        ));
    }
    let s1 = get_unsigned(f.src, f.index_width);
    let d1 = get_unsigned(f.dst, f.index_width);
    let a1 = get_f32(f.edge_attr);
    let w1 = get_f32(f.edge_weight);
    let nn = f.num_nodes as usize;
    if let Some(k) = s1
        .iter()
        .zip(&d1)
        .position(|(&s, &d)| s as usize >= nn || d as usize >= nn)
    {
        return Err(FrameError::Shape(format!(
            "edge {k} = ({}, {}) points past num_nodes {nn}",
            s1[k], d1[k]
        )));
    }
    let (src, dst, edge_attr, edge_weight) = if paired {
        let ne = ne as usize;
        let mut src = Vec::with_capacity(s1.len() * 2);
        let mut dst = Vec::with_capacity(s1.len() * 2);
        let mut ea = Vec::with_capacity(a1.len() * 2);
        let mut ew = Vec::with_capacity(w1.len() * 2);
        for k in 0..s1.len() {
            src.extend([s1[k], d1[k]]);
            dst.extend([d1[k], s1[k]]);
            let row = &a1[k * ne..(k + 1) * ne];
            ea.extend_from_slice(row);
            ea.extend_from_slice(row);
            if has_w {
                ew.extend([w1[k], w1[k]]);
            }
        }
        (src, dst, ea, ew)
    } else {
        (s1, d1, a1, w1)
    };
    Ok(Graph {
        fnum: f.fnum,
        dataset_id: f.dataset_id,
        binclass: f.binclass,
        num_nodes: nn,
        x: get_f32(f.x),
        y: if has_y {
            get_signed(f.y, f.y_width)
        } else {
            Vec::new()
        },
        coords: get_signed(f.coords, f.coord_width),
        src,
        dst,
        edge_attr,
        edge_weight,
    })
}

/// Writes a header (magic, version, length, body).
pub fn write_header<W: Write>(w: &mut W, schema: &Schema, provenance: &str) -> io::Result<()> {
    let body = HeaderBody {
        node_features: schema.node_features.clone(),
        edge_features: schema.edge_features.clone(),
        num_node_classes: schema.num_node_classes,
        has_node_labels: schema.has_node_labels,
        coord_names: schema.coord_names.clone(),
        provenance: provenance.to_string(),
    };
    let bytes = bincode::encode_to_vec(&body, header_config()).map_err(io::Error::other)?;
    if bytes.len() > MAX_HEADER as usize {
        return Err(io::Error::other("stream header larger than 1 MiB"));
    }
    w.write_all(&MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(&bytes)
}

/// Parses a header body (after magic, version and length).
pub(crate) fn parse_header_body(bytes: &[u8]) -> Result<(Schema, String), FrameError> {
    let (b, used): (HeaderBody, usize) = bincode::decode_from_slice(bytes, header_config())
        .map_err(|e| FrameError::Bincode(e.to_string()))?;
    if used != bytes.len() {
        return Err(FrameError::Bincode("trailing bytes in header".into()));
    }
    Ok((
        Schema {
            node_features: b.node_features,
            edge_features: b.edge_features,
            num_node_classes: b.num_node_classes,
            has_node_labels: b.has_node_labels,
            coord_names: b.coord_names,
        },
        b.provenance,
    ))
}

/// Reads exactly `n` bytes, growing the buffer only as data arrives (never trusts `n` for allocation).
pub(crate) fn read_exact_grow<R: Read>(
    r: &mut R,
    n: usize,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    buf.clear();
    let got = r.by_ref().take(n as u64).read_to_end(buf)?;
    Ok(got)
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
