"""toymc files read with pandas.read_hdf (PyTables), as a user of the production label files would.

Needs pandas and tables; builds the toymc tool with cargo if needed."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
Q_BB = 2.45783


@pytest.fixture(scope="session")
def toymc_file(tmp_path_factory):
    subprocess.run(["cargo", "build", "-q", "-p", "toymc"], cwd=ROOT, check=True)
    exe = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "toymc"
    out = tmp_path_factory.mktemp("toymc")
    subprocess.run(
        [str(exe), "--events", "500", "--kind", "mix", "--signal-fraction", "0.4",
         "--seed", "21", "--file-number", "8", "-o", str(out)],
        check=True,
    )
    f = out / "nexus_label_8_mix.h5"
    assert f.is_file()
    return f


def test_mcvoxels_columns_and_dtypes(toymc_file):
    df = pd.read_hdf(toymc_file, "DATASET/MCVoxels")
    assert list(df.columns) == [
        "x", "y", "z", "ener", "ratio", "segclass", "nhits", "binclass", "dataset_id",
        "elem_ener", "elem", "elem_count", "cloud_ener", "cloud", "cloud_count", "nblob",
        "blob_success",
    ]
    for c in ["x", "y", "z", "segclass", "nhits", "binclass", "nblob"]:
        assert pd.api.types.is_integer_dtype(df[c]), c
    assert df["dataset_id"].dtype == np.int64
    for c in ["ener", "ratio", "elem_ener", "elem_count", "cloud_ener", "cloud_count"]:
        assert df[c].dtype == np.float64, c
    assert df["blob_success"].dtype == bool
    assert df["segclass"].dtype == np.int8 and df["binclass"].dtype == np.int8
    # voxel indices on the default grid (200 x 200 x 325 bins) need 16 bits
    assert df["x"].dtype == np.int16
    assert isinstance(df["elem"].iloc[0], (str, bytes))


def test_mcvoxels_values(toymc_file):
    df = pd.read_hdf(toymc_file, "DATASET/MCVoxels")
    dec = lambda s: s.decode() if isinstance(s, bytes) else s  # noqa: E731
    df["elem"] = df["elem"].map(dec)
    df["cloud"] = df["cloud"].map(dec)
    assert sorted(df["dataset_id"].unique()) == list(range(500))
    # sorted by event then voxel, no duplicate voxels
    keys = df[["dataset_id", "x", "y", "z"]].to_numpy()
    assert (np.lexsort(keys.T[::-1]) == np.arange(len(df))).all()
    assert not df.duplicated(["dataset_id", "x", "y", "z"]).any()
    assert set(df["segclass"].unique()) <= {1, 2, 3}
    assert ((df["ratio"] > 0) & (df["ratio"] <= 1 + 1e-12)).all()
    assert (df["x"] >= 0).all() and (df["x"] < 200).all() and (df["z"] < 325).all()
    ev = df.groupby("dataset_id")
    energy = ev["ener"].sum()
    assert (energy <= Q_BB + 1e-9).all()
    assert energy.median() > 0.98 * Q_BB
    assert 55 <= ev.size().median() <= 100
    assert (ev["binclass"].nunique() == 1).all() and (ev["nblob"].nunique() == 1).all()
    first = ev.first()
    assert (first["blob_success"] == (first["nblob"] == first["binclass"] + 1)).all()
    signal = first["binclass"] == 1
    assert 0.3 < signal.mean() < 0.5
    two_blob = first["nblob"] == 2
    assert two_blob[signal].mean() > 0.7 and two_blob[~signal].mean() < 0.15
    # elements: energy sums, per-class counts, names carry the segclass, string-sorted ranks
    el = df.groupby(["dataset_id", "elem"])
    assert np.allclose(el["ener"].sum(), el["elem_ener"].first())
    assert (df["elem"].str.split("_").str[0].astype(int) == df["segclass"]).all()
    counts = df.groupby(["dataset_id", "segclass"])["elem"].nunique()
    merged = df.join(counts.rename("n"), on=["dataset_id", "segclass"])
    assert (merged["elem_count"] == merged["n"]).all()
    for _, g in df.groupby("dataset_id"):
        clouds = g.groupby("cloud")["ener"].sum()
        assert np.allclose(clouds.sort_index(), g.groupby("cloud")["cloud_ener"].first().sort_index())
        assert (g["cloud_count"] == len(clouds)).all()
        # the k-th most energetic cloud carries the k-th name in string order
        names = sorted(f"c_{k}" for k in range(len(clouds)))
        assert list(clouds.sort_values(ascending=False).index) == names


def test_events_and_bins_info(toymc_file):
    info = pd.read_hdf(toymc_file, "DATASET/EventsInfo")
    vox = pd.read_hdf(toymc_file, "DATASET/MCVoxels")
    assert list(info.columns) == [
        "event_id", "binclass", "dataset_id", "pathname", "basename", "label_pathname",
        "label_basename",
    ]
    assert (info["dataset_id"].to_numpy() == np.arange(500)).all()
    per_event = vox.groupby("dataset_id")["binclass"].first()
    assert (info.set_index("dataset_id")["binclass"] == per_event).all()
    bins = pd.read_hdf(toymc_file, "DATASET/BinsInfo")
    assert len(bins) == 1
    b = bins.iloc[0]
    assert (b["min_x"], b["size_x"], b["size_z"], b["nbins_x"], b["nbins_z"]) == (-500, 5, 4, 201, 326)
    assert b["loss_th"] == 0.25 and np.isclose(b["max_dis"], np.sqrt(3))
