//! Minimal PyTables-compatible HDF5 tables (raw HDF5 calls), and a reader of such tables for checks.
//!
//! PyTables (and so `pandas.read_hdf`) recognises a compound dataset as a table through the
//! `CLASS`, `VERSION`, `TITLE`, `NROWS` and `FIELD_<i>_NAME`/`FIELD_<i>_FILL` attributes, and groups
//! through `CLASS = GROUP`; the root group carries `PYTABLES_FORMAT_VERSION`. Members are packed
//! (no padding), booleans are 1-byte `H5T_BITFIELD`, strings fixed-length NUL-terminated ASCII,
//! as in the production label files.

use anyhow::{bail, Context, Result};
use hdf5_sys::h5::{herr_t, hsize_t, H5free_memory, H5open};
use hdf5_sys::h5a::{H5Aclose, H5Acreate2, H5Aget_type, H5Aopen, H5Aread, H5Awrite};
use hdf5_sys::h5d::{
    H5Dclose, H5Dcreate2, H5Dget_space, H5Dget_type, H5Dopen2, H5Dread, H5Dset_extent, H5Dwrite,
};
use hdf5_sys::h5e::{H5Eset_auto2, H5E_DEFAULT};
use hdf5_sys::h5f::{H5Fclose, H5Fcreate, H5Fopen, H5F_ACC_RDONLY, H5F_ACC_TRUNC};
use hdf5_sys::h5g::{H5Gclose, H5Gcreate2, H5Gopen2};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5p::{H5Pclose, H5Pcreate, H5Pset_chunk, H5P_CLS_DATASET_CREATE, H5P_DEFAULT};
use hdf5_sys::h5s::{
    H5S_class_t, H5S_seloper_t, H5Sclose, H5Screate, H5Screate_simple, H5Sget_simple_extent_dims,
    H5Sselect_hyperslab, H5S_ALL, H5S_UNLIMITED,
};
use hdf5_sys::h5t::{
    H5T_class_t, H5T_cset_t, H5T_str_t, H5Tclose, H5Tcopy, H5Tcreate, H5Tget_class,
    H5Tget_member_name, H5Tget_member_offset, H5Tget_member_type, H5Tget_nmembers, H5Tget_size,
    H5Tinsert, H5Tset_cset, H5Tset_size, H5Tset_strpad, H5T_C_S1, H5T_IEEE_F64LE, H5T_STD_B8LE,
    H5T_STD_I16LE, H5T_STD_I32LE, H5T_STD_I64LE, H5T_STD_I8LE,
};
use std::ffi::{CStr, CString};
use std::os::raw::c_void;
use std::path::Path;

/// Storage type of one table column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// Signed little-endian integer of 1, 2, 4 or 8 bytes.
    Int(usize),
    /// IEEE double.
    F64,
    /// Fixed-length NUL-terminated ASCII of this many bytes.
    Str(usize),
    /// Boolean stored as a 1-byte `H5T_BITFIELD` (PyTables `BoolCol`).
    Bool,
}

impl ColType {
    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            ColType::Int(n) | ColType::Str(n) => n,
            ColType::F64 => 8,
            ColType::Bool => 1,
        }
    }
}

/// A column name and type.
#[derive(Clone, Debug)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Storage type.
    pub ty: ColType,
}

/// Shorthand for a [`Column`].
pub fn col(name: &str, ty: ColType) -> Column {
    Column {
        name: name.to_string(),
        ty,
    }
}

fn check(r: herr_t, what: &str) -> Result<()> {
    if r < 0 {
        bail!("HDF5: {what} failed");
    }
    Ok(())
}

fn check_id(id: hid_t, what: &str) -> Result<hid_t> {
    if id < 0 {
        bail!("HDF5: {what} failed");
    }
    Ok(id)
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("HDF5 names contain no NUL")
}

/// Closes an HDF5 identifier with the right function when dropped.
struct Handle(hid_t, unsafe extern "C" fn(hid_t) -> herr_t);

impl Drop for Handle {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: the id was returned by the matching create/open call and is closed once.
            unsafe {
                (self.1)(self.0);
            }
        }
    }
}

fn init() {
    // SAFETY: H5open initialises the library (idempotent); silencing the automatic error stack
    // printing leaves error reporting to our Result values.
    unsafe {
        H5open();
        H5Eset_auto2(H5E_DEFAULT, None, std::ptr::null_mut());
    }
}

