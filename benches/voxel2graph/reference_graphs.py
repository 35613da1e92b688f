#!/usr/bin/env python3
"""The NEXT_GRAPHS graph construction, re-implemented from the rules in shared/golden/README.md
(section 3), for timing voxel2graph against the Python stack it replaces. Two modes:

- full (`--output FILE.pt`): what NEXT_GRAPHS' `graphDataset` and its create_graphs_from_data.py
  script do, step for step. The table is read whole as invisible_cities' load_dst does (PyTables
  -> pandas, byte-string columns decoded), grouped with pandas `groupby(dataset_id)`, each event
  `reset_index(drop=True)`. Edges: a scipy KDTree over the coordinate tuples, one query per node,
  a networkx Graph, then Python lists of edges / edge features / weights walked from the graph's
  edges and turned into torch tensors. Node features with pandas (division by the column sums;
  with --cloud-info a pandas merge of the per-cloud nhits sums), labels and coordinates as
  tensors, one torch_geometric `Data` per event (events without edges skipped, `fnum`
  attached), and the list written with `torch.save` (uncompressed; `--gzip` writes it through
  gzip instead). Needs torch and torch_geometric besides the packages below.
- arrays only (the default, or `--arrays-only`): the same reading, grouping, KDTree queries and
  networkx graph, but the graph tensors are float32 / int64 numpy arrays kept in memory and
  nothing is written: the construction alone. Needs numpy, pandas, scipy, networkx, tables.

  reference_graphs.py FILE [--classic] [--cloud-info] [--output FILE.pt [--gzip] | --arrays-only]
                           [--check GOLDEN_JSON]

Prints `events N graphs M seconds S cpu C` on stdout: wall and CPU (time.process_time) seconds
from reading FILE to the last graph in memory (arrays only) or to the output file written and
closed (full); interpreter start and imports are not counted. With --check, compares the graphs
with a golden graphs_*.json (exact values, shapes and edge order; in full mode the graphs are
read back from the written file with torch.load, and tensor dtypes are compared too) and fails
on any difference.
"""
import argparse
import gzip
import json
import os
import sys
import time

import networkx as nx
import numpy as np
import pandas as pd
import tables as tb
from scipy.spatial import KDTree

FEATURES = ["ener", "nhits"]
COORDS = ["x", "y", "z"]
LABEL = ["segclass"]
NUM_NEIGH = 6
SEARCH_NEIGH = 20


def load_dst(filename, group, node):
    """As invisible_cities' load_dst: the whole table into a DataFrame, byte strings decoded."""
    with tb.open_file(filename) as h5:
        table = getattr(getattr(h5.root, group), node).read()
    df = pd.DataFrame.from_records(table)
    return df.apply(lambda col: col.str.decode("utf-8") if col.dtype == object else col)


def fnum_of(filename):
    return int(os.path.basename(filename).split("_")[-2])


def neighbour_settings(classic):
    """(num_neigh, k queried, maximum distance) of the classic and the kNN rules."""
    num_neigh = 26 if classic else NUM_NEIGH
    max_dist = np.sqrt(3) if classic else np.inf
    return num_neigh, max(SEARCH_NEIGH, num_neigh) + 1, max_dist


# ---------------------------------------------------------------------------------------------
# Full mode: torch tensors and torch_geometric Data objects, as NEXT_GRAPHS builds them.


def full_edges(torch, event, classic, norm=True):
    num_neigh, k, max_dist = neighbour_settings(classic)
    voxels = [tuple(v) for v in event[COORDS].to_numpy()]
    ener = event[FEATURES[0]].values
    if norm:
        ener = ener / sum(ener)
    tree = KDTree(voxels)
    graph = nx.Graph()
    for i, voxel in enumerate(voxels):
        dist, idx = tree.query(voxel, k=k)
        for d, j in zip(dist[1:num_neigh + 1], idx[1:num_neigh + 1]):
            if d <= max_dist:
                if d == 0:
                    raise ValueError("duplicate voxel")
                graph.add_edge(i, j, d=d)
    edges, edge_features, edge_weights = [], [], []
    for i, j in graph.edges():
        d = graph.edges[(i, j)]["d"]
        edges.extend([[i, j], [j, i]])
        edge_features.extend([[d, abs(ener[i] - ener[j]) / d]] * 2)
        edge_weights.extend([1 / d] * 2)
    return (torch.tensor(edges, dtype=torch.long).T,
            torch.tensor(edge_features, dtype=torch.float),
            torch.tensor(edge_weights, dtype=torch.float))


def full_graphs(df, fnum, classic, cloud_info):
    import torch
    from torch_geometric.data import Data

    dataset = []
    events = 0
    for dataset_id, event in df.groupby("dataset_id"):
        events += 1
        event = event.reset_index(drop=True)
        edge_index, edge_attr, edge_weight = full_edges(torch, event, classic)
        features = event[FEATURES]
        features = features / features.sum()
        if cloud_info and "cloud" in event.columns:
            cloud_nhits = event.groupby("cloud").nhits.sum().rename("cloud_nhits")
            merged = event.merge(cloud_nhits, left_on="cloud", right_index=True, how="left")
            cloud_feat = merged[["cloud_ener", "cloud_nhits"]].divide(
                event[["ener", "nhits"]].sum().values, axis=1)
            x = torch.tensor(features.join(cloud_feat).values, dtype=torch.float)
        else:
            x = torch.tensor(features.values, dtype=torch.float)
        data = Data(x=x, edge_index=edge_index, edge_attr=edge_attr, edge_weight=edge_weight,
                    y=torch.tensor(event[LABEL].values - 1), num_nodes=len(event),
                    coords=torch.tensor(event[COORDS].values), dataset_id=dataset_id,
                    binclass=event.binclass.unique()[0])
        if data.edge_index.numel() == 0:
            continue
        data.fnum = fnum
        dataset.append(data)
    return events, dataset


