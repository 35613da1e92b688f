"""PyTorch Geometric side of the GCN benchmark: the reference GCNClass layout, trained and
evaluated on the same graph streams as gcn-train, with the same hyperparameters.

Usage: pyg_gcn.py TRAIN.gs VALID.gs TEST.gs --epochs E --batch B --threads T --seed S
                  [--class-weights auto|w0,w1] [--pred PRED.csv]
Prints one JSON line (the last line of stdout) with:
  train_gps_best, train_gps_median  training graphs/s per epoch (wall clock of the training
                                    batches, DataLoader collation included), best and median
  train_cpu_gps_best                the same per second of process CPU time (all threads)
  eval_gps_best, eval_cpu_gps_best  eval-mode graphs/s over the training stream, best of 5 passes,
                                    per second of wall clock and of process CPU time
  test_accuracy, test_auc           on TEST with the weights of the lowest validation loss,
                                    as gcn-predict does with best.ckpt
  best_epoch, peak_rss_mib
--pred writes the test predictions (dataset_id, binclass, class_1) for a look by hand.
"""

import argparse
import copy
import json
import os
import resource
import statistics
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
        d.dataset_id = torch.tensor([g["dataset_id"]])
        out.append(d)
    return out


def auto_weights(train, nclass=2, n=1000):
    """Inverse class frequency over the first n training graphs, normalised to sum 1 (as gcn-train
    and the reference)."""
    count = [0] * nclass
    for d in train[:n]:
        count[int(d.y_graph)] += 1
    inv = [1.0 / c for c in count]
    return [v / sum(inv) for v in inv]


def auc(labels, scores):
    """Area under the ROC curve by the rank-sum formula (ties get the mean rank)."""
    s = torch.tensor(scores, dtype=torch.float64)
    order = torch.argsort(s)
    ranks = torch.empty_like(s)
    ranks[order] = torch.arange(1, len(s) + 1, dtype=torch.float64)
    for v in torch.unique(s):
        tie = s == v
        ranks[tie] = ranks[tie].mean()
    y = torch.tensor(labels, dtype=torch.bool)
    npos, nneg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("valid")
    ap.add_argument("test")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--class-weights", default="auto")
    ap.add_argument("--pred")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, valid, test = load(a.train), load(a.valid), load(a.test)
    model = GCNClass(train[0].x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=5e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.6, patience=10, min_lr=1e-6)
    if a.class_weights == "auto":
        weights = auto_weights(train)
    else:
        weights = [float(w) for w in a.class_weights.split(",")]
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weights))
    loader = DataLoader(train, batch_size=a.batch, shuffle=True, drop_last=True)
    rates, cpu_rates = [], []
    best_loss, best_state, best_epoch = float("inf"), None, 0
    for epoch in range(a.epochs):
        model.train()
        t0, c0, graphs = time.perf_counter(), time.process_time(), 0
        tl = []
        for b in loader:
            opt.zero_grad()
            loss = loss_fn(model(b), b.y_graph)
            loss.backward()
            opt.step()
            graphs += b.num_graphs
            tl.append(loss.item())
        rates.append(graphs / (time.perf_counter() - t0))
        cpu_rates.append(graphs / max(time.process_time() - c0, 1e-9))
        model.eval()
        with torch.no_grad():
            # Mean of the batch losses, as gcn-train and the reference compute it.
            vl = [loss_fn(model(b), b.y_graph).item() for b in DataLoader(valid, batch_size=a.batch)]
            vl = sum(vl) / len(vl)
        sched.step(vl)
        print(f"epoch {epoch + 1} train loss {sum(tl) / len(tl):.5f} valid loss {vl:.5f} "
              f"{rates[-1]:.0f} graphs/s", file=sys.stderr)
        if vl < best_loss:
            best_loss, best_state, best_epoch = vl, copy.deepcopy(model.state_dict()), epoch + 1
    model.eval()
    eval_rates, eval_cpu_rates = [], []
    with torch.no_grad():
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.process_time()
            for b in DataLoader(train, batch_size=a.batch):
                torch.softmax(model(b), dim=1)
            eval_rates.append(len(train) / (time.perf_counter() - t0))
            eval_cpu_rates.append(len(train) / max(time.process_time() - c0, 1e-9))
    model.load_state_dict(best_state)
    labels, scores, ids = [], [], []
    with torch.no_grad():
        for b in DataLoader(test, batch_size=a.batch):
            p = torch.softmax(model(b).double(), dim=1)
            labels += b.y_graph.tolist()
            scores += p[:, 1].tolist()
            ids += b.dataset_id.tolist()
    acc = sum(int(s > 0.5) == y for s, y in zip(scores, labels)) / len(labels)
    if a.pred:
        with open(a.pred, "w") as f:
            f.write("dataset_id,binclass,class_1\n")
            for i, y, s in zip(ids, labels, scores):
                f.write(f"{i},{y},{s!r}\n")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "train_gps_best": max(rates),
        "train_gps_median": statistics.median(rates),
        "train_cpu_gps_best": max(cpu_rates),
        "eval_gps_best": max(eval_rates),
        "eval_cpu_gps_best": max(eval_cpu_rates),
        "test_accuracy": acc,
        "test_auc": auc(labels, scores),
        "best_epoch": best_epoch,
        "peak_rss_mib": rss,
    }))


if __name__ == "__main__":
    main()
