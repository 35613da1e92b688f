//! Writing small compound tables with chosen column types, laid out as PyTables writes them.
//!
//! Used by the tests to make label files with any integer width, float32 columns, strings and
//! bitfields (and broken ones: NaN energies, duplicate voxels, empty tables) without Python.

use crate::h5table::{ColumnData, ColumnType};
use anyhow::{bail, ensure, Context, Result};
use hdf5_sys::h5i::hid_t;
use std::ffi::CString;
use std::path::Path;

/// One column to write: its stored type and its values (integers also for bitfields).
#[derive(Debug, Clone)]
pub struct WriteColumn {
    /// Member name.
    pub name: String,
    /// Stored type: Int/UInt(1,2,4,8), Float(4,8), Str(n), or `Other("bitfield")` (1 byte).
    pub ty: ColumnType,
    /// Values; Int for integer and bitfield columns, Float for floats, Str for strings.
    pub data: ColumnData,
}

impl WriteColumn {
    /// An integer column of `size` bytes.
    pub fn int(name: &str, size: usize, v: Vec<i64>) -> Self {
        WriteColumn {
            name: name.into(),
            ty: ColumnType::Int(size),
            data: ColumnData::Int(v),
        }
    }
    /// A float column of `size` bytes.
    pub fn float(name: &str, size: usize, v: Vec<f64>) -> Self {
        WriteColumn {
            name: name.into(),
            ty: ColumnType::Float(size),
            data: ColumnData::Float(v),
        }
    }
    /// A fixed-length string column of `width` bytes.
    pub fn string(name: &str, width: usize, v: &[&str]) -> Self {
        let mut bytes = vec![0u8; width * v.len()];
        for (i, s) in v.iter().enumerate() {
            let b = s.as_bytes();
            let n = b.len().min(width);
            bytes[i * width..i * width + n].copy_from_slice(&b[..n]);
        }
        WriteColumn {
            name: name.into(),
            ty: ColumnType::Str(width),
            data: ColumnData::Str { width, bytes },
        }
    }
    /// A one-byte bitfield column (PyTables' bool).
    pub fn bitfield(name: &str, v: Vec<i64>) -> Self {
        WriteColumn {
            name: name.into(),
            ty: ColumnType::Other("bitfield"),
            data: ColumnData::Int(v),
        }
    }
}

/// Adds table `path` (e.g. `DATASET/MCVoxels`) with these columns to the file, creating the file
/// if needed and the groups on the way.
pub fn write_table(file: &Path, path: &str, columns: &[WriteColumn]) -> Result<()> {
    let f = if file.exists() {
        hdf5::File::append(file)?
    } else {
        hdf5::File::create(file)?
    };
    let path = path.trim_start_matches('/');
    let (group_path, name) = match path.rsplit_once('/') {
        Some((g, n)) => (g, n),
        None => ("", path),
    };
    let mut group = f.group("/")?;
    for part in group_path.split('/').filter(|p| !p.is_empty()) {
        group = match group.group(part) {
            Ok(g) => g,
            Err(_) => group.create_group(part)?,
        };
    }
    let nrows = columns.first().map_or(0, |c| c.data.len());
    for c in columns {
        ensure!(
            c.data.len() == nrows,
            "column {} has {} rows, expected {nrows}",
            c.name,
            c.data.len()
        );
    }
    let widths: Vec<usize> = columns
        .iter()
        .map(|c| match c.ty {
            ColumnType::Int(s)
            | ColumnType::UInt(s)
            | ColumnType::Float(s)
            | ColumnType::Str(s) => s,
            ColumnType::Other(_) => 1,
        })
        .collect();
    let row: usize = widths.iter().sum();
    let mut buf = vec![0u8; row * nrows];
    let mut off = 0;
    for (c, &w) in columns.iter().zip(&widths) {
        for r in 0..nrows {
            let cell = &mut buf[r * row + off..r * row + off + w];
            match (&c.data, c.ty) {
                (ColumnData::Int(v), _) => cell.copy_from_slice(&v[r].to_le_bytes()[..w]),
                (ColumnData::Float(v), ColumnType::Float(4)) => {
                    cell.copy_from_slice(&(v[r] as f32).to_le_bytes())
                }
                (ColumnData::Float(v), ColumnType::Float(8)) => {
                    cell.copy_from_slice(&v[r].to_le_bytes())
                }
                (ColumnData::Str { bytes, .. }, _) => {
                    cell.copy_from_slice(&bytes[r * w..(r + 1) * w])
                }
                _ => bail!("column {}: values do not fit type {}", c.name, c.ty),
            }
        }
        off += w;
    }
    let cname = CString::new(name)?;
    hdf5::sync::sync(|| unsafe {
        create_and_write(group.id(), &cname, columns, &widths, row, nrows, &buf)
    })
    .with_context(|| format!("{}: writing table {path}", file.display()))
}

