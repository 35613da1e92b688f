//! Output files that appear only when complete, stdout handling, and progress bars for the tools.

use anyhow::Context;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// A file written under a temporary name in its final directory and renamed by [`Output::commit`].
///
/// Dropped without commit (error, panic), the temporary file is removed, so a killed or failed job
/// never leaves a file that looks complete. `-` writes to stdout.
pub struct Output {
    writer: BufWriter<Box<dyn Write + Send>>,
    tmp: Option<PathBuf>,
    dest: Option<PathBuf>,
    /// The temporary file again (same open file description), for going back: see [`Output::mark`].
    file: Option<File>,
    /// What errors call the output: its path, or "stdout".
    name: String,
}

impl Output {
    /// Creates `path` (or stdout for `-`); the temporary sibling is `.<name>.tmp.<pid>`.
    pub fn create(path: &str) -> anyhow::Result<Self> {
        if path == "-" {
            return Ok(Output {
                writer: BufWriter::with_capacity(1 << 20, Box::new(io::stdout())),
                tmp: None,
                dest: None,
                file: None,
                name: "stdout".into(),
            });
        }
        let dest = PathBuf::from(path);
        if is_special(&dest) {
            // /dev/null, a FIFO, a terminal: renaming a file over it would replace the device
            // itself, so such outputs are written in place.
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&dest)
                .with_context(|| format!("{path}: cannot open output"))?;
            return Ok(Output {
                writer: BufWriter::with_capacity(1 << 20, Box::new(f)),
                tmp: None,
                dest: None,
                file: None,
                name: path.into(),
            });
        }
        if dest.is_dir() {
            anyhow::bail!(
                "{path}: is a directory; give the output a file name (a path inside it, or another name)"
            );
        }
        let (tmp, f) = create_temp_sibling(&dest)?;
        let again = f.try_clone().ok();
        Ok(Output {
            writer: BufWriter::with_capacity(1 << 20, Box::new(f)),
            tmp: Some(tmp),
            dest: Some(dest),
            file: again,
            name: path.into(),
        })
    }

    /// The number of bytes written so far, as a point to go back to with [`Output::rewind`];
    /// None when the output cannot go back (stdout, a device or a FIFO).
    pub fn mark(&mut self) -> io::Result<Option<u64>> {
        use std::io::Seek;
        match &mut self.file {
            None => Ok(None),
            Some(f) => {
                self.writer.flush()?;
                Ok(Some(f.stream_position()?))
            }
        }
    }

    /// Drops everything written after `mark` (a value [`Output::mark`] returned).
    pub fn rewind(&mut self, mark: u64) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        let f = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("this output cannot go back"))?;
        self.writer.flush()?;
        f.set_len(mark)?;
        f.seek(SeekFrom::Start(mark))?;
        Ok(())
    }

    /// Flushes, syncs and renames the temporary file to its final name.
    pub fn commit(mut self) -> anyhow::Result<()> {
        self.writer.flush().map_err(|e| self.named(e))?;
        if let (Some(tmp), Some(dest)) = (self.tmp.take(), self.dest.take()) {
            let f = File::open(&tmp)?;
            f.sync_all().ok();
            let renamed = std::fs::rename(&tmp, &dest);
            if renamed.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            untrack_temp(&tmp);
            renamed.with_context(|| format!("{}: cannot rename into place", dest.display()))?;
        }
        Ok(())
    }

    /// `e` with the output's name in front, so that "No space left on device" says where.
    fn named(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: cannot write: {e}", self.name))
    }

    /// The final path (None for stdout).
    pub fn path(&self) -> Option<&Path> {
        self.dest.as_deref()
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf).map_err(|e| self.named(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush().map_err(|e| self.named(e))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(&tmp);
            untrack_temp(&tmp);
        }
    }
}

/// Temporary files of outputs not yet renamed into place: what a signal handler must remove.
static TEMPS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn track_temp(p: &Path) {
    if let Ok(mut t) = TEMPS.lock() {
        t.push(p.to_path_buf());
    }
}

fn untrack_temp(p: &Path) {
    if let Ok(mut t) = TEMPS.lock() {
        t.retain(|q| q != p);
    }
}

/// On SIGINT, SIGTERM or SIGHUP (Ctrl-C, scancel, a closed terminal), removes the temporary
/// files of unfinished outputs, then ends the process as the signal would have.
///
/// Without this a killed job leaves its hidden `.name.tmp.pid` files behind (never a file with
/// the final name). Tools that stop gracefully on signals themselves (gcn-train) do not call it.
pub fn remove_temp_files_on_signals() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .context("installing signal handlers")?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            if let Ok(t) = TEMPS.lock() {
                for p in t.iter() {
                    let _ = std::fs::remove_file(p);
                }
            }
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

