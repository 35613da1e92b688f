#!/usr/bin/env python3
"""Writes a bigger label file by repeating the events of a real one (PyTables, as IC writes).

  replicate.py IN.h5 OUT.h5 REPS

Every copy of every event gets a new dataset_id (ascending), so OUT holds REPS x the events of
IN, ordered by dataset_id like a production file. Only DATASET/MCVoxels is written.
"""
import sys

import numpy as np
import tables as tb

src, dst, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
with tb.open_file(src) as h5:
    rows = h5.root.DATASET.MCVoxels.read()
ids = np.unique(rows["dataset_id"])
step = int(ids.max()) + 1
out = np.concatenate([rows] * reps)
out["dataset_id"] = np.concatenate([rows["dataset_id"] + r * step for r in range(reps)])
with tb.open_file(dst, "w") as h5:
    g = h5.create_group("/", "DATASET")
    h5.create_table(g, "MCVoxels", obj=out, expectedrows=len(out))
print(f"{dst}: {len(out)} rows, {reps * len(ids)} events", file=sys.stderr)