fn file_type(ty: ColType) -> Result<Handle> {
    // SAFETY: copies of predefined types, owned by the returned handle.
    unsafe {
        let id = match ty {
            ColType::Int(1) => H5Tcopy(*H5T_STD_I8LE),
            ColType::Int(2) => H5Tcopy(*H5T_STD_I16LE),
            ColType::Int(4) => H5Tcopy(*H5T_STD_I32LE),
            ColType::Int(8) => H5Tcopy(*H5T_STD_I64LE),
            ColType::Int(n) => bail!("unsupported integer width {n}"),
            ColType::F64 => H5Tcopy(*H5T_IEEE_F64LE),
            ColType::Bool => H5Tcopy(*H5T_STD_B8LE),
            ColType::Str(n) => {
                let t = check_id(H5Tcopy(*H5T_C_S1), "copy string type")?;
                check(H5Tset_size(t, n), "set string size")?;
                check(
                    H5Tset_strpad(t, H5T_str_t::H5T_STR_NULLTERM),
                    "set string padding",
                )?;
                check(
                    H5Tset_cset(t, H5T_cset_t::H5T_CSET_ASCII),
                    "set string charset",
                )?;
                t
            }
        };
        Ok(Handle(check_id(id, "copy type")?, H5Tclose))
    }
}

fn string_type(len: usize, cset: H5T_cset_t) -> Result<Handle> {
    // SAFETY: plain type construction, owned by the handle.
    unsafe {
        let t = Handle(check_id(H5Tcopy(*H5T_C_S1), "copy string type")?, H5Tclose);
        check(H5Tset_size(t.0, len.max(1)), "set string size")?;
        check(
            H5Tset_strpad(t.0, H5T_str_t::H5T_STR_NULLTERM),
            "set string padding",
        )?;
        check(H5Tset_cset(t.0, cset), "set string charset")?;
        Ok(t)
    }
}

fn write_attr(obj: hid_t, name: &str, ty: hid_t, value: &[u8]) -> Result<()> {
    let n = cstr(name);
    // SAFETY: scalar attribute whose buffer holds exactly one value of `ty` (callers size it).
    unsafe {
        let space = Handle(
            check_id(H5Screate(H5S_class_t::H5S_SCALAR), "scalar space")?,
            H5Sclose,
        );
        let a = Handle(
            check_id(
                H5Acreate2(obj, n.as_ptr(), ty, space.0, H5P_DEFAULT, H5P_DEFAULT),
                &format!("create attribute {name}"),
            )?,
            H5Aclose,
        );
        check(
            H5Awrite(a.0, ty, value.as_ptr() as *const c_void),
            &format!("write attribute {name}"),
        )
    }
}

fn str_attr(obj: hid_t, name: &str, value: &str, cset: H5T_cset_t) -> Result<()> {
    let t = string_type(value.len(), cset)?;
    let mut buf = value.as_bytes().to_vec();
    buf.resize(value.len().max(1), 0);
    write_attr(obj, name, t.0, &buf)
}

fn i64_attr(obj: hid_t, name: &str, v: i64) -> Result<()> {
    write_attr(obj, name, *H5T_STD_I64LE, &v.to_le_bytes())
}

fn group_attrs(g: hid_t) -> Result<()> {
    str_attr(g, "CLASS", "GROUP", H5T_cset_t::H5T_CSET_UTF8)?;
    str_attr(g, "TITLE", "", H5T_cset_t::H5T_CSET_UTF8)?;
    str_attr(g, "VERSION", "1.0", H5T_cset_t::H5T_CSET_UTF8)
}

/// An HDF5 file being written, with PyTables root attributes.
pub struct H5Writer {
    file: Handle,
}

impl H5Writer {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> Result<Self> {
        init();
        let p = cstr(&path.to_string_lossy());
        // SAFETY: plain file creation; the id is owned by the handle.
        let id = unsafe { H5Fcreate(p.as_ptr(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) };
        let file = Handle(
            check_id(id, &format!("create {}", path.display()))?,
            H5Fclose,
        );
        group_attrs(file.0)?;
        str_attr(
            file.0,
            "PYTABLES_FORMAT_VERSION",
            "2.1",
            H5T_cset_t::H5T_CSET_UTF8,
        )?;
        Ok(H5Writer { file })
    }

