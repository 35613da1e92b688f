//! nextgnn: end-to-end tests live in `tests/`; the libraries are under `crates/`, the tools under `tools/`.
