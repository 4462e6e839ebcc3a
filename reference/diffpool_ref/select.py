"""CLI: per-fold hyperparameter selection from a grid (Errica et al. 2020's
protocol, one training run per setting), then the test accuracy of the
picked settings.

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.select \\
        ../shared/data/tu/ENZYMES --grid reference/grids/enzymes.json \\
        --jobs 2 --resume --out out/select/ENZYMES

The grid file is JSON:

    {"base": ["--epochs", "200", "--patience", "60"],
     "configs": {"2-levels": [],
                 "1-level": ["--levels", "1", "--cluster-ratio", "0.1"]}}

"base" holds options every setting gets and "configs" one list of options
per setting (any training or architecture option of diffpool_ref.crossval;
the run options --out, --folds, --jobs, --resume, --no-progress, --curves and
--replot are the driver's). For each setting the driver runs
diffpool_ref.crossval into OUT/NAME/ (fold-K/ model directories,
summary.json, curves.png). Every fold of every setting trains on the same
graphs (the fold's training graphs minus its validation split, which the seed
alone determines) and is early-stopped on that validation split.

Selection, for each outer fold separately: the setting whose kept weights
have the best validation accuracy; ties go to the lower validation NLL, then
to the setting listed first. Only validation results enter the choice: the
selection function is handed records that have no test field at all. The
fold's score is the TEST accuracy of the picked setting's model on the
fold's test graphs, which neither training, early stopping nor the choice
ever saw. Reported: mean ± population std of those 10 scores, which setting
each fold picked, and (for information only, never used to choose) every
setting's own test accuracies.

--retrain R (default 0: the score above) adds the rest of Errica et al.'s
protocol after the choice: each fold's picked setting is trained R more
times on that outer fold, run r (1..R) with seed SEED + 1000*r, SEED being
the setting's own --seed (from its grid options, default 0). Each run trains
exactly as crossval does: on the fold's training graphs minus a stratified
validation split that is drawn with the run's seed (so it differs from run
to run and from the selection run's split), early-stopped on it, scored on
the fold's test graphs. The fold's score is then the mean of the R test
accuracies; summary.json keeps every run's numbers and the selection
model's own test accuracy. Run r of setting NAME trains by crossval into
OUT/_retrain/run-r/NAME/ over the folds that picked NAME, so --jobs and
--resume (a finished run is reused) act on it as on the grid. The choice is
made before anything is retrained and the retrain runs cannot change it.

With --resume every OUT/NAME/fold-K that a previous run completed with the
same settings is reused (crossval --resume: config.json compared field by
field) and only the rest is trained; --reuse NAME=DIR first copies DIR's
fold-K directories that OUT/NAME lacks (e.g. an earlier crossval run of the
same setting), and the same check then decides whether each copy is reused
or retrained.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import crossval
from .cli import run_main
from .tu import NUM_FOLDS, load_dataset

SUMMARY_FILE = "summary.json"
GRID_FILE = "grid.json"
# --retrain: run r of setting NAME trains into OUT/_retrain/run-r/NAME/fold-K
# (a setting name cannot start with "_", so no setting folder collides).
RETRAIN_DIR = "_retrain"
RETRAIN_SEED_STEP = 1000
# Options of crossval that the driver sets itself (not allowed in a grid).
DRIVER_OPTIONS = ("--out", "--folds", "--jobs", "--resume", "--no-progress",
                  "--curves", "--replot", "--help", "-h")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class GridError(ValueError):
    pass


@dataclass(frozen=True)
class Validation:
    """What model selection may see of one (setting, fold) run: its
    validation results, and nothing of the test fold."""
    config: str
    val_accuracy: float
    val_nll: float


def pick(candidates: Sequence[Validation]) -> Validation:
    """The best of one fold's candidates (given in grid order): highest
    validation accuracy, then lowest validation NLL (NaN counts as worst),
    then the first listed."""
    if not candidates:
        raise ValueError("no candidate to pick from")
    for c in candidates:
        if not isinstance(c, Validation):
            raise TypeError(f"pick() takes Validation records, got {type(c).__name__}")
    def key(c: Validation):
        nll = c.val_nll if c.val_nll == c.val_nll else float("inf")
        return (-c.val_accuracy, nll)

    return min(candidates, key=key)  # min keeps the first of equal keys


def select_per_fold(results: Dict[str, Dict[int, Dict[str, Any]]],
                    order: Sequence[str]) -> Dict[int, str]:
    """fold -> picked setting, from results[setting][fold] rows (crossval
    summary rows plus "val_nll"). Each row is reduced to its Validation
    record before the choice, so test results cannot influence it."""
    folds = sorted({f for rows in results.values() for f in rows})
    picked = {}
    for fold in folds:
        missing = [name for name in order if fold not in results[name]]
        if missing:
            raise ValueError(f"fold {fold}: no result for {', '.join(missing)}")
        candidates = []
        for name in order:
            row = results[name][fold]
            if row.get("val_accuracy") is None or row.get("val_nll") is None:
                raise ValueError(f"{name} fold {fold}: no validation result "
                                 "(selection needs --val-fraction > 0)")
            candidates.append(Validation(name, float(row["val_accuracy"]),
                                         float(row["val_nll"])))
        picked[fold] = pick(candidates).config
    return picked


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise GridError(f"duplicate keys {duplicated}")
    return dict(pairs)


def load_grid(path: str) -> Dict[str, Any]:
    """Reads and checks a grid file; returns {"base": [...], "configs":
    {name: [...]}} (configs in file order)."""
    try:
        with open(path, encoding="utf-8") as f:
            grid = json.load(f, object_pairs_hook=_no_duplicates)
    except GridError as err:
        raise GridError(f"{path}: {err}") from None
    except ValueError as err:
        raise GridError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(grid, dict) or set(grid) - {"base", "configs", "comment"}:
        raise GridError(f"{path}: expected an object with \"configs\" and optional "
                        "\"base\" and \"comment\"")
    base = grid.get("base", [])
    configs = grid.get("configs")
    if not isinstance(configs, dict) or not configs:
        raise GridError(f"{path}: \"configs\" must be a non-empty object")
    for name, options in [("base", base)] + list(configs.items()):
        if name != "base" and not _NAME.match(name):
            raise GridError(f"{path}: bad setting name {name!r} (letters, digits, "
                            "'_', '.', '+', '-'; it names a folder)")
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise GridError(f"{path}: {name}: options must be a list of strings")
        for option in options:
            if option.split("=", 1)[0] in DRIVER_OPTIONS:
                raise GridError(f"{path}: {name}: {option} is set by the driver, "
                                "not by the grid")
    return {"base": list(base), "configs": dict(configs)}


def crossval_args(dataset: str, grid: Dict[str, Any], name: str, out: str,
                  args: argparse.Namespace, folds: Optional[Sequence[int]] = None,
                  extra: Sequence[str] = ()) -> List[str]:
    """crossval's command line for setting `name` into OUT/NAME; `extra`
    options come after the setting's own (so they override them)."""
    argv = [dataset, *grid["base"], *grid["configs"][name], *extra, "--out",
            os.path.join(out, name), "--jobs", str(args.jobs),
            "--folds", ",".join(map(str, folds or args.folds))]
    if args.resume:
        argv.append("--resume")
    if args.no_progress:
        argv.append("--no-progress")
    return argv