/// # Safety
/// Must run under the HDF5 lock with a valid group id; `buf` holds `row * nrows` bytes.
unsafe fn create_and_write(
    group: hid_t,
    name: &CString,
    columns: &[WriteColumn],
    widths: &[usize],
    row: usize,
    nrows: usize,
    buf: &[u8],
) -> Result<()> {
    use hdf5_sys::{h5d, h5p, h5s, h5t};
    let t = h5t::H5Tcreate(h5t::H5T_class_t::H5T_COMPOUND, row.max(1));
    ensure!(t >= 0, "cannot create the row type");
    let mut off = 0;
    for (c, &w) in columns.iter().zip(widths) {
        let member = match c.ty {
            ColumnType::Int(1) => h5t::H5Tcopy(*h5t::H5T_STD_I8LE),
            ColumnType::Int(2) => h5t::H5Tcopy(*h5t::H5T_STD_I16LE),
            ColumnType::Int(4) => h5t::H5Tcopy(*h5t::H5T_STD_I32LE),
            ColumnType::Int(8) => h5t::H5Tcopy(*h5t::H5T_STD_I64LE),
            ColumnType::UInt(1) => h5t::H5Tcopy(*h5t::H5T_STD_U8LE),
            ColumnType::UInt(2) => h5t::H5Tcopy(*h5t::H5T_STD_U16LE),
            ColumnType::UInt(4) => h5t::H5Tcopy(*h5t::H5T_STD_U32LE),
            ColumnType::UInt(8) => h5t::H5Tcopy(*h5t::H5T_STD_U64LE),
            ColumnType::Float(4) => h5t::H5Tcopy(*h5t::H5T_IEEE_F32LE),
            ColumnType::Float(8) => h5t::H5Tcopy(*h5t::H5T_IEEE_F64LE),
            ColumnType::Str(n) => {
                let s = h5t::H5Tcopy(*h5t::H5T_C_S1);
                h5t::H5Tset_size(s, n);
                s
            }
            ColumnType::Other("bitfield") => h5t::H5Tcopy(*h5t::H5T_STD_B8LE),
            other => {
                h5t::H5Tclose(t);
                bail!("cannot write a column of type {other}");
            }
        };
        let cn = CString::new(c.name.as_str())?;
        let rc = h5t::H5Tinsert(t, cn.as_ptr(), off, member);
        h5t::H5Tclose(member);
        if rc < 0 {
            h5t::H5Tclose(t);
            bail!("cannot add column {}", c.name);
        }
        off += w;
    }
    let dims = [nrows as u64];
    let space = h5s::H5Screate_simple(1, dims.as_ptr(), std::ptr::null());
    let ds = h5d::H5Dcreate2(
        group,
        name.as_ptr(),
        t,
        space,
        h5p::H5P_DEFAULT,
        h5p::H5P_DEFAULT,
        h5p::H5P_DEFAULT,
    );
    let mut rc = if ds < 0 { -1 } else { 0 };
    if ds >= 0 && nrows > 0 {
        rc = h5d::H5Dwrite(
            ds,
            t,
            h5s::H5S_ALL,
            h5s::H5S_ALL,
            h5p::H5P_DEFAULT,
            buf.as_ptr().cast(),
        );
    }
    if ds >= 0 {
        h5d::H5Dclose(ds);
    }
    h5s::H5Sclose(space);
    h5t::H5Tclose(t);
    ensure!(rc >= 0, "HDF5 refused to create or write the dataset");
    Ok(())
}
