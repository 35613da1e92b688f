#!/usr/bin/env python3
"""The NEXT_GRAPHS graph construction, re-implemented from the rules in shared/golden/README.md
(section 3), for timing voxel2graph against the Python stack it replaces.

Reading as invisible_cities' load_dst (PyTables -> pandas), grouping with pandas, neighbours with
scipy's KDTree (one query per node), the graph with networkx, tensors as float32 numpy arrays.

  reference_graphs.py FILE [--classic] [--cloud-info] [--check GOLDEN_JSON]

Prints `events N graphs M seconds S cpu C` on stdout (wall and CPU seconds). With --check, compares the graphs with a golden
graphs_*.json (exact values and edge order) and fails on any difference.
"""
import argparse
import json
import os
import sys
import time

import networkx as nx
import numpy as np
import pandas as pd
import tables as tb
from scipy.spatial import KDTree


def load_dst(filename, group, node):
    with tb.open_file(filename) as h5:
        table = getattr(getattr(h5.root, group), node).read()
        return pd.DataFrame.from_records(table, columns=table.dtype.names)


def fnum_of(filename):
    return int(os.path.basename(filename).split("_")[-2])


def event_graph(df, features, coords, label, num_neigh, search_neigh, classic, cloud_info, norm):
    nodes = df.reset_index(drop=True)
    x = nodes[features].astype(np.float64)
    if norm:
        x = x / x.sum()
    if cloud_info and "cloud" in nodes.columns:
        ener_sum = nodes["ener"].sum()
        nhits_sum = nodes["nhits"].sum()
        x["cloud_ener"] = nodes["cloud_ener"] / ener_sum
        x["cloud_nhits"] = nodes.groupby("cloud")["nhits"].transform("sum") / nhits_sum
    e = x[features[0]].to_numpy()
    pts = [tuple(r) for r in nodes[coords].to_numpy()]
    tree = KDTree(pts)
    if classic:
        num_neigh, max_dist = 26, np.sqrt(3)
    else:
        max_dist = np.inf
    k = max(search_neigh, num_neigh) + 1
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
        y=(nodes[label].to_numpy() - 1).reshape(-1, 1),
        coords=nodes[coords].to_numpy(),
        edge_index=np.array([src, dst], dtype=np.int64),
        edge_attr=np.array(attr).astype(np.float32),
        edge_weight=np.array(weight).astype(np.float32),
        binclass=nodes["binclass"].iloc[0],
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--table", default="DATASET/MCVoxels")
    ap.add_argument("--classic", action="store_true")
    ap.add_argument("--cloud-info", action="store_true")
    ap.add_argument("--check")
    a = ap.parse_args()
    group, node = a.table.split("/")
    t0 = time.perf_counter()
    c0 = time.process_time()
    df = load_dst(a.file, group, node)
    fnum = fnum_of(a.file)
    graphs, events = [], 0
    for dataset_id, ev in df.groupby("dataset_id"):
        events += 1
        g = event_graph(ev, ["ener", "nhits"], ["x", "y", "z"], "segclass", 6, 20, a.classic, a.cloud_info, True)
        if g is not None:
            g.update(dataset_id=int(dataset_id), fnum=fnum)
            graphs.append(g)
    secs = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(f"events {events} graphs {len(graphs)} seconds {secs:.4f} cpu {cpu:.4f}")
    if a.check:
        gold = json.load(open(a.check))
        assert len(gold) == len(graphs), (len(gold), len(graphs))
        for g, r in zip(graphs, gold):
            for key in ("x", "edge_attr", "edge_weight"):
                want = np.array(r[key], dtype=np.float64).astype(np.float32)
                assert np.array_equal(g[key], want), (key, r["dataset_id"])
            for key in ("y", "coords", "edge_index"):
                assert np.array_equal(g[key], np.array(r[key])), (key, r["dataset_id"])
        print(f"check: {len(gold)} graphs equal {os.path.basename(a.check)}", file=sys.stderr)


if __name__ == "__main__":
    main()
