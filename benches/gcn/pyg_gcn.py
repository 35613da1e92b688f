"""PyTorch Geometric side of the GCN benchmark: the reference GCNClass layout, trained and
evaluated on the same graph streams as gcn-train, with the same hyperparameters.

Usage: pyg_gcn.py TRAIN.gs VALID.gs TEST.gs --epochs E --batch B --threads T --seed S
Prints one JSON line: train_graphs_per_s, eval_graphs_per_s, test_accuracy, peak_rss_mib.
"""

import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.loader import DataLoader
from torch_geometric.nn import BatchNorm, GCNConv, global_mean_pool

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from nextgnn_stream import read_stream, to_pyg  # noqa: E402


class Block(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.conv = GCNConv(d_in, d_out)
        self.bn = BatchNorm(d_out)


class Head(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_in)
        self.fc2 = nn.Linear(d_in, d_out)


class GCNClass(nn.Module):
    """nconv blocks GCNConv(d -> mult d), BatchNorm, ReLU, dropout; mean pool; heads in reverse."""

    def __init__(self, d, nclass=2, nconv=4, mult=2, p=0.1):
        super().__init__()
        dims = [d * mult**i for i in range(nconv + 1)]
        self.blocks = nn.ModuleList(Block(dims[i], dims[i + 1]) for i in range(nconv))
        heads = [Head(d, nclass)] + [Head(dims[i], dims[i - 1]) for i in range(1, nconv + 1)]
        self.heads = nn.ModuleList(heads)
        self.p = p

    def forward(self, data):
        x = data.x
        for b in self.blocks:
            x = b.conv(x, data.edge_index, data.edge_weight)
            x = F.dropout(F.relu(b.bn(x)), p=self.p, training=self.training)
        x = global_mean_pool(x, data.batch)
        for h in reversed(self.heads):
            x = h.fc2(F.dropout(F.relu(h.fc1(x)), p=self.p, training=self.training))
        return x


def load(path):
    out = []
    for g in read_stream(path):
        d = to_pyg(g)
        d.y_graph = torch.tensor([g["binclass"]])
        out.append(d)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("valid")
    ap.add_argument("test")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--class-weights", default="1,1")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, valid, test = load(a.train), load(a.valid), load(a.test)
    model = GCNClass(train[0].x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.6, patience=10, min_lr=1e-6)
    weights = torch.tensor([float(w) for w in a.class_weights.split(",")])
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    loader = DataLoader(train, batch_size=a.batch, shuffle=True, drop_last=True)
    train_time, train_graphs = 0.0, 0
    for _ in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        for b in loader:
            opt.zero_grad()
            loss = loss_fn(model(b), b.y_graph)
            loss.backward()
            opt.step()
            train_graphs += b.num_graphs
        train_time += time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            vl = [loss_fn(model(b), b.y_graph).item() for b in DataLoader(valid, batch_size=a.batch)]
        sched.step(sum(vl) / len(vl))
    model.eval()
    right, n = 0, 0
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in DataLoader(test, batch_size=a.batch):
            pred = torch.softmax(model(b), dim=1).argmax(dim=1)
            right += int((pred == b.y_graph).sum())
            n += b.num_graphs
    eval_time = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "train_graphs_per_s": train_graphs / train_time,
        "eval_graphs_per_s": n / eval_time,
        "test_accuracy": right / n,
        "peak_rss_mib": rss,
    }))


if __name__ == "__main__":
    main()
