"""The numpy reader against streams written by the Rust tools, checked value by value
against the reference graph JSON files (numpy and pytest only)."""

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import nextgnn_stream as ns  # noqa: E402


def golden_dir():
    d = Path(os.environ.get("NEXTGNN_GOLDEN", ROOT.parent / "shared" / "golden"))
    # A missing reference is a failure, never a skip.
    assert (d / "README.md").is_file(), f"golden reference files not found in {d}"
    return d


@pytest.fixture(scope="session")
def tools():
    """Builds (if needed) and locates json2stream and graphsplit in the workspace target dir."""
    subprocess.run(
        ["cargo", "build", "-q", "-p", "nextgnn-stream", "--example", "json2stream", "-p", "graphsplit"],
        cwd=ROOT, check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
    return {"json2stream": target / "examples" / "json2stream", "graphsplit": target / "graphsplit"}


def golden_files():
    return sorted(golden_dir().glob("graphs_*.json"))


def make_stream(tools, json_path, out, repeat=1):
    subprocess.run([tools["json2stream"], json_path, out, str(repeat)], check=True)
    return out


def assert_same_as_reference(g, ref):
    """Every array equal to the reference JSON's: floats parsed as f64 then cast to f32, bit for bit."""
    f32 = lambda v: np.asarray(v, dtype=np.float64).astype(np.float32)
    n = ref["num_nodes"]
    assert g["num_nodes"] == n
    assert (g["fnum"], g["binclass"]) == (ref["fnum"], ref["binclass"])
    assert g["x"].dtype == np.float32 and g["x"].shape == tuple(ref["shapes"]["x"])
    assert g["x"].tobytes() == f32(ref["x"]).tobytes()
    assert g["edge_index"].dtype == np.int64
    np.testing.assert_array_equal(g["edge_index"], np.asarray(ref["edge_index"], dtype=np.int64))
    assert g["edge_attr"].tobytes() == f32(ref["edge_attr"]).tobytes()
    assert g["edge_weight"].tobytes() == f32(ref["edge_weight"]).tobytes()
    np.testing.assert_array_equal(g["y"], np.asarray(ref["y"], dtype=np.int64).reshape(-1))
    np.testing.assert_array_equal(g["coords"], np.asarray(ref["coords"], dtype=np.int64))
    assert g["coords"].shape == (n, 3)


def test_reference_graphs_read_back_exactly(tools, tmp_path):
    files = golden_files()
    assert len(files) == 5
    for f in files:
        refs = json.loads(f.read_text())
        out = make_stream(tools, f, tmp_path / (f.stem + ".gs"))
        r = ns.StreamReader(out)
        assert len(r.provenance) == 1 and "json2stream" in r.provenance[0]
        assert r.schema["edge_features"] == ["distance", "ener_gradient"]
        graphs = list(r)
        assert [g["dataset_id"] for g in graphs] == [x["dataset_id"] for x in refs]
        for g, ref in zip(graphs, refs):
            assert_same_as_reference(g, ref)


def test_graphsplit_output_and_stdin(tools, tmp_path):
    f = golden_dir() / "graphs_knn6_template.json"
    refs = {x["dataset_id"]: x for x in json.loads(f.read_text())}
    src = make_stream(tools, f, tmp_path / "many.gs", repeat=10)
    res = subprocess.run(
        [tools["graphsplit"], "-", "--prefix", str(tmp_path / "p"), "--fractions", "0.5,0.5,0"],
        stdin=open(src, "rb"), capture_output=True, text=True, check=True,
    )
    assert "train        30 graphs" in res.stdout and "valid        30 graphs" in res.stdout
    train = list(ns.read_stream(tmp_path / "p_train.gs"))
    valid = list(ns.read_stream(tmp_path / "p_valid.gs"))
    assert list(ns.read_stream(tmp_path / "p_test.gs")) == []
    ids = sorted(g["dataset_id"] for g in train + valid)
    assert ids == list(range(60))
    for g in train + valid:
        # json2stream adds copy * (max dataset_id + 1) to each copy's dataset_id.
        assert_same_as_reference(g, refs[g["dataset_id"] % 6])
    # A binary file object works like a path (stdin in a pipeline).
    with open(tmp_path / "p_train.gs", "rb") as fh:
        assert len(list(ns.StreamReader(io.BytesIO(fh.read())))) == 30


def test_concatenation_and_schema_mismatch(tools, tmp_path):
    g = golden_dir()
    a = make_stream(tools, g / "graphs_classic_cloud.json", tmp_path / "a.gs")
    b = make_stream(tools, g / "graphs_synthetic_classic_cloud.json", tmp_path / "b.gs")
    c = make_stream(tools, g / "graphs_classic_nocloud.json", tmp_path / "c.gs")
    ab = a.read_bytes() + b.read_bytes()
    r = ns.StreamReader(io.BytesIO(ab))
    assert len(list(r)) == 9 and len(r.provenance) == 2
    with pytest.raises(ns.StreamError) as e:
        list(ns.StreamReader(io.BytesIO(a.read_bytes() + c.read_bytes())))
    assert f"concatenated stream has a different schema (at byte {len(a.read_bytes())}, after 6 graphs)" in str(e.value)


def test_bad_inputs_raise_stream_error(tools, tmp_path):
    a = make_stream(tools, golden_dir() / "graphs_classic_cloud.json", tmp_path / "a.gs").read_bytes()
    header = 14 + int.from_bytes(a[10:14], "little")
    first = int.from_bytes(a[header:header + 4], "little")
    with pytest.raises(ns.StreamError, match=r"empty input"):
        ns.StreamReader(io.BytesIO(b""))
    with pytest.raises(ns.StreamError, match=r"wrong magic bytes\) \(at byte 0, after 0 graphs\)"):
        ns.StreamReader(io.BytesIO(b"PK\x03\x04 not a stream"))
    cut = a[: header + 4 + first + 50]
    with pytest.raises(ns.StreamError, match=rf"truncated frame: 46 of \d+ bytes .*\(at byte {header + 4 + first}, after 1 graphs\)"):
        list(ns.StreamReader(io.BytesIO(cut)))
    huge = bytearray(a)
    huge[header:header + 4] = (0xFFFFFFFF).to_bytes(4, "little")
    with pytest.raises(ns.StreamError, match=rf"frame length 4294967295 exceeds .* \(at byte {header}, after 0 graphs\)"):
        list(ns.StreamReader(io.BytesIO(bytes(huge))))


def test_mutated_streams_only_raise_stream_error(tools, tmp_path):
    a = make_stream(tools, golden_dir() / "graphs_synthetic_classic_cloud.json", tmp_path / "s.gs").read_bytes()
    rng = random.Random(1234)
    outcomes = {"ok": 0, "error": 0}
    for _ in range(400):
        v = bytearray(a)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(v))
            v[i] = rng.choice([rng.randrange(256), 0, 251, 252, 253, 255])
        try:
            for g in ns.StreamReader(io.BytesIO(bytes(v))):
                n = g["num_nodes"]
                assert g["x"].shape[0] == n and (g["edge_index"] < n).all()
            outcomes["ok"] += 1
        except ns.StreamError as e:
            assert "(at byte" in str(e)
            outcomes["error"] += 1
    assert outcomes["ok"] > 20 and outcomes["error"] > 20, outcomes
