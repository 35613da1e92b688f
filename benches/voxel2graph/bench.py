#!/usr/bin/env python3
"""Times voxel2graph and the Python reference construction on the same files, side by side.

  bench.py VOXEL2GRAPH_BINARY GOLDEN_DIR [REPS ...]

Run with a python that has torch, torch_geometric, numpy, pandas, scipy, networkx and tables
(run.sh uses benches/.venv). For the real label file and REPS-times replicated copies
(replicate.py), in the kNN template and the classic + cloud configurations:
- voxel2graph on one thread (best of 5 runs, CPU time of the whole process, start-up and writing
  its output file included);
- reference_graphs.py in full mode (`--output`, one run): torch tensors, torch_geometric Data
  objects and torch.save of the list into the temporary directory, as NEXT_GRAPHS does; CPU time
  from reading the label file to the .pt file written, interpreter start and imports excluded.
  The same work as voxel2graph's: label file in, graph file out;
- reference_graphs.py in arrays-only mode (`--arrays-only`, one run): the same reading and
  construction with numpy arrays kept in memory, nothing written; CPU time up to the last graph.
Both reference runs get OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=MKL_NUM_THREADS=1 (one thread, as
voxel2graph; the temporary directory goes away at the end, also after a failure).
Events/s per core = events / CPU seconds, which stays meaningful on a shared, loaded machine.
Prints a Markdown table with both reference columns and the ratio of voxel2graph's events/s
per core to each.
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
binary, golden = sys.argv[1], sys.argv[2]
reps_list = [int(r) for r in sys.argv[3:]] or [200]
tmp = tempfile.mkdtemp(prefix="v2g_bench_")  # removed at the end, also after a failure

configs = {"knn6 template": ([], []), "classic + cloud": (["--edges", "classic", "--cloud-info"], ["--classic", "--cloud-info"])}


# One thread for the reference too: numpy's OpenBLAS otherwise starts worker threads whose spinning
# adds some 25 ms of CPU time to a run (the whole cost of a 6-event file).
one_thread = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run(cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r


def ours(path, args):
    best = None
    for _ in range(5):
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = run([binary, "--threads", "1", *args, path, "-o", os.path.join(tmp, "out.gs")])
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        dt = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
        best = dt if best is None else min(best, dt)
    events = int(r.stderr.split(" events read")[0].split()[-1])
    return events, best


def reference(path, args, mode):
    r = run([sys.executable, os.path.join(here, "reference_graphs.py"), *args, *mode, path], one_thread)
    f = r.stdout.split()
    return int(f[1]), float(f[7])


def main():
    real = os.path.join(golden, "nexus_label_0_doublescape.h5")
    inputs = [("nexus_label_0 (real, 6 events)", real)]
    for reps in reps_list:
        big = os.path.join(tmp, f"nexus_label_0_x{reps}.h5")
        subprocess.run([sys.executable, os.path.join(here, "replicate.py"), real, big, str(reps)], check=True)
        inputs.append((f"replicated x{reps}", big))

    full = ["--output", os.path.join(tmp, "reference.pt")]
    arrays = ["--arrays-only"]
    print("| input | configuration | events | voxel2graph CPU s | ev/s per core "
          "| reference full CPU s | ev/s per core | reference arrays-only CPU s | ev/s per core "
          "| ratio vs full | ratio vs arrays-only |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, path in inputs:
        for name, (oargs, rargs) in configs.items():
            n, t = ours(path, oargs)
            fn, ft = reference(path, rargs, full)
            an, at = reference(path, rargs, arrays)
            assert n == fn == an, (n, fn, an)
            rate = n / t
            print(f"| {label} | {name} | {n} | {t:.4f} | {rate:,.0f} "
                  f"| {ft:.3f} | {n / ft:,.1f} | {at:.3f} | {n / at:,.1f} "
                  f"| {rate / (n / ft):,.0f}x | {rate / (n / at):,.0f}x |", flush=True)


try:
    main()
finally:
    shutil.rmtree(tmp)
