"""CLI: 10-fold cross-validation of DiffPool on a TU dataset.

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.crossval \\
        ../shared/data/tu/PROTEINS --cluster-nodes 150 --jobs 2 \\
        --out out/cv/PROTEINS

Each fold trains exactly as `diffpool_ref.train --fold K` does (same seed,
same validation split carved from the fold's training graphs, early stopping
on it) and is scored on its TEST fold, which training and model selection
never see. Reports the mean ± standard deviation (population, ddof=0, as
Errica et al. 2020 report) of the test-fold accuracies, and writes into --out:

    summary.json    settings, per-fold results and per-epoch history, mean, std
    curves.png      training and validation loss and accuracy per epoch and fold
    fold-K/         each fold's model directory (config.json, model.safetensors,
                    model.pt, graphs.json of its first --export-graphs test graphs)

Folds run in --jobs worker processes (one torch thread each by default); a
fold's result does not depend on --jobs. With --resume, each fold-K/ that a
previous run completed with the same settings (config.json equal but for the
command and date) is reused instead of retrained; its fold_result.json keeps
the fold's curves.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .cli import run_main
from .tu import NUM_FOLDS

SUMMARY_FILE = "summary.json"
CURVES_FILE = "curves.png"
# Per fold: the fold's summary row with its per-epoch history (for --resume).
FOLD_RESULT_FILE = "fold_result.json"


def parse_folds(text: str) -> List[int]:
    """'1-10', '1,3,5', '2' -> sorted fold numbers in 1..10."""
    folds = set()
    try:
        for part in text.split(","):
            if "-" in part:
                lo, hi = (int(v) for v in part.split("-", 1))
                folds.update(range(lo, hi + 1))
            elif part.strip():
                folds.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad fold list {text!r}") from None
    if not folds or min(folds) < 1 or max(folds) > NUM_FOLDS:
        raise argparse.ArgumentTypeError(f"folds must be in 1..{NUM_FOLDS}, got {text!r}")
    return sorted(folds)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mean_std(values: Sequence[float]):
    """(mean, population std) of `values`."""
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std())


def plot_curves(histories: Dict[int, List[Dict[str, float]]], path: str,
                title: str, best_epochs: Optional[Dict[int, int]] = None) -> None:
    """Training and validation NLL and accuracy per epoch into a PNG (Agg
    backend): each fold thin (training solid, validation dashed), the mean
    over the folds still running at that epoch thick, each fold's selected
    (best validation) epoch as a dot on its validation curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.get_cmap("tab10")
    for ax, key, label in ((axes[0], "nll", "NLL (classification loss)"),
                           (axes[1], "acc", "accuracy")):
        for i, (fold, history) in enumerate(sorted(histories.items())):
            epochs = [row["epoch"] for row in history]
            colour = colours(i % 10)
            ax.plot(epochs, [row[f"train_{key}"] for row in history], color=colour,
                    lw=0.7, alpha=0.45)
            ax.plot(epochs, [row[f"val_{key}"] for row in history], color=colour,
                    lw=0.7, alpha=0.45, ls="--")
            if best_epochs and fold in best_epochs:
                best = history[best_epochs[fold] - 1]
            else:
                best = max(history, key=lambda r: (r["val_acc"], -r["val_nll"]))
            ax.plot([best["epoch"]], [best[f"val_{key}"]], "o", color=colour, ms=3,
                    label=f"fold {fold}" if key == "acc" else None)
        length = max(len(h) for h in histories.values())
        for split, style in (("train", "-"), ("val", "--")):
            mean = [np.mean([h[e][f"{split}_{key}"] for h in histories.values() if len(h) > e])
                    for e in range(length)]
            ax.plot(range(1, length + 1), mean, color="black", lw=2, ls=style,
                    label=f"{'training' if split == 'train' else 'validation'} mean"
                    if key == "acc" else None)
        ax.set(xlabel="epoch", ylabel=label)
        ax.grid(alpha=0.3)
    axes[0].set_title("loss: training solid, validation dashed")
    axes[1].set_title("accuracy (dots: selected epochs)")
    axes[1].legend(fontsize=6.5, ncol=2, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def replot(out: str, path: Optional[str] = None) -> str:
    """Redraws OUT/curves.png (or `path`) from OUT/summary.json."""
    with open(os.path.join(out, SUMMARY_FILE), encoding="utf-8") as f:
        summary = json.load(f)
    path = path or os.path.join(out, CURVES_FILE)
    if not _plot_rows(summary["per_fold"], path, summary["dataset"],
                      summary["test_accuracy_mean"], summary["test_accuracy_std"]):
        raise ValueError(f"{out}/{SUMMARY_FILE}: no fold has a per-epoch history")
    return path


def _plot_rows(rows: List[Dict[str, Any]], path: str, name: str, mean: float,
               std: float) -> bool:
    """Curves of the rows that have a history (folds resumed from a run
    that did not store theirs have none); False when no row has one."""
    shown = [r for r in rows if r.get("history")]
    if not shown:
        return False
    title = (f"{name}: DiffPool, {len(rows)} folds, test accuracy "
             f"{100 * mean:.2f} ± {100 * std:.2f}")
    if len(shown) < len(rows):
        title += f" (curves of folds {', '.join(str(r['fold']) for r in shown)})"
    plot_curves({r["fold"]: r["history"] for r in shown}, path, title,
                {r["fold"]: r["best_epoch"] for r in shown})
    return True


def _run_one_fold(dataset_dir: str, fold: int, args: argparse.Namespace,
                  training: Dict[str, Any], out: str, position: int) -> Dict[str, Any]:
    """Worker: trains and exports one fold; returns its summary row."""
    from .train import export_fold, load_training_dataset, run_fold

    dataset = load_training_dataset(dataset_dir, args)
    result = run_fold(dataset, fold, args, training, progress_position=position)
    row = {"fold": fold, "test_accuracy": result.test_acc, "test_nll": result.test_nll,
           "num_test": len(result.split.test), "num_train": len(result.split.train),
           "num_val": len(result.split.val), "train_accuracy": result.train_acc,
           "val_accuracy": result.stats["val_accuracy"],
           "best_epoch": result.stats["best_epoch"],
           "epochs_run": result.stats["epochs_run"],
           "wall_time_s": round(result.seconds, 1),
           "cpu_time_s": round(result.cpu_seconds, 1),
           "load_average_end": [round(v, 2) for v in os.getloadavg()],
           "history": result.history}
    if out:
        fold_dir = os.path.join(out, f"fold-{fold}")
        export_fold(result, dataset, fold_dir, args.export_graphs)
        with open(os.path.join(fold_dir, FOLD_RESULT_FILE), "w", encoding="utf-8") as f:
            json.dump(row, f, indent=1)
    return row


# config.json "training" keys that describe the run rather than the result.
_RUN_ONLY_KEYS = ("command", "date")
_SPLIT_KEYS = ("num_train", "num_val", "num_test")


def resumable_fold(fold_dir: str, fold: int, expected_config: Dict[str, Any],
                   split_sizes: Dict[str, int]) -> Optional[Dict[str, Any]]:
    """The summary row of a completed fold directory whose settings are those
    of this run, else None (with the reason printed). A fold directory is
    complete when it holds config.json and model.safetensors; it matches
    when every key of its config except the training section's command and
    date equals `expected_config` and its split sizes equal `split_sizes`.
    Since a fold trains deterministically from its settings, retraining it
    would give the same model. The per-epoch history comes from
    fold_result.json when the fold has one (folds written by crossval before
    that file existed have none: they are left out of the curves)."""
    config_path = os.path.join(fold_dir, "config.json")
    if not os.path.isfile(config_path) or \
            not os.path.isfile(os.path.join(fold_dir, "model.safetensors")):
        return None
    try:
        with open(config_path, encoding="utf-8") as f:
            stored = json.load(f)
    except (OSError, ValueError) as err:
        print(f"fold {fold}: retraining, {config_path} unreadable ({err})", flush=True)
        return None
    training = stored.get("training") if isinstance(stored, dict) else None
    if not isinstance(training, dict) or "test_accuracy" not in training:
        print(f"fold {fold}: retraining, {config_path} has no training result", flush=True)
        return None
    expected = json.loads(json.dumps(expected_config))
    differences = sorted(
        [k for k in set(expected) | set(stored) if k != "training"
         and expected.get(k) != stored.get(k)]
        + [f"training.{k}" for k in expected["training"]
           if k not in _RUN_ONLY_KEYS and expected["training"][k] != training.get(k)]
        + [f"training.{k}" for k in _SPLIT_KEYS if training.get(k) != split_sizes[k]]
        + (["training.fold"] if training.get("fold") != fold else []))
    if differences:
        print(f"fold {fold}: retraining, {fold_dir} was trained with other settings "
              f"({', '.join(differences)})", flush=True)
        return None
    row = None
    try:
        with open(os.path.join(fold_dir, FOLD_RESULT_FILE), encoding="utf-8") as f:
            row = json.load(f)
    except (OSError, ValueError):
        pass
    if not isinstance(row, dict) or row.get("fold") != fold or \
            row.get("test_accuracy") != training["test_accuracy"]:
        row = {"fold": fold, "test_accuracy": training["test_accuracy"],
               "test_nll": training.get("test_nll"),
               **{k: training[k] for k in _SPLIT_KEYS},
               "train_accuracy": training.get("train_accuracy"),
               "val_accuracy": training.get("val_accuracy"),
               "best_epoch": training.get("best_epoch"),
               "epochs_run": training.get("epochs_run"),
               "wall_time_s": training.get("train_wall_time_s"),
               "cpu_time_s": training.get("train_cpu_time_s"),
               "load_average_end": None, "history": None}
    row["resumed_from"] = training.get("date")
    return row


def build_parser() -> argparse.ArgumentParser:
    from .train import add_training_arguments

    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.crossval",
        description="10-fold cross-validation of DiffPool on a TU dataset: trains "
                    "each fold with early stopping on a validation split of its "
                    "training graphs and reports mean ± std of the TEST-fold accuracies.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_training_arguments(p)
    p.add_argument("--out", required=True,
                   help="output folder: summary.json, curves.png, fold-K/ model directories")
    p.add_argument("--folds", type=parse_folds, default=list(range(1, NUM_FOLDS + 1)),
                   help="folds to run, e.g. 1-10 or 1,4")
    p.add_argument("--jobs", type=int, default=1, help="folds trained in parallel processes")
    p.add_argument("--export-graphs", type=int, default=10,
                   help="test graphs with reference outputs in each fold's graphs.json")
    p.add_argument("--curves", metavar="PNG",
                   help="where to write the curves (default OUT/curves.png)")
    p.add_argument("--resume", action="store_true",
                   help="reuse each OUT/fold-K that a previous run completed with the "
                        "same settings (training is deterministic) and train the others")
    p.add_argument("--replot", action="store_true",
                   help="only redraw the curves from OUT/summary.json (no training)")
    return p


def run(args: argparse.Namespace, command: str) -> Dict[str, Any]:
    from tqdm import tqdm

    from .train import (check_args, clusters_for, load_training_dataset, make_run_config,
                        make_split, training_settings)

    check_args(args)
    if args.jobs < 1:
        raise ValueError("--jobs must be >= 1")
    if args.export_graphs < 0:
        raise ValueError("--export-graphs must be >= 0")
    started = time.perf_counter()
    load_start = os.getloadavg()
    date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    dataset = load_training_dataset(args.dataset, args)
    for fold in args.folds:
        dataset.fold(fold)  # fail early on a broken split
    training = dict(training_settings(dataset, args), command=command,
                    date=date.isoformat())
    clusters = clusters_for(dataset, args)
    print(f"{dataset.name}: {len(dataset)} graphs, {dataset.num_features} features, "
          f"{dataset.num_classes} classes, max {dataset.max_nodes} nodes; clusters "
          f"{clusters}; folds {args.folds} ({dataset.fold_source}); {args.jobs} jobs x "
          f"{args.threads} threads; CPU {cpu_model()}, {os.cpu_count()} CPUs, "
          f"load {load_start[0]:.1f}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    rows: List[Dict[str, Any]] = []
    to_train = list(args.folds)
    if args.resume:
        to_train = []
        for fold in args.folds:
            split = make_split(dataset, fold, args.val_fraction,
                               np.random.default_rng(args.seed), args.max_train_graphs)
            sizes = {"num_train": len(split.train), "num_val": len(split.val),
                     "num_test": len(split.test)}
            row = resumable_fold(os.path.join(args.out, f"fold-{fold}"), fold,
                                 dict(make_run_config(dataset, args, training),
                                      training=dict(training, fold=fold)), sizes)
            if row is None:
                to_train.append(fold)
            else:
                rows.append(row)
        print(f"resuming: folds {[r['fold'] for r in rows]} reused from {args.out}, "
              f"training {to_train}", flush=True)
    bar = tqdm(total=len(args.folds), initial=len(rows), desc=f"{dataset.name} folds",
               unit="fold", position=0, dynamic_ncols=True, disable=args.no_progress)

    def report(row: Dict[str, Any]) -> None:
        rows.append(row)
        bar.update(1)
        bar.write(f"fold {row['fold']:2d}: test accuracy {row['test_accuracy']:.4f} "
                  f"({round(row['test_accuracy'] * row['num_test'])}/{row['num_test']}), "
                  f"val {row['val_accuracy'] if row['val_accuracy'] is not None else float('nan'):.4f}, "
                  f"best epoch {row['best_epoch']} of {row['epochs_run']}, "
                  f"{row['wall_time_s']:.0f} s wall, {row['cpu_time_s']:.0f} s CPU, "
                  f"load {row['load_average_end'][0]:.1f}")

    try:
        if args.jobs == 1:
            for fold in to_train:
                report(_run_one_fold(args.dataset, fold, args, training, args.out, 1))
        elif to_train:
            with ProcessPoolExecutor(max_workers=args.jobs,
                                     mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(_run_one_fold, args.dataset, fold, args, training,
                                       args.out, 1 + i % args.jobs)
                           for i, fold in enumerate(to_train)]
                for future in as_completed(futures):
                    report(future.result())
    finally:
        bar.close()
    rows.sort(key=lambda r: r["fold"])
    accuracies = [r["test_accuracy"] for r in rows]
    mean, std = mean_std(accuracies)
    seconds = time.perf_counter() - started
    summary = {
        "dataset": dataset.name, "num_graphs": len(dataset),
        "tested_graphs": sum(r["num_test"] for r in rows),
        "distinct_tested_graphs": len({i for f in args.folds for i in dataset.fold(f)[1]}),
        "clusters": clusters, "folds": args.folds,
        "test_accuracy_mean": mean, "test_accuracy_std": std,
        "test_accuracy_pooled": sum(round(r["test_accuracy"] * r["num_test"]) for r in rows)
        / max(1, sum(r["num_test"] for r in rows)),
        "wall_time_s": round(seconds, 1),
        "cpu_time_s": round(sum(r["cpu_time_s"] or 0 for r in rows), 1),
        "trained_folds": to_train,
        "resumed_folds": [r["fold"] for r in rows if "resumed_from" in r],
        "jobs": args.jobs,
        "cpu": cpu_model(), "cpu_count": os.cpu_count(),
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "settings": dict(training, architecture={
            "hidden_channels": args.hidden, "embedding_channels": args.embedding,
            "lin_hidden": args.lin_hidden, "clusters": clusters,
            "normalize": args.normalize}),
        "per_fold": rows,
    }
    with open(os.path.join(args.out, SUMMARY_FILE), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    curves = args.curves or os.path.join(args.out, CURVES_FILE)
    if not _plot_rows(rows, curves, dataset.name, mean, std):
        curves = "no curves (no fold has a stored history)"
    print(f"{dataset.name}: test accuracy {100 * mean:.2f} ± {100 * std:.2f} "
          f"(mean ± std over {len(rows)} folds; per fold "
          f"{', '.join(f'{100 * a:.1f}' for a in accuracies)}); wall time "
          f"{seconds:.0f} s, training CPU time {summary['cpu_time_s']:.0f} s, load "
          f"{summary['load_average_end'][0]:.1f}; wrote {os.path.join(args.out, SUMMARY_FILE)}, {curves}",
          flush=True)
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    def run_or_replot(args: argparse.Namespace, command: str) -> None:
        if args.replot:
            print(f"wrote {replot(args.out, args.curves)}")
        else:
            run(args, command)

    return run_main("crossval", build_parser, run_or_replot, argv)


if __name__ == "__main__":
    sys.exit(main())
