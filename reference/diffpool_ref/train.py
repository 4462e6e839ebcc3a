"""CLI: train a DiffPool classifier on one fold of a TU dataset and export it.

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.train \\
        ../shared/data/tu/MUTAG --fold 1 --seed 0 --threads 2 --out out/mutag

Training: Adam on the mean over a mini-batch of each graph's
    NLL(log_softmax) + link_loss_weight * link + entropy_loss_weight * entropy
(the auxiliary losses of DiffPool, per graph, weights stored in the config's
"training" section), gradient-norm clipping, and early stopping on a
validation split carved (stratified, seeded) from the training fold: the
weights of the epoch with the best validation accuracy (ties: lower
validation loss) are kept. Graphs are not padded; a mini-batch stacks them
block-diagonally, so BatchNorm sees all node rows of the batch.

The output directory is a model directory (see diffpool_ref.export) whose
graphs.json holds the first --export-graphs graphs of the test fold with
float64 reference outputs.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import ConfigError, default_clusters, make_config
from .export import GRAPHS_FILE, export_model
from .graphset import tu_records
from .model import DiffPool, GraphBatch, make_batch
from .tu import TUDataset, TUFormatError, load_tu


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
               rng: np.random.Generator) -> Split:
    train, test = dataset.fold(fold)
    train, val = stratified_holdout(train, dataset.labels(), val_fraction, rng)
    if not train:
        raise ValueError("no training graphs left after the validation split")
    return Split(train, val, sorted(test))


class Batches:
    """Builds GraphBatch objects for lists of graph indices of a dataset."""

    def __init__(self, dataset: TUDataset):
        self.graphs = [(torch.from_numpy(dataset.features(i)).float(),
                        torch.from_numpy(dataset.graphs[i].edge_index))
                       for i in range(len(dataset))]
        self.labels = torch.from_numpy(dataset.labels())

    def batch(self, indices: Sequence[int]) -> GraphBatch:
        return make_batch([self.graphs[i] for i in indices], torch.float32)


def minibatches(indices: Sequence[int], batch_size: int,
                rng: np.random.Generator) -> List[List[int]]:
    """A shuffled partition of `indices` into ceil(N / batch_size) batches of
    near-equal size (no tiny last batch for BatchNorm to choke on)."""
    order = rng.permutation(np.asarray(indices))
    parts = max(1, math.ceil(len(order) / batch_size))
    return [part.tolist() for part in np.array_split(order, parts)]


@torch.no_grad()
def evaluate(model: DiffPool, batch: GraphBatch, labels: torch.Tensor):
    """(accuracy, mean NLL) of the eval-mode model."""
    model.eval()
    out = model(batch).out
    loss = F.nll_loss(out, labels).item()
    accuracy = (out.argmax(dim=-1) == labels).double().mean().item()
    return accuracy, loss


def train_model(model: DiffPool, data: Batches, split: Split,
                args: argparse.Namespace, rng: np.random.Generator,
                log=print) -> Dict[str, Any]:
    """Trains `model` in place (ending with the best validation weights);
    returns the run's statistics."""
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    val_batch = data.batch(split.val) if split.val else None
    val_labels = data.labels[split.val]
    best = {"epoch": 0, "accuracy": -1.0, "loss": math.inf,
            "state": copy.deepcopy(model.state_dict())}
    epoch = 0
    for epoch in range(1, args.epochs + 1):
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
        if val_batch is not None:
            val_acc, val_loss = evaluate(model, val_batch, val_labels)
        else:  # no validation split: keep the last epoch
            val_acc, val_loss = 0.0, -float(epoch)
        improved = val_acc > best["accuracy"] or (
            val_acc == best["accuracy"] and val_loss < best["loss"])
        if improved:
            best = {"epoch": epoch, "accuracy": val_acc, "loss": val_loss,
                    "state": copy.deepcopy(model.state_dict())}
        if args.log_every and (epoch % args.log_every == 0 or epoch == 1):
            log(f"epoch {epoch:4d}  loss {total['loss'] / count:.4f}  "
                f"nll {total['nll'] / count:.4f}  link {total['link'] / count:.4f}  "
                f"ent {total['entropy'] / count:.4f}  "
                f"train acc {total['correct'] / count:.3f}  "
                f"val acc {val_acc:.3f}  val nll {val_loss:.4f}"
                + ("  *" if improved else ""))
        if epoch - best["epoch"] >= args.patience:
            log(f"early stop at epoch {epoch}: no better validation result "
                f"since epoch {best['epoch']}")
            break
    model.load_state_dict(best["state"])
    return {"epochs_run": epoch, "best_epoch": best["epoch"],
            "val_accuracy": best["accuracy"] if val_batch is not None else None}