    /// Creates group `name` at the root.
    pub fn group(&self, name: &str) -> Result<H5Group> {
        let n = cstr(name);
        // SAFETY: group creation under an open file.
        let id = unsafe {
            H5Gcreate2(
                self.file.0,
                n.as_ptr(),
                H5P_DEFAULT,
                H5P_DEFAULT,
                H5P_DEFAULT,
            )
        };
        let g = Handle(check_id(id, &format!("create group {name}"))?, H5Gclose);
        group_attrs(g.0)?;
        Ok(H5Group { g })
    }

    /// Flushes and closes the file.
    pub fn close(self) -> Result<()> {
        let id = self.file.0;
        std::mem::forget(self.file);
        // SAFETY: closes the file id exactly once (the handle was forgotten).
        check(unsafe { H5Fclose(id) }, "close file")
    }
}

/// A group of an [`H5Writer`].
pub struct H5Group {
    g: Handle,
}

impl H5Group {
    /// Creates an empty extendible table with `chunk_rows` rows per chunk.
    pub fn table(&self, name: &str, columns: &[Column], chunk_rows: usize) -> Result<TableWriter> {
        let row_size: usize = columns.iter().map(|c| c.ty.size()).sum();
        // SAFETY: compound type and dataset creation; every id is owned by a Handle.
        unsafe {
            let ct = Handle(
                check_id(
                    H5Tcreate(H5T_class_t::H5T_COMPOUND, row_size),
                    "compound type",
                )?,
                H5Tclose,
            );
            let mut off = 0;
            for c in columns {
                let ft = file_type(c.ty)?;
                let n = cstr(&c.name);
                check(
                    H5Tinsert(ct.0, n.as_ptr(), off, ft.0),
                    &format!("insert member {}", c.name),
                )?;
                off += c.ty.size();
            }
            let (cur, max) = ([0 as hsize_t], [H5S_UNLIMITED]);
            let space = Handle(
                check_id(
                    H5Screate_simple(1, cur.as_ptr(), max.as_ptr()),
                    "table space",
                )?,
                H5Sclose,
            );
            let dcpl = Handle(
                check_id(H5Pcreate(*H5P_CLS_DATASET_CREATE), "dataset properties")?,
                H5Pclose,
            );
            let chunk = [chunk_rows.max(1) as hsize_t];
            check(H5Pset_chunk(dcpl.0, 1, chunk.as_ptr()), "set chunk")?;
            let n = cstr(name);
            let d = H5Dcreate2(
                self.g.0,
                n.as_ptr(),
                ct.0,
                space.0,
                H5P_DEFAULT,
                dcpl.0,
                H5P_DEFAULT,
            );
            let dset = Handle(check_id(d, &format!("create table {name}"))?, H5Dclose);
            let utf8 = H5T_cset_t::H5T_CSET_UTF8;
            str_attr(dset.0, "CLASS", "TABLE", utf8)?;
            str_attr(dset.0, "VERSION", "2.7", utf8)?;
            str_attr(dset.0, "TITLE", "", utf8)?;
            i64_attr(dset.0, "NROWS", 0)?;
            for (i, c) in columns.iter().enumerate() {
                str_attr(dset.0, &format!("FIELD_{i}_NAME"), &c.name, utf8)?;
                let fill = format!("FIELD_{i}_FILL");
                match c.ty {
                    ColType::Str(_) => str_attr(dset.0, &fill, "", H5T_cset_t::H5T_CSET_ASCII)?,
                    ty => {
                        let ft = file_type(ty)?;
                        write_attr(dset.0, &fill, ft.0, &vec![0u8; ty.size()])?;
                    }
                }
            }
            Ok(TableWriter {
                dset,
                ctype: ct,
                row_size,
                nrows: 0,
            })
        }
    }
}

/// Appends rows (packed little-endian bytes) to a table.
pub struct TableWriter {
    dset: Handle,
    ctype: Handle,
    row_size: usize,
    nrows: u64,
}

impl TableWriter {
    /// Bytes per row.
    pub fn row_size(&self) -> usize {
        self.row_size
    }

