//! Reading PyTables compound tables column by column, by name, whatever the stored widths.
//!
//! PyTables (through invisible_cities' table writer) shrinks integer columns to the smallest
//! width that holds their values, so the same column may be int8 in one file and int64 in the
//! next. Columns are therefore chosen at run time: a packed memory compound type with only the
//! wanted members (integers widened to i64, floats to f64, strings copied as stored) is built, and
//! HDF5 converts and picks the members by name while reading a row range.

use anyhow::{bail, Context, Result};
use hdf5_sys::h5i::hid_t;
use std::ffi::{CStr, CString};
use std::path::Path;

/// How a column is stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Signed integer of `size` bytes.
    Int(usize),
    /// Unsigned integer of `size` bytes.
    UInt(usize),
    /// IEEE float of `size` bytes.
    Float(usize),
    /// Fixed-length byte string of `size` bytes.
    Str(usize),
    /// Anything else (bitfield, enum, nested compound...): listed but not readable.
    Other(&'static str),
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnType::Int(s) => write!(f, "int{}", s * 8),
            ColumnType::UInt(s) => write!(f, "uint{}", s * 8),
            ColumnType::Float(s) => write!(f, "float{}", s * 8),
            ColumnType::Str(s) => write!(f, "S{s}"),
            ColumnType::Other(s) => f.write_str(s),
        }
    }
}

/// One member of the table's compound type.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    /// Member name.
    pub name: String,
    /// Stored type.
    pub ty: ColumnType,
    /// Byte offset of the member inside a stored row.
    pub offset: usize,
    /// Whether the stored bytes are big-endian.
    pub big_endian: bool,
    /// Whether the stored bytes can be decoded directly (standard integer and IEEE float sizes,
    /// fixed strings); other columns go through HDF5's conversion.
    pub plain: bool,
}

/// Where one column sits in a row buffer and how its bytes are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    offset: usize,
    enc: Enc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
    Int { size: u8, signed: bool, be: bool },
    Float { size: u8, be: bool },
    Str(usize),
}

macro_rules! num {
    ($t:ty, $b:expr, $be:expr) => {{
        let a = $b.try_into().unwrap_or([0; std::mem::size_of::<$t>()]);
        if $be {
            <$t>::from_be_bytes(a)
        } else {
            <$t>::from_le_bytes(a)
        }
    }};
}

impl Field {
    /// The column's value in `row` as i64 (floats are truncated; callers only ask integer columns).
    #[inline]
    pub fn i64(&self, row: &[u8]) -> i64 {
        let b = &row[self.offset..];
        match self.enc {
            Enc::Int { size, signed, be } => match (size, signed) {
                (1, true) => b[0] as i8 as i64,
                (1, false) => b[0] as i64,
                (2, true) => num!(i16, &b[..2], be) as i64,
                (2, false) => num!(u16, &b[..2], be) as i64,
                (4, true) => num!(i32, &b[..4], be) as i64,
                (4, false) => num!(u32, &b[..4], be) as i64,
                (_, true) => num!(i64, &b[..8], be),
                // uint64 above i64::MAX wraps, as HDF5's conversion to a native i64 would clip.
                (_, false) => num!(u64, &b[..8], be) as i64,
            },
            Enc::Float { .. } => self.f64(row) as i64,
            Enc::Str(_) => 0,
        }
    }

    /// The column's value in `row` as f64 (strings give NaN; callers only ask numeric columns).
    #[inline]
    pub fn f64(&self, row: &[u8]) -> f64 {
        let b = &row[self.offset..];
        match self.enc {
            Enc::Float { size: 4, be } => num!(f32, &b[..4], be) as f64,
            Enc::Float { be, .. } => num!(f64, &b[..8], be),
            Enc::Int { .. } => self.i64(row) as f64,
            Enc::Str(_) => f64::NAN,
        }
    }

