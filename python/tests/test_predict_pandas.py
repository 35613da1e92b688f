"""gcn-predict's HDF5 tables read with pandas.read_hdf (PyTables), as an analysis notebook would.

Runs the built tools found on PATH (scripts/test.sh puts target/debug there): toymc ->
voxel2graph --cloud-info -> gcn-train (1 epoch) -> gcn-predict --format h5 and csv, for event
classification (EventPred) and voxel segmentation (VoxelPred). A missing tool fails the test."""

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TOOLS = ["toymc", "voxel2graph", "gcn-train", "gcn-predict"]

EVENT_COLUMNS = [
    "file_id", "dataset_id", "binclass", "num_nodes", "num_edges", "mean_x", "mean_y", "mean_z",
    "maxE_x", "maxE_y", "maxE_z", "mean_dist", "class_0", "class_1",
]
VOXEL_COLUMNS = [
    "file_id", "dataset_id", "binclass", "x", "y", "z", "energy", "label",
    "class_0", "class_1", "class_2",
]
# Two toymc files; the one with the higher file number goes first into the stream, so that the
# (file_id, dataset_id) order of the predictions is not just the stream's order.
FILES = [(7, 24, 3), (2, 20, 4)]  # (file number, events, seed)
N_EVENTS = sum(n for _, n, _ in FILES)


def tool(name):
    path = shutil.which(name)
    assert path is not None, f"{name} is not on PATH (build it: cargo build -p {name})"
    return path


def run(*args):
    res = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert res.returncode == 0, f"{args[0]} failed:\n{res.stderr}"
    return res.stderr


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    d = tmp_path_factory.mktemp("predict")
    for fnum, events, seed in FILES:
        run(tool("toymc"), "--kind", "mix", "--events", events, "--seed", seed,
            "--file-number", fnum, "-o", d / "mc")
    labels = [d / "mc" / f"nexus_label_{fnum}_mix.h5" for fnum, _, _ in FILES]
    run(tool("voxel2graph"), "--edges", "classic", "--cloud-info", *labels, "-o", d / "all.gs")
    return d, d / "all.gs"


def predict(stream, task):
    """Trains one epoch for `task`, predicts the same stream to HDF5 and to CSV."""
    d, gs = stream
    model = d / task
    run(tool("gcn-train"), "--task", task, "--train", gs, "--valid", gs, "--out", model,
        "--epochs", 1, "--batch", 8, "--seed", 5, "--threads", 1)
    h5, out_csv = d / f"{task}.h5", d / f"{task}.csv"
    err = run(tool("gcn-predict"), "--model", model / "best.ckpt", gs, "--format", "h5", "-o", h5)
    run(tool("gcn-predict"), "--model", model / "best.ckpt", gs, "-o", out_csv, "--batch", 5)
    return h5, out_csv, err


def stream_events(stream):
    """(file_id, dataset_id) -> voxel count, from the toymc label files themselves."""
    d, _ = stream
    out = {}
    for fnum, _, _ in FILES:
        vox = pd.read_hdf(d / "mc" / f"nexus_label_{fnum}_mix.h5", "DATASET/MCVoxels")
        for ev, n in vox.groupby("dataset_id").size().items():
            out[(fnum, ev)] = n
    return out


def assert_sorted(df):
    keys = df[["file_id", "dataset_id"]].to_numpy()
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    assert (order == np.arange(len(df))).all()


def assert_same_as_csv(df, path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(df.columns)
    assert len(rows) - 1 == len(df)
    # Both outputs come from one model in eval mode, and the CSV prints floats in round-trip
    # form, so Python's float() must give back the table's numbers to the last bit.
    for j, c in enumerate(df.columns):
        conv = int if pd.api.types.is_integer_dtype(df[c]) else float
        assert [conv(r[j]) for r in rows[1:]] == df[c].tolist(), c


def test_event_pred_reads_with_pandas(stream):
    h5, out_csv, err = predict(stream, "classification")
    df = pd.read_hdf(h5, "EventPred")
    assert list(df.columns) == EVENT_COLUMNS
    assert len(df) == N_EVENTS
    # maxE_* are voxel indices, as in the reference's table.
    for c in ["file_id", "dataset_id", "binclass", "num_nodes", "num_edges", "maxE_x", "maxE_y",
              "maxE_z"]:
        assert pd.api.types.is_integer_dtype(df[c]), c
    for c in ["mean_x", "mean_y", "mean_z", "mean_dist", "class_0", "class_1"]:
        assert df[c].dtype == np.float64, c
    assert_sorted(df)
    assert sorted(df["file_id"].unique()) == [2, 7]
    sizes = stream_events(stream)
    assert sorted(zip(df["file_id"], df["dataset_id"])) == sorted(sizes)
    # Each event keeps its own voxel count; toymc makes both classes in a mix.
    assert [sizes[k] for k in zip(df["file_id"], df["dataset_id"])] == df["num_nodes"].tolist()
    assert set(df["binclass"]) == {0, 1}
    p = df[["class_0", "class_1"]].to_numpy()
    assert (p > 0).all() and np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (df["mean_dist"] > 0).all()
    # The accuracy gcn-predict prints is the argmax of the table's probabilities.
    acc = ((df["class_1"] > df["class_0"]).astype(int) == df["binclass"]).mean()
    assert f"accuracy {acc:.4f} on {N_EVENTS} events" in err, err
    assert_same_as_csv(df, out_csv)


def test_voxel_pred_reads_with_pandas(stream):
    h5, out_csv, err = predict(stream, "segmentation")
    df = pd.read_hdf(h5, "VoxelPred")
    assert list(df.columns) == VOXEL_COLUMNS
    sizes = stream_events(stream)
    assert len(df) == sum(sizes.values())
    for c in ["file_id", "dataset_id", "binclass", "x", "y", "z", "label"]:
        assert pd.api.types.is_integer_dtype(df[c]), c
    assert_sorted(df)
    per_event = df.groupby(["file_id", "dataset_id"]).size()
    assert per_event.to_dict() == sizes
    # Labels are the voxel classes other/track/blob; the event class is constant in an event.
    assert set(df["label"].unique()) <= {0, 1, 2}
    assert (df.groupby(["file_id", "dataset_id"])["binclass"].nunique() == 1).all()
    assert (df["energy"] > 0).all()
    p = df[["class_0", "class_1", "class_2"]].to_numpy()
    assert (p > 0).all() and np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert "IoU class 0" in err, err
    assert_same_as_csv(df, out_csv)