def parse_crossval(argv: List[str], name: str) -> argparse.Namespace:
    """crossval's parser on a setting's options; a bad option is a GridError
    naming the setting (not argparse's exit)."""
    parser = crossval.build_parser()
    parser.exit_on_error = False
    try:
        known, unknown = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit) as err:
        raise GridError(f"setting {name}: bad options {argv[1:]} ({err})") from None
    if unknown:
        raise GridError(f"setting {name}: unknown options {unknown}")
    return known


def validation_nll(row: Dict[str, Any], fold_dir: str, dataset, cv_args) -> float:
    """The validation NLL of a fold's kept weights: from its history at the
    best epoch, else (folds resumed from runs that stored no history) by
    evaluating the exported model on the fold's validation split, whose
    accuracy must then equal the stored one."""
    history, best = row.get("history"), row.get("best_epoch")
    if history and best and 1 <= best <= len(history) and history[best - 1]["epoch"] == best:
        return float(history[best - 1]["val_nll"])
    from . import safetensors
    from .config import load_config
    from .model import DiffPool, load_state
    import torch

    from .train import Batches, evaluate, make_split

    if cv_args.threads:
        torch.set_num_threads(cv_args.threads)
    config = load_config(os.path.join(fold_dir, "config.json"))
    model = DiffPool(config)
    load_state(model, safetensors.load_file(os.path.join(fold_dir, "model.safetensors"))[0])
    split = make_split(dataset, row["fold"], cv_args.val_fraction,
                       np.random.default_rng(cv_args.seed), cv_args.max_train_graphs)
    accuracy, nll = evaluate(model, Batches(dataset), split.val)
    if row.get("val_accuracy") is not None and abs(accuracy - row["val_accuracy"]) > 1e-9:
        raise ValueError(f"{fold_dir}: validation accuracy {accuracy:.6f} of the exported "
                         f"model differs from the stored {row['val_accuracy']:.6f}")
    return float(nll)