    /// The column's fixed-length string in `row` without its NUL padding.
    #[inline]
    pub fn bytes<'a>(&self, row: &'a [u8]) -> &'a [u8] {
        match self.enc {
            Enc::Str(w) => {
                let s = &row[self.offset..self.offset + w];
                let end = s.iter().position(|&b| b == 0).unwrap_or(w);
                &s[..end]
            }
            _ => &[],
        }
    }

    /// Calls `f(i, value)` for rows `lo..hi` of `rows`, the column decoded as i64.
    ///
    /// The decoding is chosen once per call, not per row, so the loop stays tight.
    #[inline]
    pub fn each_i64(&self, rows: &Rows, lo: usize, hi: usize, mut f: impl FnMut(usize, i64)) {
        let at = |i: usize| &rows.buf[i * rows.row + self.offset..];
        match self.enc {
            Enc::Int {
                size: 1,
                signed: true,
                ..
            } => (lo..hi).for_each(|i| f(i, at(i)[0] as i8 as i64)),
            Enc::Int {
                size: 1,
                signed: false,
                ..
            } => (lo..hi).for_each(|i| f(i, at(i)[0] as i64)),
            Enc::Int {
                size: 8,
                signed: true,
                be: false,
            } => (lo..hi).for_each(|i| f(i, num!(i64, &at(i)[..8], false))),
            Enc::Int {
                size: 4,
                signed: true,
                be: false,
            } => (lo..hi).for_each(|i| f(i, num!(i32, &at(i)[..4], false) as i64)),
            Enc::Int {
                size: 2,
                signed: true,
                be: false,
            } => (lo..hi).for_each(|i| f(i, num!(i16, &at(i)[..2], false) as i64)),
            _ => (lo..hi).for_each(|i| f(i, self.i64(rows.get(i)))),
        }
    }

    /// Calls `f(i, value)` for rows `lo..hi` of `rows`, the column decoded as f64.
    #[inline]
    pub fn each_f64(&self, rows: &Rows, lo: usize, hi: usize, mut f: impl FnMut(usize, f64)) {
        let at = |i: usize| &rows.buf[i * rows.row + self.offset..];
        match self.enc {
            Enc::Float { size: 8, be: false } => {
                (lo..hi).for_each(|i| f(i, num!(f64, &at(i)[..8], false)))
            }
            Enc::Float { size: 4, be: false } => {
                (lo..hi).for_each(|i| f(i, num!(f32, &at(i)[..4], false) as f64))
            }
            Enc::Int { .. } => self.each_i64(rows, lo, hi, |i, v| f(i, v as f64)),
            _ => (lo..hi).for_each(|i| f(i, self.f64(rows.get(i)))),
        }
    }

    /// Whether the column holds integers (and is read as such).
    pub fn is_int(&self) -> bool {
        matches!(self.enc, Enc::Int { .. })
    }

    /// Whether the column holds strings.
    pub fn is_str(&self) -> bool {
        matches!(self.enc, Enc::Str(_))
    }
}

/// How rows of some chosen columns are read: the fields' places in a row buffer, and the memory
/// type HDF5 converts into when the stored rows cannot be used as they are.
pub struct Layout {
    /// Bytes per row in the buffer.
    pub row: usize,
    /// One field per requested column, in the order asked.
    pub fields: Vec<Field>,
    mem: Option<MemType>,
}

/// Rows read into one reusable buffer, `row` bytes each.
#[derive(Debug, Default)]
pub struct Rows {
    /// The row bytes (the buffer may be longer than `row * count`).
    pub buf: Vec<u8>,
    /// Bytes per row.
    pub row: usize,
    /// Rows held.
    pub count: usize,
}

impl Rows {
    /// The bytes of row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        &self.buf[i * self.row..(i + 1) * self.row]
    }

    /// The bytes of all rows held.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.row * self.count]
    }
}

struct MemType(hid_t);
impl Drop for MemType {
    fn drop(&mut self) {
        hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5t::H5Tclose(self.0);
        });
    }
}

/// Values of one column for a row range, widened to a common type.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Integer column (any width, signed or not) as i64.
    Int(Vec<i64>),
    /// Float column as f64.
    Float(Vec<f64>),
    /// Fixed-length strings, `width` bytes each, concatenated.
    Str { width: usize, bytes: Vec<u8> },
}