def save(dataset, output, compress):
    import torch

    if compress:
        with gzip.open(output, "wb") as f:
            torch.save(dataset, f)
    else:
        torch.save(dataset, output)


def load_back(output, compress):
    import torch

    with (gzip.open(output, "rb") if compress else open(output, "rb")) as f:
        return torch.load(f, weights_only=False)


# ---------------------------------------------------------------------------------------------
# Arrays-only mode: the same construction, float32 / int64 numpy arrays in memory.


def array_graph(df, classic, cloud_info, norm=True):
    num_neigh, k, max_dist = neighbour_settings(classic)
    nodes = df.reset_index(drop=True)
    x = nodes[FEATURES].astype(np.float64)
    if norm:
        x = x / x.sum()
    if cloud_info and "cloud" in nodes.columns:
        ener_sum = nodes["ener"].sum()
        nhits_sum = nodes["nhits"].sum()
        x["cloud_ener"] = nodes["cloud_ener"] / ener_sum
        x["cloud_nhits"] = nodes.groupby("cloud")["nhits"].transform("sum") / nhits_sum
    e = x[FEATURES[0]].to_numpy()
    pts = [tuple(r) for r in nodes[COORDS].to_numpy()]
    tree = KDTree(pts)
    graph = nx.Graph()
    for i, p in enumerate(pts):
        dist, idx = tree.query(p, k=k)
        for j in range(1, num_neigh + 1):
            d = dist[j]
            if d > max_dist:
                continue
            if d == 0:
                raise ValueError("duplicate voxel")
            b = int(idx[j])
            graph.add_edge(i, b, d=d, g=abs(e[i] - e[b]) / d)
    src, dst, attr, weight = [], [], [], []
    for a, b, data in graph.edges(data=True):
        for s, t in ((a, b), (b, a)):
            src.append(s)
            dst.append(t)
            attr.append((data["d"], data["g"]))
            weight.append(1 / data["d"])
    if not src:
        return None
    return dict(
        x=x.to_numpy().astype(np.float32),
        y=(nodes[LABEL].to_numpy() - 1),
        coords=nodes[COORDS].to_numpy(),
        edge_index=np.array([src, dst], dtype=np.int64),
        edge_attr=np.array(attr).astype(np.float32),
        edge_weight=np.array(weight).astype(np.float32),
        binclass=nodes["binclass"].iloc[0],
    )


def array_graphs(df, fnum, classic, cloud_info):
    graphs, events = [], 0
    for dataset_id, ev in df.groupby("dataset_id"):
        events += 1
        g = array_graph(ev, classic, cloud_info)
        if g is not None:
            g.update(dataset_id=int(dataset_id), fnum=fnum)
            graphs.append(g)
    return events, graphs


# ---------------------------------------------------------------------------------------------


def check(graphs, golden_path, tensors):
    """Compares graphs (dicts of numpy arrays, or Data objects when tensors) with a golden JSON."""
    gold = json.load(open(golden_path))
    assert len(gold) == len(graphs), (len(gold), len(graphs))
    for g, r in zip(graphs, gold):
        ident = r["dataset_id"]
        for key in ("dataset_id", "fnum", "binclass", "num_nodes"):
            if key == "num_nodes" and not tensors:
                continue
            assert int(g[key]) == r[key], (key, ident, g[key], r[key])
        for key in ("x", "y", "coords", "edge_index", "edge_attr", "edge_weight"):
            value = g[key]
            if tensors:
                assert str(value.dtype) == "torch." + r["dtypes"][key], (key, ident, value.dtype)
                value = value.numpy()
            assert list(value.shape) == r["shapes"][key], (key, ident, value.shape)
            want = np.array(r[key])
            if r["dtypes"][key] == "float32":  # shortest round-trip decimals of float32 values
                want = np.array(r[key], dtype=np.float64).astype(np.float32)
                assert value.dtype == np.float32, (key, ident, value.dtype)
            assert np.array_equal(value, want), (key, ident)
    return len(gold)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--table", default="DATASET/MCVoxels")
    ap.add_argument("--classic", action="store_true")
    ap.add_argument("--cloud-info", action="store_true")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--output", metavar="FILE.pt", help="full mode: PyG Data objects, torch.save to FILE.pt")
    mode.add_argument("--arrays-only", action="store_true", help="numpy arrays in memory, nothing written (default)")
    ap.add_argument("--gzip", action="store_true", help="full mode: write the torch.save stream through gzip")
    ap.add_argument("--check")
    a = ap.parse_args()
    if a.gzip and not a.output:
        ap.error("--gzip needs --output")
    group, node = a.table.split("/")
    if a.output:  # imports before the clock starts
        import torch  # noqa: F401
        import torch_geometric.data  # noqa: F401
    t0 = time.perf_counter()
    c0 = time.process_time()
    df = load_dst(a.file, group, node)
    fnum = fnum_of(a.file)
    if a.output:
        events, graphs = full_graphs(df, fnum, a.classic, a.cloud_info)
        save(graphs, a.output, a.gzip)
    else:
        events, graphs = array_graphs(df, fnum, a.classic, a.cloud_info)
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(f"events {events} graphs {len(graphs)} seconds {secs:.4f} cpu {cpu:.4f}", flush=True)
    if a.check:
        if a.output:
            graphs = load_back(a.output, a.gzip)
        n = check(graphs, a.check, tensors=bool(a.output))
        what = f"graphs read back from {os.path.basename(a.output)}" if a.output else "graphs (arrays)"
        print(f"check: {n} {what} equal {os.path.basename(a.check)}", file=sys.stderr)


if __name__ == "__main__":
    main()
