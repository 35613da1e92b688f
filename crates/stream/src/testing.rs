//! Helpers for the project's tests: where the golden reference files live.

use std::path::PathBuf;

/// The golden reference directory: `$NEXTGNN_GOLDEN`, else `shared/golden` beside the checkout.
///
/// Panics (failing the test, never skipping it) when the directory is missing, with what to do.
pub fn golden_dir() -> PathBuf {
    if let Ok(p) = std::env::var("NEXTGNN_GOLDEN") {
        return PathBuf::from(p);
    }
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let cand = dir.join("../shared/golden");
        if cand.join("README.md").is_file() {
            return cand.canonicalize().unwrap_or(cand);
        }
        if !dir.pop() {
            break;
        }
    }
    panic!(
        "golden reference files not found: expected ../shared/golden beside the checkout \
         (or set NEXTGNN_GOLDEN); tests that compare with the reference cannot run without them"
    );
}

/// Path of one golden file, failing the test if it is missing.
pub fn golden(name: &str) -> PathBuf {
    let p = golden_dir().join(name);
    assert!(p.is_file(), "golden file {} is missing", p.display());
    p
}

/// Path of a built tool binary in the workspace target directory (tests run `cargo build` first).
pub fn tool_path(name: &str) -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    let root = loop {
        if dir.join("Cargo.lock").is_file() || !dir.pop() {
            break dir;
        }
    };
    let target = target.unwrap_or_else(|| root.join("target"));
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let p = target.join(profile).join(name);
    assert!(
        p.is_file(),
        "{} not built: run `cargo build --workspace` before the tests",
        p.display()
    );
    p
}
