#!/usr/bin/env bash
# Sourced by the quickstart and the test runner: makes sure the system libraries nextgnn links
# against are present, installing them with apt-get when running as root on Debian/Ubuntu.
# Usage: source scripts/deps.sh; ensure_system_deps

# Debian packages nextgnn needs to build: libhdf5 headers + pkg-config to find them, fontconfig
# for the text in PNG plots, and libclang for the Qhull bindings (voxel2graph --edges delaunay).
NEXTGNN_APT_PACKAGES=(libhdf5-dev pkg-config libfontconfig1-dev fonts-dejavu-core libclang-dev)

ensure_system_deps() {
    # A /dev/null that has become a regular file (something renamed a file over it) feeds stray
    # bytes to every program reading it: rustc then fails to compile "-". Restore the device.
    if [ ! -c /dev/null ] && [ "$(id -u)" -eq 0 ]; then
        echo "nextgnn: /dev/null is not a device; recreating it" >&2
        rm -f /dev/null && mknod -m 666 /dev/null c 1 3
    fi
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    if command -v pkg-config >/dev/null 2>&1; then
        pkg-config --exists hdf5 2>/dev/null || [ -e /usr/include/hdf5/serial/hdf5.h ] || missing+=(libhdf5-dev)
        pkg-config --exists fontconfig 2>/dev/null || missing+=(libfontconfig1-dev)
    else
        missing+=(libhdf5-dev libfontconfig1-dev)
    fi
    [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
    # bindgen loads libclang.so at build time; LIBCLANG_PATH points elsewhere when set. The
    # patterns leave out libclang-cpp.so (a different library, often installed alone), which
    # bindgen does not accept.
    [ -n "${LIBCLANG_PATH:-}" ] || compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null \
        || compgen -G "/usr/lib/*/libclang.so*" >/dev/null \
        || compgen -G "/usr/lib/*/libclang-[0-9]*.so*" >/dev/null || missing+=(libclang-dev)
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "nextgnn: installing system packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "nextgnn: missing system packages: ${missing[*]}" >&2
        echo "  Debian/Ubuntu: sudo apt-get install ${NEXTGNN_APT_PACKAGES[*]}" >&2
        echo "  Fedora/RHEL:   sudo dnf install hdf5-devel pkgconf fontconfig-devel dejavu-sans-fonts clang-devel" >&2
        echo "  cluster:       module load hdf5   (then make sure pkg-config finds it, or set HDF5_DIR)" >&2
        return 1
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "nextgnn: cargo not found: install Rust from your distribution or rustup (Rust >= 1.86)" >&2
        return 1
    fi
}
