#!/usr/bin/env python3
"""Times voxel2graph and the Python reference construction on the same files, side by side.

  bench.py VOXEL2GRAPH_BINARY GOLDEN_DIR [REPS ...]

For the real label file and REPS-times replicated copies (replicate.py), in the kNN template and
the classic + cloud configurations: voxel2graph on one thread (best of 3 runs, CPU time of the
whole process, start-up included) and reference_graphs.py (one run, CPU time from reading to the
last graph, interpreter start and imports excluded). Events/s per core = events / CPU seconds,
which stays meaningful on a shared, loaded machine. Prints a Markdown table and the ratio.
"""
import os
import resource
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
binary, golden = sys.argv[1], sys.argv[2]
reps_list = [int(r) for r in sys.argv[3:]] or [200]
tmp = tempfile.mkdtemp(prefix="v2g_bench_")
real = os.path.join(golden, "nexus_label_0_doublescape.h5")
inputs = [("nexus_label_0 (real, 6 events)", real)]
for reps in reps_list:
    big = os.path.join(tmp, f"nexus_label_0_x{reps}.h5")
    subprocess.run([sys.executable, os.path.join(here, "replicate.py"), real, big, str(reps)], check=True)
    inputs.append((f"replicated x{reps}", big))

configs = {"knn6 template": ([], []), "classic + cloud": (["--edges", "classic", "--cloud-info"], ["--classic", "--cloud-info"])}


def ours(path, args):
    best = None
    for _ in range(3):
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([binary, "--threads", "1", *args, path, "-o", os.path.join(tmp, "out.gs")],
                           capture_output=True, text=True, check=True)
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        dt = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
        best = dt if best is None else min(best, dt)
    events = int(r.stderr.split(" events read")[0].split()[-1])
    return events, best


def reference(path, args):
    r = subprocess.run([sys.executable, os.path.join(here, "reference_graphs.py"), *args, path],
                       capture_output=True, text=True, check=True)
    f = r.stdout.split()
    return int(f[1]), float(f[7])


print("| input | configuration | events | voxel2graph CPU s | ev/s per core | reference CPU s | ev/s per core | ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for label, path in inputs:
    for name, (oargs, rargs) in configs.items():
        n, t = ours(path, oargs)
        rn, rt = reference(path, rargs)
        assert n == rn, (n, rn)
        print(f"| {label} | {name} | {n} | {t:.4f} | {n / t:,.0f} | {rt:.3f} | {rn / rt:,.1f} | {(n / t) / (rn / rt):,.0f}x |",
              flush=True)