/// Refuses an output that is one of the inputs: renaming the finished output into place would
/// replace that input (`voxel2graph a.h5 -o a.h5`, or a shell glob that put an input after -o).
pub fn check_not_an_input<'a>(
    output: &str,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> anyhow::Result<()> {
    if output == "-" {
        return Ok(());
    }
    let Some(out) = file_id(Path::new(output)) else {
        return Ok(());
    };
    for input in inputs {
        if file_id(input) == Some(out) {
            anyhow::bail!(
                "{output}: the output is also an input ({}); it would be replaced: choose another output name",
                input.display()
            );
        }
    }
    Ok(())
}

/// Refuses a file given twice among `inputs` (also under two names): its graphs would be read
/// twice, with the same ids, and could land in both a training and a test set. `-` is skipped.
pub fn check_distinct_inputs<'a>(inputs: impl IntoIterator<Item = &'a Path>) -> anyhow::Result<()> {
    let mut seen: Vec<((u64, u64), &Path)> = Vec::new();
    for p in inputs {
        let Some(id) = file_id(p) else { continue };
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
            anyhow::bail!(
                "{}: input given twice (also as {}); each of its graphs would be read twice: give each file once",
                p.display(),
                first.display()
            );
        }
        seen.push((id, p));
    }
    Ok(())
}

/// Device and inode of an existing file (symbolic links followed), to tell two names of one file.
pub fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether `dest` exists and is not a regular file (a device such as /dev/null, a FIFO, ...).
pub fn is_special(dest: &Path) -> bool {
    std::fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// The hidden temporary name next to `dest` used while it is being written; it is removed if a
/// signal stops the process (see [`remove_temp_files_on_signals`]).
pub fn temp_sibling(dest: &Path) -> anyhow::Result<PathBuf> {
    let name = dest
        .file_name()
        .with_context(|| format!("{}: not a file name", dest.display()))?;
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    track_temp(&tmp);
    Ok(tmp)
}

/// Creates the empty temporary sibling of `dest` (see [`temp_sibling`]), so that an unwritable
/// directory is reported in the user's terms before a library (HDF5) tries and says it in its own.
pub fn create_temp_sibling(dest: &Path) -> anyhow::Result<(PathBuf, File)> {
    let tmp = temp_sibling(dest)?;
    let f = File::create(&tmp).with_context(|| {
        format!(
            "{}: cannot create output (is the directory there and writable?)",
            dest.display()
        )
    })?;
    Ok((tmp, f))
}

/// Writes `bytes` to `path` atomically (temporary sibling, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let p = path.to_string_lossy().to_string();
    let mut o = Output::create(&p)?;
    o.write_all(bytes)?;
    o.commit()
}

/// Restores the default SIGPIPE action so that `tool | head` ends quietly instead of panicking.
pub fn reset_sigpipe() {
    #[cfg(unix)]
    unsafe {
        // SAFETY: plain libc call at program start, before any threads exist.
        libc_signal(13, 0);
    }
}

#[cfg(unix)]
extern "C" {
    #[link_name = "signal"]
    fn libc_signal(signum: i32, handler: usize) -> usize;
}

/// The command line, for stream provenance.
pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// A progress bar drawn only when stderr is a terminal; hidden in pipes, logs and SLURM jobs.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{bar:40}] {pos}/{len} ({per_sec}, ETA {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Like [`progress`], counting bytes (shown as MiB, MiB/s) for tools that walk input files.
pub fn progress_bytes(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = progress(len, what);
    // Length 0 means unknown (stdin): show the bytes read, not a bar stuck at zero.
    let template = if len == 0 {
        "{msg:>12} {bytes} ({bytes_per_sec})"
    } else {
        "{msg:>12} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})"
    };
    pb.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// Runs a tool's body, printing `error: ...` on one line (causes joined by `: `) and exiting 1 on failure.
pub fn run_main(body: impl FnOnce() -> anyhow::Result<()>) {
    if run_reporting(body).is_err() {
        std::process::exit(1);
    }
}

/// Runs a tool's body and prints its error, if any, as one line.
fn run_reporting(body: impl FnOnce() -> anyhow::Result<()>) -> Result<(), ()> {
    reset_sigpipe();
    body().map_err(|e| eprintln!("error: {}", error_line(&e)))
}

/// [`run_main`] for tools that write HDF5 through the C library: on error the process ends
/// without the C exit handlers. After a failed write (a full disk) HDF5 cannot close the file, and
/// its own teardown at exit then crashes (exit 139 after the error line); the temporary output is
/// already removed by then, so nothing is left for the teardown to do.
pub fn run_main_no_atexit(body: impl FnOnce() -> anyhow::Result<()>) {
    if run_reporting(body).is_err() {
        let _ = io::stdout().flush();
        extern "C" {
            fn _exit(status: i32) -> !;
        }
        // SAFETY: _exit ends the process at once; stdout was flushed and stderr is unbuffered.
        unsafe { _exit(1) }
    }
}

/// An error and its causes on one line. A cause that begins with a name an outer message already
/// began with ("x.gs: finishing stream" over "x.gs: cannot write: ...") loses that repeated name.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let full = c.to_string();
        let shown = match names.iter().find(|n| full.starts_with(&format!("{n}: "))) {
            Some(n) => full[n.len() + 2..].to_string(),
            None => full.clone(),
        };
        if let Some((head, _)) = full.split_once(": ") {
            names.push(head.to_string());
        }
        parts.push(shown);
    }
    parts.join(": ")
}

