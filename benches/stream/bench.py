"""Graph stream vs torch.save: bytes per graph and read time of the same graphs.

Run through run.sh, which builds the tools and the stream first. Writes the figures as a
Markdown table on stdout and as JSON to benches/out/stream_bench.json.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

import torch  # noqa: E402
import torch_geometric  # noqa: E402

from nextgnn_stream import read_stream, to_pyg  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def drop_cache(path):
    """Best effort: evict the file from the page cache so reads start cold (needs root; else warm)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    except (OSError, AttributeError):
        pass


def reference_dtypes(d):
    """The reference's graphs keep the label file's integer dtypes (int8 here: golden README),
    so store y, coords and binclass as it does, not widened to int64."""
    d.y = d.y.to(torch.int8)
    d.coords = d.coords.to(torch.int8)
    d.binclass = torch.tensor(d.binclass, dtype=torch.int8)
    return d


def main():
    stream, pt, graphinfo = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    t_save = None
    if not pt.exists() or pt.stat().st_mtime < stream.stat().st_mtime:
        data = [reference_dtypes(to_pyg(g)) for g in read_stream(stream)]
        _, t_save = timed(lambda: torch.save(data, pt))
        del data
    s_bytes, pt_bytes = stream.stat().st_size, pt.stat().st_size

    drop_cache(stream)
    _, t_check = timed(lambda: subprocess.run([graphinfo, "--check", str(stream)], check=True, capture_output=True))
    drop_cache(stream)
    _, t_summary = timed(lambda: subprocess.run([graphinfo, "--json", str(stream)], check=True, capture_output=True))
    drop_cache(stream)
    n, t_py = timed(lambda: sum(1 for _ in read_stream(stream)))
    drop_cache(stream)
    _, t_py_pyg = timed(lambda: [to_pyg(g) for g in read_stream(stream)])
    drop_cache(pt)
    loaded, t_load = timed(lambda: torch.load(pt, weights_only=False))
    assert len(loaded) == n

    res = {
        "graphs": n,
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "stream_bytes": s_bytes,
        "torch_save_bytes": pt_bytes,
        "stream_bytes_per_graph": s_bytes / n,
        "torch_save_bytes_per_graph": pt_bytes / n,
        "ratio": s_bytes / pt_bytes,
        "graphinfo_check_s": t_check,
        "graphinfo_summary_s": t_summary,
        "python_reader_s": t_py,
        "python_reader_to_pyg_s": t_py_pyg,
        "torch_load_s": t_load,
        "torch_save_s": t_save,
    }
    out = ROOT / "benches" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "stream_bench.json").write_text(json.dumps(res, indent=2))
    print(f"| graphs | {n} |")
    print(f"| stream bytes / graph | {s_bytes / n:.0f} |")
    print(f"| torch.save bytes / graph | {pt_bytes / n:.0f} |")
    print(f"| stream / torch.save | {100 * s_bytes / pt_bytes:.1f} % |")
    print(f"| `graphinfo --check` (Rust, decode + validate all) | {t_check:.2f} s |")
    print(f"| `graphinfo --json` (Rust, full summary) | {t_summary:.2f} s |")
    print(f"| Python reader, dicts of numpy arrays | {t_py:.2f} s |")
    print(f"| Python reader + `to_pyg` (list of Data) | {t_py_pyg:.2f} s |")
    print(f"| `torch.load` of the list of Data | {t_load:.2f} s |")
    if t_save is not None:
        print(f"| (`torch.save` of the list, for reference) | {t_save:.2f} s |")


if __name__ == "__main__":
    main()