def _sha256(path: str) -> str:
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.train",
        description="Train DiffPool (PyG dense layout) on one fold of a TU "
                    "dataset, report test-fold accuracy, export a model directory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("dataset", help="TU dataset folder, e.g. ../shared/data/tu/MUTAG")
    p.add_argument("--out", required=True, help="output model directory")
    p.add_argument("--fold", type=int, default=1, help="10-fold split to use (1..10)")
    p.add_argument("--epochs", type=int, default=300, help="maximum epochs")
    p.add_argument("--patience", type=int, default=60,
                   help="stop after this many epochs without a better validation result")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of each class of the training fold held out for validation")
    p.add_argument("--hidden", type=int, default=64, help="hidden_channels")
    p.add_argument("--embedding", type=int, default=64, help="embedding_channels")
    p.add_argument("--lin-hidden", type=int, default=64, help="lin_hidden")
    p.add_argument("--clusters", type=parse_clusters, default=None,
                   help="clusters per level, e.g. 7,2 ('' = no pooling); default "
                        "ceil(0.25*max_nodes), then ceil(0.25*previous), --levels times")
    p.add_argument("--levels", type=int, default=2,
                   help="pooling levels when --clusters is not given")
    p.add_argument("--normalize", action="store_true",
                   help="L2-normalize the rows of each convolution's output")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--weight-decay", type=float, default=1e-3,
                   help="Adam weight decay (L2); keeps logits moderate so float32 "
                        "runtimes stay well within 1e-4 of the float64 reference")
    p.add_argument("--batch-size", type=int, default=20, help="graphs per mini-batch")
    p.add_argument("--clip", type=float, default=2.0,
                   help="gradient-norm clipping threshold (0 = off)")
    p.add_argument("--link-weight", type=float, default=1.0,
                   help="weight of the link-prediction loss")
    p.add_argument("--entropy-weight", type=float, default=1.0,
                   help="weight of the assignment-entropy loss")
    p.add_argument("--seed", type=int, default=0, help="seed of everything random")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (0 = torch's default)")
    p.add_argument("--export-graphs", type=int, default=10,
                   help="test-fold graphs written to graphs.json (0 = no graphs.json)")
    p.add_argument("--assignments", action="store_true",
                   help="also write expected_assignments into graphs.json")
    p.add_argument("--log-every", type=int, default=10,
                   help="print a line every N epochs (0 = quiet)")
    return p


def check_args(args: argparse.Namespace) -> None:
    checks = [(args.epochs >= 1, "--epochs must be >= 1"),
              (args.patience >= 1, "--patience must be >= 1"),
              (0 <= args.val_fraction < 1, "--val-fraction must be in [0, 1)"),
              (min(args.hidden, args.embedding, args.lin_hidden) >= 1,
               "--hidden, --embedding and --lin-hidden must be >= 1"),
              (args.levels >= 0, "--levels must be >= 0"),
              (args.lr > 0, "--lr must be > 0"),
              (args.weight_decay >= 0, "--weight-decay must be >= 0"),
              (args.batch_size >= 1, "--batch-size must be >= 1"),
              (args.threads >= 0, "--threads must be >= 0"),
              (args.export_graphs >= 0, "--export-graphs must be >= 0")]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def run(args: argparse.Namespace, command: str) -> Dict[str, Any]:
    """Trains, evaluates and exports; returns the config's training section."""
    check_args(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    dataset = load_tu(args.dataset)
    split = make_split(dataset, args.fold, args.val_fraction, rng)
    clusters = args.clusters if args.clusters is not None else \
        default_clusters(dataset.max_nodes, args.levels)
    training: Dict[str, Any] = {
        "trainer": "diffpool_ref.train", "command": command,
        "date": date.isoformat(), "torch_version": torch.__version__,
        "dataset_file_sha256": _sha256(os.path.join(
            dataset.folder, f"{dataset.name}.txt")),
        "fold": args.fold, "seed": args.seed, "threads": torch.get_num_threads(),
        "optimizer": "adam", "lr": args.lr, "weight_decay": args.weight_decay,
        "batch_size": args.batch_size, "clip_grad_norm": args.clip,
        "link_loss_weight": args.link_weight,
        "entropy_loss_weight": args.entropy_weight,
        "max_epochs": args.epochs, "patience": args.patience,
        "val_fraction": args.val_fraction, "num_train": len(split.train),
        "num_val": len(split.val), "num_test": len(split.test),
    }
    config = make_config(
        num_features=dataset.num_features, num_outputs=dataset.num_classes,
        clusters=clusters, max_nodes=dataset.max_nodes,
        hidden_channels=args.hidden, embedding_channels=args.embedding,
        lin_hidden=args.lin_hidden, normalize=args.normalize,
        output_names=[str(v) for v in dataset.label_values],
        tag_values=dataset.tag_values, dataset=dataset.name, training=training)
    print(f"{dataset.name}: {len(dataset)} graphs, {dataset.num_features} features, "
          f"{dataset.num_classes} classes, max {dataset.max_nodes} nodes; fold "
          f"{args.fold}: train {len(split.train)}, val {len(split.val)}, "
          f"test {len(split.test)}; clusters {clusters}; "
          f"{torch.get_num_threads()} threads")

    model = DiffPool(config)
    data = Batches(dataset)
    stats = train_model(model, data, split, args, rng,
                        log=print if args.log_every else (lambda _: None))
    train_acc, _ = evaluate(model, data.batch(split.train), data.labels[split.train])
    test_acc, test_loss = evaluate(model, data.batch(split.test), data.labels[split.test])
    train_seconds = time.perf_counter() - started
    training.update(stats)
    training.update({"train_accuracy": train_acc, "test_accuracy": test_acc,
                     "test_nll": test_loss, "train_wall_time_s": round(train_seconds, 2)})

    records = tu_records(dataset, split.test[:args.export_graphs], config)
    export_model(model.state_dict(), config, args.out, records, args.assignments)
    print(f"best epoch {stats['best_epoch']} of {stats['epochs_run']}; "
          f"accuracy: train {train_acc:.4f}, val "
          f"{stats['val_accuracy'] if stats['val_accuracy'] is not None else float('nan'):.4f}, "
          f"test (fold {args.fold}, {len(split.test)} graphs) {test_acc:.4f}; "
          f"training {train_seconds:.1f} s")
    print(f"wrote {args.out}" + (f" ({len(records)} graphs in {GRAPHS_FILE})"
                                 if records else ""))
    return training


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    command = "python3 -m diffpool_ref.train " + " ".join(shlex.quote(a) for a in argv)
    try:
        run(args, command)
    except (ConfigError, TUFormatError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