/// Most worker threads a tool accepts: far above any node's cores, far below what exhausts the
/// process (a mistyped 100000 spent minutes creating threads, then crashed).
pub const MAX_THREADS: usize = 1024;

/// `--threads`: a whole number from 0 (one per core) to [`MAX_THREADS`].
pub fn parse_threads(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n <= MAX_THREADS => Ok(n),
        Ok(n) => Err(format!(
            "{n} threads is more than {MAX_THREADS}; give at most the node's cores (0 = one per core)"
        )),
        Err(_) => Err("--threads takes a whole number (0 = one per core)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_errors_name_the_output_once() {
        let mut o = Output::create("/dev/full").unwrap();
        o.write_all(b"x").unwrap();
        let e = o
            .commit()
            .context("/dev/full: finishing stream")
            .unwrap_err();
        assert_eq!(
            error_line(&e),
            "/dev/full: finishing stream: cannot write: No space left on device (os error 28)"
        );
    }

    #[test]
    fn output_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.gs");
        let mut o = Output::create(dest.to_str().unwrap()).unwrap();
        o.write_all(b"half").unwrap();
        o.flush().unwrap();
        let tmp = temp_sibling(&dest).unwrap();
        assert!(
            tmp.is_file() && !dest.exists(),
            "written under the temporary name only"
        );
        drop(o); // an error path: nothing is left, neither the final nor the temporary name
        assert!(!tmp.exists() && !dest.exists());

        let mut o = Output::create(dest.to_str().unwrap()).unwrap();
        o.write_all(b"whole").unwrap();
        o.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
        assert!(!tmp.exists());
        write_atomic(&dest, b"again").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"again");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_destination_names_the_path() {
        let e = Output::create("/nonexistent-dir/x.gs").err().unwrap();
        let msg = e
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        assert_eq!(
            msg,
            "/nonexistent-dir/x.gs: cannot create output (is the directory there and writable?): No such file or directory (os error 2)"
        );
    }
}

/// Parses the command line like `T::parse()`, but a usage error is one line (`error: ... (see
/// --help)`, exit 2) instead of clap's multi-line block, so logs of array jobs stay one line per fault.
pub fn parse_args<T: clap::Parser>() -> T {
    parse_args_given::<T>().0
}

/// [`parse_args`], also returning the long names of the options given on the command line
/// (rather than taken from defaults or the environment).
pub fn parse_args_given<T: clap::Parser>() -> (T, Vec<String>) {
    reset_sigpipe();
    let parsed = T::command().try_get_matches().and_then(|m| {
        let given = m
            .ids()
            .filter(|id| {
                m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
            })
            .map(|id| id.as_str().replace('_', "-"))
            .collect();
        T::from_arg_matches(&m)
            .map(|a| (a, given))
            .map_err(|e| e.format(&mut T::command()))
    });
    match parsed {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            eprintln!("{}", one_line_usage_error(&e.render().to_string()));
            std::process::exit(2);
        }
    }
}

/// Folds clap's rendered error into one line: the message and its details, without the usage block.
fn one_line_usage_error(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty())
        .collect();
    let mut line = parts.join(" ");
    if line.is_empty() {
        line = "error: invalid arguments".into();
    }
    format!("{line} (see --help)")
}

#[cfg(test)]
mod usage_tests {
    #[test]
    fn clap_errors_fold_into_one_line() {
        let text = "error: the following required arguments were not provided:\n  --train <TRAIN>\n  --out <OUT>\n\nUsage: gcn-train --train <TRAIN> --out <OUT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::one_line_usage_error(text),
            "error: the following required arguments were not provided: --train <TRAIN> --out <OUT> (see --help)"
        );
        let text = "error: unexpected argument '-1' found\n\n  tip: to pass '-1' as a value, use '-- -1'\n\nUsage: x [OPTIONS]\n";
        assert_eq!(
            super::one_line_usage_error(text),
            "error: unexpected argument '-1' found tip: to pass '-1' as a value, use '-- -1' (see --help)"
        );
    }
}