def retrain_seed(seed: int, run: int) -> int:
    """The seed of retrain run `run` (1..R) of a setting whose grid options
    train with --seed `seed`: seed + 1000 * run (distinct for distinct runs,
    never the selection run's own seed)."""
    if run < 1:
        raise ValueError(f"retrain runs are numbered from 1, got {run}")
    return seed + RETRAIN_SEED_STEP * run


def copy_reused(source: str, target: str, folds: Sequence[int]) -> List[int]:
    """Copies source/fold-K to target/fold-K for each fold target lacks;
    returns the folds copied."""
    if not os.path.isdir(source):
        raise ValueError(f"--reuse: {source} is not a folder")
    copied = []
    for fold in folds:
        src, dst = (os.path.join(d, f"fold-{fold}") for d in (source, target))
        if os.path.isdir(src) and not os.path.exists(dst):
            shutil.copytree(src, dst)
            copied.append(fold)
    return copied


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.select",
        description="Per-fold model selection: trains every setting of a grid on each "
                    "fold (crossval), picks per fold the setting with the best "
                    "VALIDATION accuracy (ties: lower validation NLL, then grid order), "
                    "and reports mean ± std of the picked settings' TEST-fold accuracies.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("dataset", help="TU dataset folder, e.g. ../shared/data/tu/ENZYMES")
    p.add_argument("--grid", required=True,
                   help="grid JSON: {\"base\": [options], \"configs\": {name: [options]}}")
    p.add_argument("--out", required=True,
                   help="output folder: summary.json, grid.json, NAME/ crossval runs")
    p.add_argument("--folds", type=crossval.parse_folds,
                   default=list(range(1, NUM_FOLDS + 1)), help="outer folds, e.g. 1-10")
    p.add_argument("--jobs", type=int, default=1, help="folds trained in parallel processes")
    p.add_argument("--resume", action="store_true",
                   help="reuse each OUT/NAME/fold-K completed with the same settings")
    p.add_argument("--reuse", action="append", default=[], metavar="NAME=DIR",
                   help="before training setting NAME, copy the fold-K directories of an "
                        "earlier crossval run DIR that OUT/NAME lacks (needs --resume, "
                        "which then reuses each copy only if its settings match)")
    p.add_argument("--configs", type=lambda t: [n for n in t.split(",") if n],
                   metavar="NAME,...",
                   help="use only these settings of the grid (default: all, in grid order)")
    p.add_argument("--only-select", action="store_true",
                   help="train nothing: select from the folds (and --retrain runs) "
                        "already in OUT (all must be complete and match the grid)")
    p.add_argument("--retrain", type=int, default=0, metavar="R",
                   help="after the choice, train each fold's picked setting R more times "
                        "on the outer fold (seeds SEED + 1000*r, r = 1..R, SEED = the "
                        "setting's --seed; each early-stopped on its own seeded validation "
                        "split) and score the fold by the mean of the R test accuracies "
                        "(0 = score the model trained during selection)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    return p


def run(args: argparse.Namespace, command: str) -> Dict[str, Any]:
    if args.jobs < 1:
        raise ValueError("--jobs must be >= 1")
    if args.retrain < 0:
        raise ValueError("--retrain must be >= 0")
    grid = load_grid(args.grid)
    if args.configs:
        unknown = [n for n in args.configs if n not in grid["configs"]]
        if unknown or len(set(args.configs)) != len(args.configs):
            raise GridError(f"--configs {','.join(args.configs)}: unknown or repeated "
                            f"names (the grid has {', '.join(grid['configs'])})")
        grid["configs"] = {n: v for n, v in grid["configs"].items() if n in args.configs}
    names = list(grid["configs"])
    reuse = {}
    for item in args.reuse:
        name, sep, folder = item.partition("=")
        if not sep or name not in grid["configs"]:
            raise ValueError(f"--reuse {item!r}: expected NAME=DIR with NAME one of {names}")
        reuse[name] = folder
    if reuse and not args.resume:
        raise ValueError("--reuse needs --resume (the copies are checked and reused by it)")
    if args.only_select:
        args.resume = True
    # Check every setting's options before training anything.
    parsed = {}
    for name in names:
        cv = parse_crossval(crossval_args(args.dataset, grid, name, args.out, args), name)
        from .train import check_args
        try:
            check_args(cv)
        except ValueError as err:
            raise GridError(f"setting {name}: {err}") from None
        parsed[name] = cv
    started = time.perf_counter()
    load_start = os.getloadavg()
    date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    dataset = load_dataset(args.dataset)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, GRID_FILE), "w", encoding="utf-8") as f:
        json.dump(grid, f, indent=1)

    results: Dict[str, Dict[int, Dict[str, Any]]] = {}
    runs: Dict[str, Dict[str, Any]] = {}
    for i, name in enumerate(names, 1):
        cv = parsed[name]
        copied = copy_reused(reuse[name], cv.out, args.folds) if name in reuse else []
        print(f"[setting {i}/{len(names)}] {name}: {' '.join(grid['configs'][name]) or '(base only)'}"
              + (f"; copied folds {copied} from {reuse[name]}" if copied else ""), flush=True)
        if args.only_select:
            summary = _check_complete(cv, dataset, name)
        else:
            summary = crossval.run(cv, "python3 -m diffpool_ref.crossval " + " ".join(
                shlex.quote(a) for a in crossval_args(args.dataset, grid, name, args.out,
                                                      args)))
        rows = {}
        for row in summary["per_fold"]:
            row = dict(row, val_nll=validation_nll(
                row, os.path.join(cv.out, f"fold-{row['fold']}"), dataset, cv))
            rows[row["fold"]] = row
        results[name] = rows
        runs[name] = {
            "options": grid["configs"][name], "out": cv.out, "clusters": summary["clusters"],
            "test_accuracy_mean": summary["test_accuracy_mean"],
            "test_accuracy_std": summary["test_accuracy_std"],
            "trained_folds": summary["trained_folds"],
            "resumed_folds": summary["resumed_folds"],
            "copied_folds": copied, "copied_from": reuse.get(name),
            "cpu_time_s": summary["cpu_time_s"], "wall_time_s": summary["wall_time_s"]}

    picked = select_per_fold(results, names)
    # The choice is made; only now may anything be trained that is scored on test.
    retrained, retrain_info = retrain_picked(args, grid, parsed, picked, names, dataset)
    per_fold = []
    for fold, name in sorted(picked.items()):
        row = results[name][fold]
        per_fold.append({
            "fold": fold, "picked": name, "test_accuracy": row["test_accuracy"],
            "num_test": row["num_test"], "val_accuracy": row["val_accuracy"],
            "val_nll": row["val_nll"], "model_dir": os.path.join(runs[name]["out"],
                                                                 f"fold-{fold}"),
            "candidates": {n: {"val_accuracy": results[n][fold]["val_accuracy"],
                               "val_nll": results[n][fold]["val_nll"],
                               "test_accuracy": results[n][fold]["test_accuracy"]}
                           for n in names}})
        if args.retrain:
            runs_of_fold = retrained[fold]
            per_fold[-1].update(
                selection_test_accuracy=row["test_accuracy"],
                test_accuracy=float(np.mean([r["test_accuracy"] for r in runs_of_fold])),
                retrain_runs=runs_of_fold)
    accuracies = [r["test_accuracy"] for r in per_fold]
    mean, std = crossval.mean_std(accuracies)
    seconds = time.perf_counter() - started
    summary = {
        "dataset": dataset.name, "protocol": (
            "per outer fold: every setting trained on the fold's training graphs minus "
            "its validation split and early-stopped on it; the setting with the best "
            "validation accuracy (ties: lower validation NLL, then grid order) is "
            "picked; score = its test-fold accuracy. One training run per setting."
            if not args.retrain else
            "per outer fold: every setting trained on the fold's training graphs minus "
            "its validation split and early-stopped on it; the setting with the best "
            "validation accuracy (ties: lower validation NLL, then grid order) is "
            f"picked; the picked setting is then trained {args.retrain} more times on "
            "the outer fold (seeds SEED + 1000*r, each early-stopped on its own seeded "
            "validation split of the fold's training graphs); score = the mean of "
            f"those {args.retrain} runs' test-fold accuracies."),
        "grid": grid, "folds": args.folds,
        "test_accuracy_mean": mean, "test_accuracy_std": std,
        "picked": {str(f): n for f, n in sorted(picked.items())},
        "pick_counts": {n: sum(1 for v in picked.values() if v == n) for n in names},
        "per_fold": per_fold, "settings": runs,
        "command": command, "date": date.isoformat(),
        "wall_time_s": round(seconds, 1),
        "cpu_time_s": round(sum(r["cpu_time_s"] or 0 for r in runs.values())
                            + (retrain_info["cpu_time_s"] if args.retrain else 0), 1),
        "jobs": args.jobs, "cpu": crossval.cpu_model(), "cpu_count": os.cpu_count(),
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
    }
    if args.retrain:
        selection = crossval.mean_std([r["selection_test_accuracy"] for r in per_fold])
        summary.update(retrain=args.retrain, retrain_summary=retrain_info,
                       selection_test_accuracy_mean=selection[0],
                       selection_test_accuracy_std=selection[1])
    with open(os.path.join(args.out, SUMMARY_FILE), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    width = max(len(n) for n in names)
    print(f"\n{dataset.name}: per-fold selection over {len(names)} settings "
          "(val acc / val NLL / test acc; * = picked)")
    for r in per_fold:
        cells = [f"{n}{'*' if n == r['picked'] else ' '} {c['val_accuracy']:.3f}/"
                 f"{c['val_nll']:.3f}/{c['test_accuracy']:.3f}"
                 for n, c in r["candidates"].items()]
        print(f"fold {r['fold']:2d}: picked {r['picked']:<{width}}  test "
              f"{r['test_accuracy']:.4f}   | " + "  ".join(cells))
        if args.retrain:
            print(f"         retrained {args.retrain}x: test " + ", ".join(
                f"{x['test_accuracy']:.4f} (seed {x['seed']})" for x in r["retrain_runs"])
                + f"; mean {r['test_accuracy']:.4f} (selection model "
                f"{r['selection_test_accuracy']:.4f})")
    for n in names:
        print(f"  {n:<{width}}  alone: test {100 * runs[n]['test_accuracy_mean']:.2f} ± "
              f"{100 * runs[n]['test_accuracy_std']:.2f}, picked in "
              f"{summary['pick_counts'][n]} folds")
    if args.retrain:
        print(f"{dataset.name}: selection models alone (not the score): test "
              f"{100 * summary['selection_test_accuracy_mean']:.2f} ± "
              f"{100 * summary['selection_test_accuracy_std']:.2f}; score = mean of "
              f"{args.retrain} retrain runs per fold")
    print(f"{dataset.name}: selected-setting test accuracy {100 * mean:.2f} ± {100 * std:.2f} "
          f"(mean ± std over {len(per_fold)} folds; per fold "
          f"{', '.join(f'{100 * a:.1f}' for a in accuracies)}); wall {seconds:.0f} s, "
          f"training CPU {summary['cpu_time_s']:.0f} s; wrote "
          f"{os.path.join(args.out, SUMMARY_FILE)}", flush=True)
    return summary


def retrain_picked(args: argparse.Namespace, grid: Dict[str, Any],
                   parsed: Dict[str, argparse.Namespace], picked: Dict[int, str],
                   names: Sequence[str], dataset) -> Tuple[Dict[int, List[Dict[str, Any]]],
                                                           Dict[str, Any]]:
    """--retrain R: trains each fold's picked setting R more times (run r
    with seed retrain_seed(setting's --seed, r)) by crossval into
    OUT/_retrain/run-r/NAME, one crossval run per (r, setting) over the folds
    that picked the setting (so --jobs and --resume act as for the grid).
    Returns fold -> the R runs' rows, and the totals for summary.json. Only
    `picked` (made from validation results) decides what is trained."""
    retrained: Dict[int, List[Dict[str, Any]]] = {}
    info: Dict[str, Any] = {"runs": [], "cpu_time_s": 0.0, "wall_time_s": 0.0}
    if not args.retrain:
        return retrained, info
    started = time.perf_counter()
    by_name = {n: [f for f, p in sorted(picked.items()) if p == n] for n in names}
    base = os.path.join(args.out, RETRAIN_DIR)
    for run_index in range(1, args.retrain + 1):
        for name in names:
            folds = by_name[name]
            if not folds:
                continue
            seed = retrain_seed(parsed[name].seed, run_index)
            argv = crossval_args(args.dataset, grid, name,
                                 os.path.join(base, f"run-{run_index}"), args, folds,
                                 ["--seed", str(seed)])
            cv = parse_crossval(argv, name)
            print(f"[retrain {run_index}/{args.retrain}] {name}: folds {folds}, seed {seed}",
                  flush=True)
            if args.only_select:
                summary = _check_complete(cv, dataset, f"retrain run {run_index} of {name}")
            else:
                summary = crossval.run(cv, "python3 -m diffpool_ref.crossval " + " ".join(
                    shlex.quote(a) for a in argv))
            info["runs"].append({
                "run": run_index, "setting": name, "seed": seed, "folds": folds,
                "out": cv.out, "trained_folds": summary["trained_folds"],
                "resumed_folds": summary["resumed_folds"],
                "cpu_time_s": summary["cpu_time_s"]})
            info["cpu_time_s"] += summary["cpu_time_s"] or 0
            for row in summary["per_fold"]:
                retrained.setdefault(row["fold"], []).append({
                    "run": run_index, "setting": name, "seed": seed,
                    "test_accuracy": row["test_accuracy"], "num_test": row["num_test"],
                    "val_accuracy": row["val_accuracy"], "num_val": row["num_val"],
                    "num_train": row["num_train"], "best_epoch": row["best_epoch"],
                    "epochs_run": row["epochs_run"],
                    "resumed": "resumed_from" in row,
                    "model_dir": os.path.join(cv.out, f"fold-{row['fold']}")})
    info["cpu_time_s"] = round(info["cpu_time_s"], 1)
    info["wall_time_s"] = round(time.perf_counter() - started, 1)
    return retrained, info


def _check_complete(cv: argparse.Namespace, dataset, name: str) -> Dict[str, Any]:
    """--only-select: the crossval summary of OUT/NAME, after checking with
    crossval's --resume rule that every requested fold is complete and was
    trained with this setting (nothing is trained)."""
    from .train import make_run_config, make_split, training_settings

    training = training_settings(dataset, cv)
    rows = []
    for fold in cv.folds:
        split = make_split(dataset, fold, cv.val_fraction, np.random.default_rng(cv.seed),
                           cv.max_train_graphs)
        sizes = {"num_train": len(split.train), "num_val": len(split.val),
                 "num_test": len(split.test)}
        row = crossval.resumable_fold(
            os.path.join(cv.out, f"fold-{fold}"), fold,
            dict(make_run_config(dataset, cv, dict(training, command="", date="")),
                 training=dict(training, fold=fold)), sizes)
        if row is None:
            raise ValueError(f"--only-select: {name} fold {fold} in {cv.out} is missing "
                             "or was trained with other settings")
        rows.append(row)
    from .train import clusters_for
    mean, std = crossval.mean_std([r["test_accuracy"] for r in rows])
    return {"per_fold": rows, "clusters": clusters_for(dataset, cv),
            "test_accuracy_mean": mean, "test_accuracy_std": std, "trained_folds": [],
            "resumed_folds": [r["fold"] for r in rows], "wall_time_s": 0.0,
            "cpu_time_s": round(sum(r["cpu_time_s"] or 0 for r in rows), 1)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_main("select", build_parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
