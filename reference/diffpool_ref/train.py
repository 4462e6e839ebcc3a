"""CLI: train a DiffPool classifier on one fold of a TU dataset and export it.

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.train \\
        ../shared/data/tu/MUTAG --fold 1 --seed 0 --threads 1 --out out/mutag

Training: Adam on the mean over a mini-batch of each graph's
    NLL(log_softmax) + link_loss_weight * link + entropy_loss_weight * entropy
(the auxiliary losses of DiffPool, per graph, weights stored in the config's
"training" section), gradient-norm clipping, optional dropout before lin2
(training only), and early stopping on a validation split carved
(stratified, seeded) from the training fold: the weights of the epoch with the
best validation accuracy (ties: lower validation NLL; or by NLL alone with
--select loss) are kept. Graphs are not padded: level 1 of a mini-batch is one
block-diagonal sparse graph (model.SparseGraphs), so BatchNorm sees exactly
the batch's node rows. Runs are deterministic for a given seed and thread
count; a fold trains identically here and inside diffpool_ref.crossval.

The output directory is a model directory (see diffpool_ref.export) whose
graphs.json holds the first --export-graphs graphs of the test fold (plus
--export-random seeded edge-case graphs) with float64 reference outputs.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .cli import run_main
from .config import default_clusters, make_config
from .export import GRAPHS_FILE, export_model
from .graphset import random_records, tu_records
from .model import DiffPool, SparseGraphs, make_batch
from .tu import TUDataset, load_dataset

# Graphs per forward pass when evaluating (bounds memory, not results: in
# eval mode a graph's output does not depend on its batch).
EVAL_CHUNK = 256


@dataclass
class Split:
    """Graph indices of the three sets of one training run."""
    train: List[int]
    val: List[int]
    test: List[int]


def stratified_holdout(indices: Sequence[int], labels: np.ndarray,
                       fraction: float, rng: np.random.Generator):
    """Splits `indices` into (kept, held_out), holding out round(fraction *
    count) graphs of each class (at least one when fraction > 0)."""
    kept, held = [], []
    for label in sorted({int(labels[i]) for i in indices}):
        members = [i for i in indices if labels[i] == label]
        rng.shuffle(members)
        count = 0 if fraction <= 0 else max(1, round(fraction * len(members)))
        held += members[:count]
        kept += members[count:]
    return sorted(kept), sorted(held)


def make_split(dataset: TUDataset, fold: int, val_fraction: float,
               rng: np.random.Generator, max_train: int = 0) -> Split:
    """The fold's test split; its training split minus a stratified
    validation split; with max_train > 0 only a seeded random max_train of
    the training graphs are kept (smoke runs; `rng` is not consumed for it)."""
    train, test = dataset.fold(fold)
    train, val = stratified_holdout(train, dataset.labels(), val_fraction, rng)
    if max_train:
        subset = np.random.default_rng(len(train)).permutation(len(train))[:max_train]
        train = sorted(train[i] for i in subset)
    if not train:
        raise ValueError("no training graphs left after the validation split")
    return Split(train, val, sorted(test))


class Batches:
    """Builds SparseGraphs mini-batches for lists of graph indices."""

    def __init__(self, dataset: TUDataset):
        self.graphs = [(torch.from_numpy(dataset.features(i)).float(),
                        torch.from_numpy(dataset.graphs[i].edge_index))
                       for i in range(len(dataset))]
        self.labels = torch.from_numpy(dataset.labels())

    def batch(self, indices: Sequence[int]) -> SparseGraphs:
        return make_batch([self.graphs[i] for i in indices], torch.float32)


def minibatches(indices: Sequence[int], batch_size: int,
                rng: np.random.Generator) -> List[List[int]]:
    """A shuffled partition of `indices` into ceil(N / batch_size) batches of
    near-equal size (no tiny last batch for BatchNorm to choke on)."""
    order = rng.permutation(np.asarray(indices))
    parts = max(1, math.ceil(len(order) / batch_size))
    return [part.tolist() for part in np.array_split(order, parts)]


@torch.no_grad()
def evaluate(model: DiffPool, data: Batches, indices: Sequence[int]):
    """(accuracy, mean NLL) of the eval-mode model on graphs `indices`."""
    model.eval()
    correct, nll = 0, 0.0
    for start in range(0, len(indices), EVAL_CHUNK):
        chunk = list(indices[start:start + EVAL_CHUNK])
        labels = data.labels[chunk]
        out = model(data.batch(chunk)).out
        nll += F.nll_loss(out, labels, reduction="sum").item()
        correct += int((out.argmax(dim=-1) == labels).sum())
    return correct / len(indices), nll / len(indices)


def _better(candidate: Dict[str, float], best: Dict[str, Any], select: str) -> bool:
    if select == "loss":
        return candidate["val_nll"] < best["val_nll"]
    return candidate["val_acc"] > best["val_acc"] or (
        candidate["val_acc"] == best["val_acc"] and candidate["val_nll"] < best["val_nll"])


def train_model(model: DiffPool, data: Batches, split: Split,
                args: argparse.Namespace, rng: np.random.Generator,
                log: Callable[[str], None] = print,
                progress: Optional[Any] = None) -> Dict[str, Any]:
    """Trains `model` in place (ending with the best validation weights);
    returns the run's statistics, with "history": one dict per epoch
    (train loss/nll/link/entropy/accuracy over the epoch's mini-batches,
    validation accuracy and NLL, seconds). `progress`: a tqdm bar advanced
    once per epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    best = {"epoch": 0, "val_acc": -1.0, "val_nll": math.inf,
            "state": copy.deepcopy(model.state_dict())}
    history: List[Dict[str, float]] = []
    epoch = 0
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        total = {"loss": 0.0, "nll": 0.0, "link": 0.0, "entropy": 0.0, "correct": 0}
        for indices in minibatches(split.train, args.batch_size, rng):
            labels = data.labels[indices]
            output = model(data.batch(indices))
            nll = F.nll_loss(output.out, labels, reduction="none")
            per_graph = (nll + args.link_weight * output.link_loss
                         + args.entropy_weight * output.entropy_loss)
            loss = per_graph.mean()
            optimizer.zero_grad()
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            total["loss"] += per_graph.sum().item()
            total["nll"] += nll.sum().item()
            total["link"] += output.link_loss.sum().item()
            total["entropy"] += output.entropy_loss.sum().item()
            total["correct"] += int((output.out.argmax(-1) == labels).sum())
        count = len(split.train)
        if split.val:
            val_acc, val_nll = evaluate(model, data, split.val)
        else:  # no validation split: keep the last epoch
            val_acc, val_nll = 0.0, -float(epoch)
        row = {"epoch": epoch, "train_loss": total["loss"] / count,
               "train_nll": total["nll"] / count, "link": total["link"] / count,
               "entropy": total["entropy"] / count,
               "train_acc": total["correct"] / count,
               "val_acc": val_acc, "val_nll": val_nll,
               "seconds": round(time.perf_counter() - started, 3)}
        history.append(row)
        improved = _better(row, best, args.select)
        if improved:
            best = {"epoch": epoch, "val_acc": val_acc, "val_nll": val_nll,
                    "state": copy.deepcopy(model.state_dict())}
        if progress is not None:
            progress.set_postfix_str(
                f"loss {row['train_loss']:.3f} val {val_acc:.3f} "
                f"best {best['val_acc']:.3f}@{best['epoch']}", refresh=False)
            progress.update(1)
        if args.log_every and (epoch % args.log_every == 0 or epoch == 1):
            log(f"epoch {epoch:4d}  loss {row['train_loss']:.4f}  "
                f"nll {row['train_nll']:.4f}  link {row['link']:.4f}  "
                f"ent {row['entropy']:.4f}  train acc {row['train_acc']:.3f}  "
                f"val acc {val_acc:.3f}  val nll {val_nll:.4f}"
                + ("  *" if improved else ""))
        if epoch - best["epoch"] >= args.patience:
            log(f"early stop at epoch {epoch}: no better validation result "
                f"since epoch {best['epoch']}")
            break
    model.load_state_dict(best["state"])
    return {"epochs_run": epoch, "best_epoch": best["epoch"],
            "val_accuracy": best["val_acc"] if split.val else None,
            "history": history}


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_clusters(text: str) -> List[int]:
    try:
        clusters = [int(k) for k in text.split(",") if k.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad cluster list {text!r}") from None
    if any(k < 1 for k in clusters):
        raise argparse.ArgumentTypeError("cluster counts must be >= 1")
    return clusters


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    """Architecture, optimization and run options shared by train and crossval."""
    p.add_argument("dataset", help="TU dataset folder, text format (DS/DS.txt) or "
                                   "raw format (DS/DS_A.txt ...), e.g. ../shared/data/tu/MUTAG")
    g = p.add_argument_group("architecture")
    g.add_argument("--hidden", type=int, default=64, help="hidden_channels")
    g.add_argument("--embedding", type=int, default=64, help="embedding_channels")
    g.add_argument("--lin-hidden", type=int, default=64, help="lin_hidden")
    g.add_argument("--clusters", type=parse_clusters, default=None,
                   help="clusters per level, e.g. 7,2 ('' = no pooling); default "
                        "ceil(ratio*N), then ceil(ratio*previous), --levels times, "
                        "N = --cluster-nodes")
    g.add_argument("--levels", type=int, default=2,
                   help="pooling levels when --clusters is not given")
    g.add_argument("--cluster-ratio", type=float, default=0.25,
                   help="clusters per node of the previous level (default clusters)")
    g.add_argument("--cluster-nodes", type=int, default=0,
                   help="node count the default clusters derive from (0 = the "
                        "dataset's largest graph; PyG's PROTEINS example uses 150)")
    g.add_argument("--normalize", action="store_true",
                   help="L2-normalize the rows of each convolution's output")
    g = p.add_argument_group("features")
    g.add_argument("--degree-features", type=int, default=None, metavar="D",
                   help="append each node's one-hot in-degree to its one-hot tag: "
                        "D + 1 columns, degree 0 .. D-1 and '>= D' (config feature_spec "
                        "one_hot_tag_degree; datasets without continuous attributes; "
                        "default: off)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=300, help="maximum epochs")
    g.add_argument("--patience", type=int, default=60,
                   help="stop after this many epochs without a better validation result")
    g.add_argument("--select", choices=("accuracy", "loss"), default="accuracy",
                   help="validation criterion of early stopping and model selection "
                        "(accuracy: ties broken by lower NLL)")
    g.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of each class of the training fold held out for validation")
    g.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    g.add_argument("--weight-decay", type=float, default=1e-3,
                   help="Adam weight decay (L2); keeps logits moderate so float32 "
                        "runtimes stay well within 1e-4 of the float64 reference")
    g.add_argument("--batch-size", type=int, default=20, help="graphs per mini-batch")
    g.add_argument("--clip", type=float, default=2.0,
                   help="gradient-norm clipping threshold (0 = off)")
    g.add_argument("--link-weight", type=float, default=1.0,
                   help="weight of the link-prediction loss")
    g.add_argument("--entropy-weight", type=float, default=1.0,
                   help="weight of the assignment-entropy loss")
    g.add_argument("--dropout", type=float, default=0.0,
                   help="dropout before lin2, training only (not part of the exported model)")
    g.add_argument("--max-train-graphs", type=int, default=0,
                   help="train on only the first N training graphs (smoke runs; 0 = all)")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=0, help="seed of everything random")
    g.add_argument("--threads", type=int, default=1,
                   help="torch threads per training process (0 = torch's default)")
    g.add_argument("--log-every", type=int, default=0,
                   help="print a line every N epochs (0 = only the progress bar)")
    g.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")


def check_args(args: argparse.Namespace) -> None:
    checks = [(args.epochs >= 1, "--epochs must be >= 1"),
              (args.patience >= 1, "--patience must be >= 1"),
              (0 <= args.val_fraction < 1, "--val-fraction must be in [0, 1)"),
              (min(args.hidden, args.embedding, args.lin_hidden) >= 1,
               "--hidden, --embedding and --lin-hidden must be >= 1"),
              (args.levels >= 0, "--levels must be >= 0"),
              (args.degree_features is None or 0 <= args.degree_features <= 1024,
               "--degree-features must be in 0..1024"),
              (0 < args.cluster_ratio <= 1, "--cluster-ratio must be in (0, 1]"),
              (args.cluster_nodes >= 0, "--cluster-nodes must be >= 0"),
              (args.lr > 0, "--lr must be > 0"),
              (args.weight_decay >= 0, "--weight-decay must be >= 0"),
              (args.batch_size >= 1, "--batch-size must be >= 1"),
              (0 <= args.dropout < 1, "--dropout must be in [0, 1)"),
              (args.max_train_graphs >= 0, "--max-train-graphs must be >= 0"),
              (args.threads >= 0, "--threads must be >= 0"),
              (args.link_weight >= 0 and args.entropy_weight >= 0,
               "--link-weight and --entropy-weight must be >= 0")]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def load_training_dataset(folder: str, args: argparse.Namespace) -> TUDataset:
    """load_dataset plus the feature options of `args` (--degree-features)."""
    dataset = load_dataset(folder)
    dataset.use_degree_features(getattr(args, "degree_features", None))
    return dataset


def clusters_for(dataset: TUDataset, args: argparse.Namespace) -> List[int]:
    if args.clusters is not None:
        return list(args.clusters)
    return default_clusters(args.cluster_nodes or dataset.max_nodes, args.levels,
                            args.cluster_ratio)


def make_run_config(dataset: TUDataset, args: argparse.Namespace,
                    training: Dict[str, Any]) -> Dict[str, Any]:
    """config.json for `dataset` and the architecture options of `args`."""
    return make_config(
        num_features=dataset.num_features, num_outputs=dataset.num_classes,
        clusters=clusters_for(dataset, args), max_nodes=dataset.max_nodes,
        hidden_channels=args.hidden, embedding_channels=args.embedding,
        lin_hidden=args.lin_hidden, normalize=args.normalize,
        output_names=[str(v) for v in dataset.label_values],
        feature_spec=dataset.feature_spec(), dataset=dataset.name, training=training)


def training_settings(dataset: TUDataset, args: argparse.Namespace) -> Dict[str, Any]:
    """The run-independent part of config.json's training section."""
    return {
        "trainer": "diffpool_ref.train", "torch_version": torch.__version__,
        "dataset_format": dataset.format,
        "dataset_files_sha256": {os.path.basename(p): sha256_of(p)
                                 for p in dataset.data_files},
        "folds": dataset.fold_source,
        "seed": args.seed, "threads": args.threads,
        "optimizer": "adam", "lr": args.lr, "weight_decay": args.weight_decay,
        "batch_size": args.batch_size, "clip_grad_norm": args.clip,
        "link_loss_weight": args.link_weight,
        "entropy_loss_weight": args.entropy_weight, "dropout": args.dropout,
        "max_epochs": args.epochs, "patience": args.patience, "select": args.select,
        "val_fraction": args.val_fraction,
    }


@dataclass
class FoldResult:
    fold: int
    model: DiffPool
    config: Dict[str, Any]
    split: Split
    stats: Dict[str, Any]
    train_acc: float
    test_acc: float
    test_nll: float
    seconds: float
    cpu_seconds: float
    history: List[Dict[str, float]] = field(default_factory=list)


def run_fold(dataset: TUDataset, fold: int, args: argparse.Namespace,
             training: Dict[str, Any], log: Callable[[str], None] = print,
             progress_position: int = 0) -> FoldResult:
    """Trains on fold `fold` (seeded by args.seed alone, so a fold's result
    does not depend on which other folds ran before it, or where)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    split = make_split(dataset, fold, args.val_fraction, rng, args.max_train_graphs)
    training = dict(training, fold=fold, num_train=len(split.train),
                    num_val=len(split.val), num_test=len(split.test))
    config = make_run_config(dataset, args, training)
    model = DiffPool(config, dropout=args.dropout)
    data = Batches(dataset)
    progress = None
    if not args.no_progress:
        from tqdm import tqdm
        progress = tqdm(total=args.epochs, desc=f"{dataset.name} fold {fold:2d}",
                        unit="epoch", position=progress_position, leave=False,
                        dynamic_ncols=True, mininterval=1.0)
        log = progress.write if args.log_every else log
    try:
        stats = train_model(model, data, split, args, rng, log=log, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    train_acc, _ = evaluate(model, data, split.train)
    test_acc, test_nll = evaluate(model, data, split.test)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    history = stats.pop("history")
    training.update(stats)
    training.update({"train_accuracy": train_acc, "test_accuracy": test_acc,
                     "test_nll": test_nll, "train_wall_time_s": round(seconds, 2),
                     "train_cpu_time_s": round(cpu_seconds, 2)})
    config["training"] = training
    return FoldResult(fold, model, config, split, stats, train_acc, test_acc,
                      test_nll, seconds, cpu_seconds, history)


def export_fold(result: FoldResult, dataset: TUDataset, out: str, export_graphs: int,
                export_random: int = 0, assignments: bool = False) -> int:
    """Writes the fold's model directory; graphs.json holds the first
    `export_graphs` test graphs and `export_random` seeded random graphs
    (1 node, no edges, isolated nodes, max_nodes, then random). Returns the
    number of graphs written."""
    records = tu_records(dataset, result.split.test[:export_graphs], result.config)
    records += random_records(export_random, result.fold, result.config)
    export_model(result.model.state_dict(), result.config, out, records, assignments)
    return len(records)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.train",
        description="Train DiffPool (PyG dense layout) on one fold of a TU "
                    "dataset, report test-fold accuracy, export a model directory. "
                    "For 10-fold cross-validation use diffpool_ref.crossval.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_training_arguments(p)
    p.add_argument("--out", required=True, help="output model directory")
    p.add_argument("--fold", type=int, default=1, help="10-fold split to use (1..10)")
    p.add_argument("--export-graphs", type=int, default=10,
                   help="test-fold graphs written to graphs.json")
    p.add_argument("--export-random", type=int, default=0,
                   help="seeded random edge-case graphs added to graphs.json")
    p.add_argument("--assignments", action="store_true",
                   help="also write expected_assignments into graphs.json")
    p.add_argument("--curves", metavar="PNG",
                   help="also plot training and validation curves into PNG")
    return p


def run(args: argparse.Namespace, command: str) -> Dict[str, Any]:
    """Trains one fold, evaluates and exports; returns the config's training section."""
    check_args(args)
    if args.export_graphs < 0 or args.export_random < 0:
        raise ValueError("--export-graphs and --export-random must be >= 0")
    date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    dataset = load_training_dataset(args.dataset, args)
    training = dict(training_settings(dataset, args), command=command,
                    date=date.isoformat())
    print(f"{dataset.name}: {len(dataset)} graphs, {dataset.num_features} features, "
          f"{dataset.num_classes} classes, max {dataset.max_nodes} nodes; clusters "
          f"{clusters_for(dataset, args)}; fold {args.fold} ({dataset.fold_source})")
    result = run_fold(dataset, args.fold, args, training)
    count = export_fold(result, dataset, args.out, args.export_graphs, args.export_random,
                        args.assignments)
    if args.curves:
        from .crossval import plot_curves
        plot_curves({args.fold: result.history}, args.curves,
                    f"{dataset.name} fold {args.fold}: test accuracy {result.test_acc:.4f}",
                    {args.fold: result.stats["best_epoch"]})
    stats, split = result.stats, result.split
    val = stats["val_accuracy"] if stats["val_accuracy"] is not None else float("nan")
    print(f"train {len(split.train)}, val {len(split.val)}, test {len(split.test)} "
          f"graphs; best epoch {stats['best_epoch']} of {stats['epochs_run']}; "
          f"accuracy: train {result.train_acc:.4f}, val {val:.4f}, "
          f"test (fold {args.fold}, {len(split.test)} graphs) {result.test_acc:.4f}; "
          f"training {result.seconds:.1f} s wall, {result.cpu_seconds:.1f} s CPU")
    print(f"wrote {args.out}" + (f" ({count} graphs in {GRAPHS_FILE})" if count else ""))
    return result.config["training"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_main("train", build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