    /// Appends `bytes` (a whole number of rows).
    pub fn append(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        assert_eq!(bytes.len() % self.row_size, 0, "partial row");
        let n = (bytes.len() / self.row_size) as hsize_t;
        // SAFETY: extend then write `n` rows from a buffer of exactly n * row_size bytes.
        unsafe {
            let new = [self.nrows + n];
            check(H5Dset_extent(self.dset.0, new.as_ptr()), "extend table")?;
            let fspace = Handle(
                check_id(H5Dget_space(self.dset.0), "table space")?,
                H5Sclose,
            );
            let (start, count) = ([self.nrows], [n]);
            check(
                H5Sselect_hyperslab(
                    fspace.0,
                    H5S_seloper_t::H5S_SELECT_SET,
                    start.as_ptr(),
                    std::ptr::null(),
                    count.as_ptr(),
                    std::ptr::null(),
                ),
                "select rows",
            )?;
            let mspace = Handle(
                check_id(
                    H5Screate_simple(1, count.as_ptr(), std::ptr::null()),
                    "memory space",
                )?,
                H5Sclose,
            );
            check(
                H5Dwrite(
                    self.dset.0,
                    self.ctype.0,
                    mspace.0,
                    fspace.0,
                    H5P_DEFAULT,
                    bytes.as_ptr() as *const c_void,
                ),
                "write rows",
            )?;
        }
        self.nrows += n;
        Ok(())
    }