impl ColumnData {
    /// Number of rows held.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Int(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::Str { width, bytes } => bytes.len().checked_div(*width).unwrap_or(0),
        }
    }

    /// Whether no rows are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as f64 (strings give NaN; callers only ask numeric columns).
    pub fn f64_at(&self, i: usize) -> f64 {
        match self {
            ColumnData::Int(v) => v[i] as f64,
            ColumnData::Float(v) => v[i],
            ColumnData::Str { .. } => f64::NAN,
        }
    }

    /// String `i` without its NUL padding.
    pub fn str_at(&self, i: usize) -> &[u8] {
        match self {
            ColumnData::Str { width, bytes } => {
                let s = &bytes[i * width..(i + 1) * width];
                let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
                &s[..end]
            }
            _ => &[],
        }
    }

    fn append(&mut self, other: ColumnData) {
        match (self, other) {
            (ColumnData::Int(a), ColumnData::Int(b)) => a.extend(b),
            (ColumnData::Float(a), ColumnData::Float(b)) => a.extend(b),
            (ColumnData::Str { bytes: a, .. }, ColumnData::Str { bytes: b, .. }) => a.extend(b),
            _ => unreachable!("appending columns of different kinds"),
        }
    }
}

/// Columns read for one row range, in the order they were asked for.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// One entry per requested column.
    pub columns: Vec<ColumnData>,
}

impl Block {
    /// Rows held.
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, |c| c.len())
    }

    /// Whether no rows are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the rows of `other` (same columns) after these.
    pub fn append(&mut self, other: Block) {
        if self.columns.is_empty() {
            *self = other;
            return;
        }
        for (a, b) in self.columns.iter_mut().zip(other.columns) {
            a.append(b);
        }
    }
}

/// An open compound table (HDF5 dataset) of a label file.
pub struct Table {
    ds: hdf5::Dataset,
    file_t: hdf5::Datatype,
    file_name: String,
    path: String,
    columns: Vec<ColumnInfo>,
    nrows: usize,
    row_size: usize,
    /// Every member is fixed-size data without pointers (no variable-length strings or
    /// references), so whole stored rows can be copied out without conversion.
    raw_rows: bool,
}

/// Opens `path` as an HDF5 file, with errors that tell a missing file from a non-HDF5 one.
pub fn open_file(path: &Path) -> Result<hdf5::File> {
    let name = path.display();
    if path.as_os_str() == "-" {
        bail!("-: label files cannot be read from stdin (HDF5 needs a seekable file): give their names, or a list of names with --files-from -");
    }
    if !path.exists() {
        bail!("{name}: no such file");
    }
    if path.is_dir() {
        bail!("{name}: is a directory, not a label file");
    }
    hdf5::File::open(path).map_err(|e| {
        if looks_like_hdf5(path) {
            let msg = e.to_string();
            if msg.contains("eof") || msg.contains("truncated") {
                // HDF5's own text ("truncated file: eof = ..., sblock->base_addr = ...") says
                // what happened in its terms; say it in the user's.
                anyhow::anyhow!(
                    "{name}: HDF5 file is truncated (shorter than its header says: was the writing job killed or the copy cut short?): {msg}"
                )
            } else {
                anyhow::anyhow!("{name}: cannot open HDF5 file: {msg}")
            }
        } else if starts_with(path, &nextgnn_stream::MAGIC) {
            anyhow::anyhow!(
                "{name}: a nextgnn graph stream, not a label file: it is voxel2graph's output already (graphinfo shows it; graphsplit and gcn-train read it)"
            )
        } else {
            anyhow::anyhow!("{name}: not an HDF5 file (no HDF5 signature); expected a label file")
        }
    })
}

/// Whether the file at `path` begins with `prefix`.
fn starts_with(path: &Path, prefix: &[u8]) -> bool {
    use std::io::Read;
    let mut buf = vec![0u8; prefix.len()];
    std::fs::File::open(path).is_ok_and(|mut f| f.read_exact(&mut buf).is_ok() && buf == prefix)
}

