"""CLI: a structure-agnostic baseline on the same 10 folds as crossval.

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.baseline \\
        ../shared/data/tu/ENZYMES

Each graph becomes one vector that ignores its edges: the sum and the mean
of its node features (with one-hot tags: the count and the share of each
tag; the sum also gives the node count), standardized with the training
graphs' statistics. A one-hidden-layer MLP is trained full-batch with Adam,
with the validation split, early stopping and model selection of
diffpool_ref.train (same seed, same stratified split of the training fold),
and scored on the TEST fold. This is the kind of baseline Errica et al.
(2020) compare graph networks against: it shows how much of a dataset's
accuracy the node features alone carry.
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .crossval import mean_std, parse_folds
from .train import make_split
from .tu import NUM_FOLDS, TUDataset, TUFormatError, load_dataset


def graph_vectors(dataset: TUDataset) -> np.ndarray:
    """[N, 2F]: per graph the sum and the mean of its node features."""
    rows = []
    for i in range(len(dataset)):
        x = dataset.features(i)
        rows.append(np.concatenate([x.sum(axis=0), x.mean(axis=0)]))
    return np.stack(rows)


def run_fold(dataset: TUDataset, vectors: np.ndarray, fold: int,
             args: argparse.Namespace) -> Dict[str, float]:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    split = make_split(dataset, fold, args.val_fraction, rng)
    labels = torch.from_numpy(dataset.labels())
    mean = vectors[split.train].mean(axis=0)
    std = vectors[split.train].std(axis=0)
    std[std == 0] = 1.0
    x = torch.from_numpy((vectors - mean) / std).float()
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], args.hidden), torch.nn.ReLU(),
                                torch.nn.Linear(args.hidden, dataset.num_classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    train, val, test = (torch.tensor(s) for s in (split.train, split.val, split.test))

    def score(idx):
        with torch.no_grad():
            out = model(x[idx])
            return ((out.argmax(-1) == labels[idx]).float().mean().item(),
                    F.cross_entropy(out, labels[idx]).item())

    best = (-1.0, float("inf"), 0, None)
    for epoch in range(1, args.epochs + 1):
        model.train()
        loss = F.cross_entropy(model(x[train]), labels[train])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        acc, nll = score(val)
        if acc > best[0] or (acc == best[0] and nll < best[1]):
            best = (acc, nll, epoch, {k: v.clone() for k, v in model.state_dict().items()})
        if epoch - best[2] >= args.patience:
            break
    model.load_state_dict(best[3])
    return {"fold": fold, "test_accuracy": score(test)[0], "val_accuracy": best[0],
            "train_accuracy": score(train)[0], "best_epoch": best[2]}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.baseline",
        description="Structure-agnostic baseline (MLP on the sum and mean of each "
                    "graph's node features) on the 10 folds crossval uses; reports "
                    "mean ± std of the TEST-fold accuracies.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("dataset", help="TU dataset folder, e.g. ../shared/data/tu/ENZYMES")
    p.add_argument("--folds", type=parse_folds, default=list(range(1, NUM_FOLDS + 1)),
                   help="folds to run, e.g. 1-10 or 1,4")
    p.add_argument("--hidden", type=int, default=32, help="MLP hidden units")
    p.add_argument("--epochs", type=int, default=1000, help="maximum full-batch epochs")
    p.add_argument("--patience", type=int, default=200,
                   help="stop after this many epochs without a better validation result")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="Adam weight decay")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of each class of the training fold held out for validation")
    p.add_argument("--seed", type=int, default=0, help="seed of everything random")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.hidden < 1 or args.epochs < 1 or args.patience < 1 or args.lr <= 0 \
            or args.weight_decay < 0 or not 0 < args.val_fraction < 1:
        print("error: --hidden, --epochs, --patience >= 1, --lr > 0, --weight-decay >= 0, "
              "--val-fraction in (0, 1)", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    try:
        dataset = load_dataset(args.dataset)
    except (TUFormatError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    vectors = graph_vectors(dataset)
    rows: List[Dict[str, float]] = []
    for fold in args.folds:
        rows.append(run_fold(dataset, vectors, fold, args))
        r = rows[-1]
        print(f"fold {fold:2d}: test accuracy {r['test_accuracy']:.4f}, val "
              f"{r['val_accuracy']:.4f}, train {r['train_accuracy']:.4f}, best epoch "
              f"{r['best_epoch']}", flush=True)
    mean, std = mean_std([r["test_accuracy"] for r in rows])
    train_mean = float(np.mean([r["train_accuracy"] for r in rows]))
    print(f"{dataset.name} baseline: test accuracy {100 * mean:.2f} ± {100 * std:.2f} "
          f"(mean ± std over {len(rows)} folds; training accuracy {100 * train_mean:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