    /// Records the row count in `NROWS` and closes the table.
    pub fn finish(self) -> Result<u64> {
        let n = cstr("NROWS");
        // SAFETY: rewrites the scalar int64 attribute created with the table.
        unsafe {
            let a = Handle(
                check_id(H5Aopen(self.dset.0, n.as_ptr(), H5P_DEFAULT), "open NROWS")?,
                H5Aclose,
            );
            let v = (self.nrows as i64).to_le_bytes();
            check(
                H5Awrite(a.0, *H5T_STD_I64LE, v.as_ptr() as *const c_void),
                "write NROWS",
            )?;
        }
        Ok(self.nrows)
    }
}

/// Packs one row's values into bytes in column order.
#[derive(Default)]
pub struct RowPacker {
    /// The packed rows.
    pub buf: Vec<u8>,
}

impl RowPacker {
    /// An integer of `width` bytes (caller guarantees it fits).
    #[inline]
    pub fn int(&mut self, v: i64, width: usize) {
        self.buf.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    /// A double.
    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A fixed-length string, NUL padded (caller guarantees it fits).
    #[inline]
    pub fn str(&mut self, s: &str, width: usize) {
        let b = s.as_bytes();
        self.buf.extend_from_slice(b);
        self.buf.resize(self.buf.len() + width - b.len(), 0);
    }
    /// A boolean byte.
    #[inline]
    pub fn bool(&mut self, v: bool) {
        self.buf.push(v as u8);
    }
}

/// A member of a stored compound type, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Member name.
    pub name: String,
    /// HDF5 type class name: "integer", "float", "string", "bitfield" or "other".
    pub class: &'static str,
    /// Bytes.
    pub size: usize,
    /// Byte offset in the row.
    pub offset: usize,
}

/// A whole table read back as raw rows, for checks.
pub struct TableData {
    /// Members in stored order.
    pub members: Vec<Member>,
    /// Bytes per row.
    pub row_size: usize,
    /// Row bytes.
    pub bytes: Vec<u8>,
}

impl TableData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.row_size.max(1)
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn member(&self, name: &str) -> &Member {
        self.members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
    fn field(&self, row: usize, name: &str) -> (&Member, &[u8]) {
        let m = self.member(name);
        let o = row * self.row_size + m.offset;
        (m, &self.bytes[o..o + m.size])
    }
    /// A signed integer (any width) or bitfield value.
    pub fn int(&self, row: usize, name: &str) -> i64 {
        let (m, b) = self.field(row, name);
        match (m.class, m.size) {
            ("bitfield", 1) => b[0] as i64,
            ("integer", 1) => b[0] as i8 as i64,
            ("integer", 2) => i16::from_le_bytes([b[0], b[1]]) as i64,
            ("integer", 4) => i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64,
            ("integer", 8) => i64::from_le_bytes(b.try_into().expect("8 bytes")),
            other => panic!("{name}: not an integer column: {other:?}"),
        }
    }
    /// A double.
    pub fn f64(&self, row: usize, name: &str) -> f64 {
        let (m, b) = self.field(row, name);
        assert_eq!((m.class, m.size), ("float", 8), "{name}");
        f64::from_le_bytes(b.try_into().expect("8 bytes"))
    }
    /// A fixed-length string without its NUL padding.
    pub fn str(&self, row: usize, name: &str) -> String {
        let (_, b) = self.field(row, name);
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    }
}

/// Reads table `dataset` (e.g. `DATASET/MCVoxels`) of `path` whole.
pub fn read_table(path: &Path, dataset: &str) -> Result<TableData> {
    init();
    let p = cstr(&path.to_string_lossy());
    let d = cstr(dataset);
    // SAFETY: read-only open, type inspection, and a read into a buffer of nrows * size bytes.
    unsafe {
        let f = Handle(
            check_id(
                H5Fopen(p.as_ptr(), H5F_ACC_RDONLY, H5P_DEFAULT),
                &format!("open {}", path.display()),
            )?,
            H5Fclose,
        );
        let ds = Handle(
            check_id(
                H5Dopen2(f.0, d.as_ptr(), H5P_DEFAULT),
                &format!("open {dataset}"),
            )?,
            H5Dclose,
        );
        let t = Handle(check_id(H5Dget_type(ds.0), "dataset type")?, H5Tclose);
        let row_size = H5Tget_size(t.0);
        let nm = H5Tget_nmembers(t.0);
        if nm < 0 {
            bail!("{dataset}: not a compound table");
        }
        let mut members = Vec::new();
        for i in 0..nm as u32 {
            let np = H5Tget_member_name(t.0, i);
            let name = CStr::from_ptr(np).to_string_lossy().into_owned();
            H5free_memory(np as *mut c_void);
            let mt = Handle(H5Tget_member_type(t.0, i), H5Tclose);
            let class = match H5Tget_class(mt.0) {
                H5T_class_t::H5T_INTEGER => "integer",
                H5T_class_t::H5T_FLOAT => "float",
                H5T_class_t::H5T_STRING => "string",
                H5T_class_t::H5T_BITFIELD => "bitfield",
                _ => "other",
            };
            members.push(Member {
                name,
                class,
                size: H5Tget_size(mt.0),
                offset: H5Tget_member_offset(t.0, i),
            });
        }
        let space = Handle(check_id(H5Dget_space(ds.0), "space")?, H5Sclose);
        let mut dims = [0 as hsize_t];
        H5Sget_simple_extent_dims(space.0, dims.as_mut_ptr(), std::ptr::null_mut());
        let mut bytes = vec![0u8; dims[0] as usize * row_size];
        if !bytes.is_empty() {
            check(
                H5Dread(
                    ds.0,
                    t.0,
                    H5S_ALL,
                    H5S_ALL,
                    H5P_DEFAULT,
                    bytes.as_mut_ptr() as *mut c_void,
                ),
                "read table",
            )?;
        }
        Ok(TableData {
            members,
            row_size,
            bytes,
        })
    }
}

/// Reads a scalar attribute of object `obj` (a group or dataset path, "/" for the root) as text:
/// strings as they are, integers in decimal.
pub fn read_attr(path: &Path, obj: &str, name: &str) -> Result<String> {
    init();
    let p = cstr(&path.to_string_lossy());
    let (o, n) = (cstr(obj), cstr(name));
    // SAFETY: read-only open; the attribute is read into a buffer of its own type's size.
    unsafe {
        let f = Handle(
            check_id(
                H5Fopen(p.as_ptr(), H5F_ACC_RDONLY, H5P_DEFAULT),
                "open file",
            )?,
            H5Fclose,
        );
        let (id, close): (hid_t, unsafe extern "C" fn(hid_t) -> herr_t) = {
            let g = H5Gopen2(f.0, o.as_ptr(), H5P_DEFAULT);
            if g >= 0 {
                (g, H5Gclose)
            } else {
                (
                    check_id(
                        H5Dopen2(f.0, o.as_ptr(), H5P_DEFAULT),
                        &format!("open {obj}"),
                    )?,
                    H5Dclose,
                )
            }
        };
        let h = Handle(id, close);
        let a = Handle(
            check_id(
                H5Aopen(h.0, n.as_ptr(), H5P_DEFAULT),
                &format!("{obj}: attribute {name}"),
            )?,
            H5Aclose,
        );
        let t = Handle(check_id(H5Aget_type(a.0), "attribute type")?, H5Tclose);
        let size = H5Tget_size(t.0);
        let mut buf = vec![0u8; size];
        check(
            H5Aread(a.0, t.0, buf.as_mut_ptr() as *mut c_void),
            "read attribute",
        )?;
        Ok::<String, anyhow::Error>(match H5Tget_class(t.0) {
            H5T_class_t::H5T_STRING => {
                let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
                String::from_utf8_lossy(&buf[..end]).into_owned()
            }
            H5T_class_t::H5T_INTEGER if size == 8 => {
                i64::from_le_bytes(buf.try_into().expect("8 bytes")).to_string()
            }
            _ => format!("{buf:?}"),
        })
    }
    .with_context(|| format!("{}", path.display()))
}