/// Whether the HDF5 signature is at one of the offsets where the format allows it.
fn looks_like_hdf5(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const SIG: [u8; 8] = [0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n'];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut off = 0u64;
    while off + 8 <= len {
        let mut buf = [0u8; 8];
        if f.seek(SeekFrom::Start(off)).is_err() || f.read_exact(&mut buf).is_err() {
            return false;
        }
        if buf == SIG {
            return true;
        }
        off = if off == 0 { 512 } else { off * 2 };
    }
    false
}

/// Every dataset path in the file, skipping PyTables index groups (`_i_*`).
pub fn list_datasets(file: &hdf5::File) -> Vec<String> {
    fn walk(g: &hdf5::Group, prefix: &str, out: &mut Vec<String>) {
        let Ok(names) = g.member_names() else { return };
        for n in names {
            if n.starts_with("_i_") {
                continue;
            }
            let p = if prefix.is_empty() {
                n.clone()
            } else {
                format!("{prefix}/{n}")
            };
            if let Ok(sub) = g.group(&n) {
                walk(&sub, &p, out);
            } else if g.dataset(&n).is_ok() {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(root) = file.group("/") {
        walk(&root, "", &mut out);
    }
    out
}

impl Table {
    /// Opens table `path` (e.g. `DATASET/MCVoxels`) of `file`; a missing table lists those present.
    pub fn open(file: &hdf5::File, file_name: &str, path: &str) -> Result<Table> {
        let path = path.trim_start_matches('/').to_string();
        let ds = match file.dataset(&path) {
            Ok(ds) => ds,
            Err(_) => {
                let present = list_datasets(file);
                bail!(
                    "{file_name}: no table {path} (tables present: {})",
                    if present.is_empty() {
                        "none".to_string()
                    } else {
                        present.join(", ")
                    }
                );
            }
        };
        let shape = ds.shape();
        if shape.len() != 1 {
            bail!("{file_name}: {path} is not a table (dataset of shape {shape:?}, expected 1-D)");
        }
        let file_t = ds.dtype()?;
        let (columns, row_size, raw_rows) =
            hdf5::sync::sync(|| unsafe { describe_compound(file_t.id()) })
                .with_context(|| format!("{file_name}: {path}"))?;
        if columns.is_empty() {
            bail!("{file_name}: {path} is not a table (not a compound dataset)");
        }
        Ok(Table {
            nrows: shape[0],
            ds,
            file_t,
            row_size,
            raw_rows,
            file_name: file_name.to_string(),
            path,
            columns,
        })
    }

    /// `file: table path`, the prefix of every message about this table.
    pub fn what(&self) -> String {
        format!("{}: table {}", self.file_name, self.path)
    }

    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// The table's columns in stored order.
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns
    }

    /// The table path inside the file, without a leading `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Looks a column up; the error lists every column with its type.
    pub fn column(&self, name: &str) -> Result<&ColumnInfo> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .with_context(|| {
                format!(
                    "{}: no column {name} (columns: {})",
                    self.what(),
                    self.columns
                        .iter()
                        .map(|c| format!("{} {}", c.name, c.ty))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// The layout for reading the named columns with [`Table::read_rows`].
    ///
    /// Stored rows are copied out as they are (no conversion, one copy per chunk) and the fields
    /// decoded by offset, unless a column needs HDF5's conversion (an unusual width or float
    /// format) or the row holds pointers; then a packed memory type of only these columns is used.
    pub fn layout(&self, names: &[&str]) -> Result<Layout> {
        self.layout_with(names, true)
    }

    /// The layout that always converts to a packed memory type of only these columns.
    pub fn layout_converted(&self, names: &[&str]) -> Result<Layout> {
        self.layout_with(names, false)
    }

    fn layout_with(&self, names: &[&str], raw: bool) -> Result<Layout> {
        let infos = self.readable(names)?;
        if raw && self.raw_rows && infos.iter().all(|c| c.plain) {
            let fields = infos
                .iter()
                .map(|c| Field {
                    offset: c.offset,
                    enc: match c.ty {
                        ColumnType::Int(s) => Enc::Int {
                            size: s as u8,
                            signed: true,
                            be: c.big_endian,
                        },
                        ColumnType::UInt(s) => Enc::Int {
                            size: s as u8,
                            signed: false,
                            be: c.big_endian,
                        },
                        ColumnType::Float(s) => Enc::Float {
                            size: s as u8,
                            be: c.big_endian,
                        },
                        ColumnType::Str(w) => Enc::Str(w),
                        ColumnType::Other(_) => unreachable!("checked readable"),
                    },
                })
                .collect();
            return Ok(Layout {
                row: self.row_size,
                fields,
                mem: None,
            });
        }
        let widths: Vec<usize> = infos.iter().map(|c| mem_width(c.ty)).collect();
        let row = widths.iter().sum::<usize>();
        let mem = hdf5::sync::sync(|| unsafe { self.mem_type(&infos, &widths, row) })
            .with_context(|| format!("{}: columns {}", self.what(), names.join(", ")))?;
        let mut fields = Vec::with_capacity(infos.len());
        let mut off = 0;
        for (c, &w) in infos.iter().zip(&widths) {
            let enc = match c.ty {
                ColumnType::Int(_) | ColumnType::UInt(_) => Enc::Int {
                    size: 8,
                    signed: true,
                    be: cfg!(target_endian = "big"),
                },
                ColumnType::Float(_) => Enc::Float {
                    size: 8,
                    be: cfg!(target_endian = "big"),
                },
                _ => Enc::Str(w),
            };
            fields.push(Field { offset: off, enc });
            off += w;
        }
        Ok(Layout {
            row,
            fields,
            mem: Some(mem),
        })
    }

    /// Reads rows `start..start+count` into `rows` (its buffer is reused) as `layout` says.
    pub fn read_rows(
        &self,
        layout: &Layout,
        start: usize,
        count: usize,
        rows: &mut Rows,
    ) -> Result<()> {
        if start + count > self.nrows {
            bail!(
                "{}: {}: rows {start}..{} beyond the table's {} rows",
                self.file_name,
                self.path,
                start + count,
                self.nrows
            );
        }
        rows.row = layout.row;
        rows.count = count;
        // Grow only: zeroing the buffer for every block would cost as much as reading it.
        let need = layout.row * count;
        if rows.buf.len() < need {
            // A fresh zeroed allocation: large ones come from the OS already zero, untouched.
            rows.buf = vec![0u8; need];
        }
        if count == 0 {
            return Ok(());
        }
        let space = self.ds.space()?.select(start..start + count)?;
        let mspace = hdf5::Dataspace::try_new(count)?;
        let mem = layout.mem.as_ref().map_or(self.file_t.id(), |m| m.0);
        let rc = hdf5::sync::sync(|| unsafe {
            hdf5_sys::h5d::H5Dread(
                self.ds.id(),
                mem,
                mspace.id(),
                space.id(),
                hdf5_sys::h5p::H5P_DEFAULT,
                rows.buf.as_mut_ptr().cast(),
            )
        });
        if rc < 0 {
            bail!(
                "{}: reading {} rows {start}..{}: HDF5 read failed (corrupt file or unsupported conversion)",
                self.file_name,
                self.path,
                start + count
            );
        }
        Ok(())
    }

    fn readable(&self, names: &[&str]) -> Result<Vec<&ColumnInfo>> {
        let infos: Vec<&ColumnInfo> = names
            .iter()
            .map(|n| self.column(n))
            .collect::<Result<_>>()?;
        for c in &infos {
            if let ColumnType::Other(what) = c.ty {
                bail!(
                    "{}: table {}: column {} is a {what}, which cannot be read as a number or string",
                    self.file_name,
                    self.path,
                    c.name
                );
            }
        }
        Ok(infos)
    }

    /// Reads rows `start..start+count` of the named columns.
    pub fn read(&self, names: &[&str], start: usize, count: usize) -> Result<Block> {
        let infos = self.readable(names)?;
        if count == 0 {
            return Ok(Block {
                columns: infos.iter().map(|c| empty_data(c.ty)).collect(),
            });
        }
        if start + count > self.nrows {
            bail!(
                "{}: {}: rows {start}..{} beyond the table's {} rows",
                self.file_name,
                self.path,
                start + count,
                self.nrows
            );
        }
        let widths: Vec<usize> = infos.iter().map(|c| mem_width(c.ty)).collect();
        let row = widths.iter().sum::<usize>();
        let mut buf = vec![0u8; row * count];
        let space = self.ds.space()?.select(start..start + count)?;
        let mspace = hdf5::Dataspace::try_new(count)?;
        hdf5::sync::sync(|| unsafe {
            let mem = self.mem_type(&infos, &widths, row)?;
            self.read_raw(mem.0, &space, &mspace, &mut buf)
        })
        .with_context(|| {
            format!(
                "{}: reading {} rows {start}..{}",
                self.file_name,
                self.path,
                start + count
            )
        })?;
        let mut columns = Vec::with_capacity(infos.len());
        let mut off = 0;
        for (c, &w) in infos.iter().zip(&widths) {
            let cell = |r: usize| &buf[r * row + off..r * row + off + w];
            columns.push(match c.ty {
                ColumnType::Int(_) | ColumnType::UInt(_) => ColumnData::Int(
                    (0..count)
                        .map(|r| i64::from_ne_bytes(cell(r).try_into().unwrap()))
                        .collect(),
                ),
                ColumnType::Float(_) => ColumnData::Float(
                    (0..count)
                        .map(|r| f64::from_ne_bytes(cell(r).try_into().unwrap()))
                        .collect(),
                ),
                ColumnType::Str(_) => {
                    let mut bytes = Vec::with_capacity(w * count);
                    for r in 0..count {
                        bytes.extend_from_slice(cell(r));
                    }
                    ColumnData::Str { width: w, bytes }
                }
                ColumnType::Other(_) => unreachable!(),
            });
            off += w;
        }
        Ok(Block { columns })
    }

    /// The packed memory compound of these columns: integers as i64, floats as f64, strings as stored.
    ///
    /// # Safety
    /// Must run under the HDF5 lock.
    unsafe fn mem_type(
        &self,
        infos: &[&ColumnInfo],
        widths: &[usize],
        row: usize,
    ) -> Result<MemType> {
        use hdf5_sys::h5t::*;
        let i64_t = hdf5::Datatype::from_type::<i64>()?;
        let f64_t = hdf5::Datatype::from_type::<f64>()?;
        let mem = H5Tcreate(H5T_class_t::H5T_COMPOUND, row);
        if mem < 0 {
            bail!("cannot create a memory type");
        }
        let mem = MemType(mem);
        let mut off = 0;
        for (c, &w) in infos.iter().zip(widths) {
            let name = CString::new(c.name.as_str())?;
            let member_t: hid_t = match c.ty {
                ColumnType::Int(_) | ColumnType::UInt(_) => i64_t.id(),
                ColumnType::Float(_) => f64_t.id(),
                _ => {
                    let idx = H5Tget_member_index(self.file_t.id(), name.as_ptr());
                    H5Tget_member_type(self.file_t.id(), idx as u32)
                }
            };
            let owned = matches!(c.ty, ColumnType::Str(_));
            let rc = H5Tinsert(mem.0, name.as_ptr(), off, member_t);
            if owned {
                H5Tclose(member_t);
            }
            if rc < 0 {
                bail!("cannot add column {} to the memory type", c.name);
            }
            off += w;
        }
        Ok(mem)
    }

    /// Reads the selection into `buf` through memory type `mem`.
    ///
    /// # Safety
    /// Must run under the HDF5 lock; `buf` holds a row of `mem` per selected row.
    unsafe fn read_raw(
        &self,
        mem: hid_t,
        space: &hdf5::Dataspace,
        mspace: &hdf5::Dataspace,
        buf: &mut [u8],
    ) -> Result<()> {
        let rc = hdf5_sys::h5d::H5Dread(
            self.ds.id(),
            mem,
            mspace.id(),
            space.id(),
            hdf5_sys::h5p::H5P_DEFAULT,
            buf.as_mut_ptr().cast(),
        );
        if rc < 0 {
            bail!("HDF5 read failed (corrupt file or unsupported conversion)");
        }
        Ok(())
    }
}

fn empty_data(ty: ColumnType) -> ColumnData {
    match ty {
        ColumnType::Int(_) | ColumnType::UInt(_) => ColumnData::Int(Vec::new()),
        ColumnType::Float(_) => ColumnData::Float(Vec::new()),
        ColumnType::Str(w) => ColumnData::Str {
            width: w,
            bytes: Vec::new(),
        },
        ColumnType::Other(_) => ColumnData::Int(Vec::new()),
    }
}

fn mem_width(ty: ColumnType) -> usize {
    match ty {
        ColumnType::Str(w) => w,
        _ => 8,
    }
}

/// The members of a compound type (empty for a non-compound type), the stored row size, and
/// whether stored rows may be copied out as they are (no member holds pointers).
///
/// # Safety
/// Must run under the HDF5 lock with a valid datatype id.
unsafe fn describe_compound(t: hid_t) -> Result<(Vec<ColumnInfo>, usize, bool)> {
    use hdf5_sys::h5t::*;
    if H5Tget_class(t) != H5T_class_t::H5T_COMPOUND {
        return Ok((Vec::new(), 0, false));
    }
    let raw_rows = H5Tdetect_class(t, H5T_class_t::H5T_VLEN) == 0
        && H5Tdetect_class(t, H5T_class_t::H5T_REFERENCE) == 0
        && H5Tis_variable_str(t) <= 0;
    let n = H5Tget_nmembers(t);
    let mut out = Vec::with_capacity(n.max(0) as usize);
    let mut raw_rows = raw_rows;
    for i in 0..n.max(0) as u32 {
        let p = H5Tget_member_name(t, i);
        if p.is_null() {
            bail!("cannot read the name of column {i}");
        }
        let name = CStr::from_ptr(p).to_string_lossy().into_owned();
        hdf5_sys::h5::H5free_memory(p.cast());
        let mt = H5Tget_member_type(t, i);
        let size = H5Tget_size(mt);
        let big_endian = H5Tget_order(mt) == H5T_order_t::H5T_ORDER_BE;
        let ty = match H5Tget_class(mt) {
            H5T_class_t::H5T_INTEGER => {
                if H5Tget_sign(mt) == H5T_sign_t::H5T_SGN_NONE {
                    ColumnType::UInt(size)
                } else {
                    ColumnType::Int(size)
                }
            }
            H5T_class_t::H5T_FLOAT => ColumnType::Float(size),
            H5T_class_t::H5T_STRING if H5Tis_variable_str(mt) <= 0 => ColumnType::Str(size),
            H5T_class_t::H5T_STRING => {
                raw_rows = false;
                ColumnType::Other("variable-length string")
            }
            H5T_class_t::H5T_BITFIELD => ColumnType::Other("bitfield"),
            H5T_class_t::H5T_ENUM => ColumnType::Other("enum"),
            H5T_class_t::H5T_COMPOUND => ColumnType::Other("nested compound"),
            H5T_class_t::H5T_ARRAY => ColumnType::Other("array"),
            _ => ColumnType::Other("unsupported type"),
        };
        // Only standard layouts are decoded by hand: whole-byte integers of 1, 2, 4 or 8 bytes
        // (no padding bits) and IEEE binary32/binary64; anything else goes through HDF5.
        let plain = match ty {
            ColumnType::Int(s) | ColumnType::UInt(s) => {
                matches!(s, 1 | 2 | 4 | 8)
                    && H5Tget_precision(mt) == s * 8
                    && H5Tget_offset(mt) == 0
            }
            ColumnType::Float(4) => {
                H5Tequal(mt, *H5T_IEEE_F32LE) > 0 || H5Tequal(mt, *H5T_IEEE_F32BE) > 0
            }
            ColumnType::Float(8) => {
                H5Tequal(mt, *H5T_IEEE_F64LE) > 0 || H5Tequal(mt, *H5T_IEEE_F64BE) > 0
            }
            ColumnType::Str(_) => true,
            _ => false,
        };
        let offset = H5Tget_member_offset(t, i);
        H5Tclose(mt);
        out.push(ColumnInfo {
            name,
            ty,
            offset,
            big_endian,
            plain,
        });
    }
    Ok((out, H5Tget_size(t), raw_rows))
}
