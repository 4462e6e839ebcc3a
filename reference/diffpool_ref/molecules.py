"""CLI: train DiffPool on a MoleculeNet CSV (SMILES + label columns), report
the held-out test metric, export a model directory that scores SMILES.

    PYTHONPATH=reference nice -n 5 /usr/bin/python3 -m diffpool_ref.molecules \\
        ../shared/data/moleculenet/BBBP.csv --preset bbbp --out out/bbbp

Presets (docs/molecules.md):
  bbbp   column BBBP, binary classification as 2-class softmax
         (output_names non_penetrating, penetrating); scaffold split; ROC-AUC
         of P(penetrating).
  tox21  the 12 assay columns, multilabel: one sigmoid probability per assay,
         empty cells are unmeasured and masked out of the loss and the
         metrics; scaffold split; ROC-AUC per assay and their mean.
  esol   column "measured log solubility in mols per litre", regression
         (log10 mol/L); random seeded split; RMSE. The target is standardized
         for training and the standardization folded back into lin2, so the
         exported model outputs log solubility.

Molecules are featurized by diffpool_ref.featurize (RDKit) with its
DEFAULT_SPEC unless --spec is given; the spec goes into config.json's
feature_spec (encoding "molecule") for the converter. SMILES RDKit refuses
are skipped and counted. Splits: scaffold = MoleculeNet's (DeepChem's
ScaffoldSplitter): Bemis-Murcko scaffolds of RDKit's MurckoScaffold, scaffold
sets from largest to smallest fill train (80%), then validation (10%), the
rest is test; deterministic. random = a seeded permutation, 80/10/10.
Training: Adam on the mean per molecule of task loss + link + entropy losses
(the DiffPool auxiliary losses), gradient clipping, early stopping on the
validation metric (ROC-AUC or RMSE): the best epoch's weights are exported.

Output directory: config.json, model.safetensors, model.pt (diffpool_ref.export),
graphs.json (the first --export-graphs test molecules, name = SMILES, with
float64 reference outputs), test.csv and calibration.txt (the test split with
labels, and --calibration training SMILES for int8 calibration), metrics.json.

`python3 -m diffpool_ref.molecules score --model DIR --csv FILE` prints the
reference model's metric on a CSV; `... metrics --csv TEST.csv --scores
OUT.tsv --task T` computes the metric of a runtime's output rows.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime
import json
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import featurize as fz
from .config import ConfigError, make_config
from .export import GRAPHS_FILE, export_model, load_model_dir
from .graphset import GraphRecord
from .model import DiffPool, make_batch
from .train import EVAL_CHUNK, minibatches, sha256_of

TOX21_TASKS = ["NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD",
               "NR-PPAR-gamma", "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53"]

PRESETS: Dict[str, Dict[str, Any]] = {
    "bbbp": {"labels": ["BBBP"], "task": "classification", "split": "scaffold",
             "output_names": ["non_penetrating", "penetrating"]},
    "tox21": {"labels": TOX21_TASKS, "task": "multilabel", "split": "scaffold"},
    "esol": {"labels": ["measured log solubility in mols per litre"], "task": "regression",
             "split": "random", "output_names": ["log_solubility"]},
}
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


class MoleculeDataError(ValueError):
    """A molecule CSV does not have what the run needs."""


@dataclass
class MoleculeSet:
    """Molecules RDKit parsed, their graphs and labels (NaN = unmeasured)."""
    smiles: List[str]
    graphs: List[Tuple[torch.Tensor, torch.Tensor]]   # (x float32 [n, F], edge_index [2, E])
    labels: np.ndarray                                 # float64 [N, tasks]
    skipped: List[str]                                 # SMILES RDKit refused
    spec: Dict[str, Any]

    @property
    def max_nodes(self) -> int:
        return max(int(x.shape[0]) for x, _ in self.graphs)


def read_csv(path: str, label_columns: Sequence[str],
             smiles_column: str = "smiles") -> Tuple[List[str], np.ndarray]:
    """SMILES (whitespace stripped) and a float label matrix (empty cell = NaN)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in [smiles_column, *label_columns] if c not in header]
        if missing:
            raise MoleculeDataError(f"{path}: no column(s) {missing}; columns are {header}")
        smiles, labels = [], []
        for line, row in enumerate(reader, start=2):
            values = []
            for column in label_columns:
                cell = (row[column] or "").strip()
                try:
                    values.append(float(cell) if cell else math.nan)
                except ValueError:
                    raise MoleculeDataError(f"{path}:{line}: {column} = {cell!r} is not a "
                                            "number") from None
            smiles.append((row[smiles_column] or "").strip())
            labels.append(values)
    if not smiles:
        raise MoleculeDataError(f"{path}: no molecules")
    return smiles, np.asarray(labels, dtype=np.float64).reshape(len(smiles), len(label_columns))


def load_molecules(path: str, label_columns: Sequence[str], spec: Dict[str, Any],
                   smiles_column: str = "smiles") -> MoleculeSet:
    """Reads and featurizes a CSV; molecules RDKit refuses or with no atoms are skipped."""
    fz.validate_spec(spec)
    smiles, labels = read_csv(path, label_columns, smiles_column)
    kept, graphs, rows, skipped = [], [], [], []
    for i, s in enumerate(smiles):
        try:
            x, edge_index = fz.featurize(s, spec)
        except fz.SmilesError:
            skipped.append(s)
            continue
        if x.shape[0] == 0:
            skipped.append(s)
            continue
        kept.append(s)
        graphs.append((torch.from_numpy(x), torch.from_numpy(edge_index)))
        rows.append(i)
    return MoleculeSet(kept, graphs, labels[rows], skipped, spec)


def scaffold(smiles: str) -> str:
    """The Bemis-Murcko scaffold SMILES (RDKit MurckoScaffold, no chirality)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold
    return MurckoScaffold.MurckoScaffoldSmiles(mol=fz.mol_from_smiles(smiles),
                                               includeChirality=False)


def scaffold_split(smiles: Sequence[str], fractions=SPLIT_FRACTIONS):
    """(train, val, test) index lists as DeepChem's ScaffoldSplitter makes them."""
    groups: Dict[str, List[int]] = {}
    for i, s in enumerate(smiles):
        groups.setdefault(scaffold(s), []).append(i)
    sets = sorted(groups.values(), key=lambda g: (len(g), g[0]), reverse=True)
    train_cut = fractions[0] * len(smiles)
    val_cut = (fractions[0] + fractions[1]) * len(smiles)
    train, val, test = [], [], []
    for group in sets:
        if len(train) + len(group) > train_cut:
            if len(train) + len(val) + len(group) > val_cut:
                test += group
            else:
                val += group
        else:
            train += group
    return sorted(train), sorted(val), sorted(test)


def random_split(count: int, seed: int, fractions=SPLIT_FRACTIONS):
    """(train, val, test): a seeded permutation cut 80/10/10."""
    order = np.random.default_rng(seed).permutation(count)
    a = int(round(fractions[0] * count))
    b = int(round((fractions[0] + fractions[1]) * count))
    return sorted(order[:a].tolist()), sorted(order[a:b].tolist()), sorted(order[b:].tolist())


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN labels are ignored;
    NaN when only one class is present."""
    keep = ~np.isnan(labels)
    labels, scores = labels[keep] > 0.5, np.asarray(scores, dtype=np.float64)[keep]
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):   # average ranks of ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0)
                 / (positives * negatives))


def rmse(labels: np.ndarray, values: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(values, dtype=np.float64) - labels) ** 2)))


def scores_for_metric(task: str, out: np.ndarray) -> np.ndarray:
    """Per-task scores from model output rows: P(class 1) for 2-class
    classification (out = log-probabilities), probabilities for multilabel,
    values for regression."""
    if task == "classification":
        return np.exp(out[:, 1:2])
    return out


def metrics(task: str, labels: np.ndarray, out: np.ndarray,
            names: Sequence[str]) -> Dict[str, Any]:
    """{"metric": "roc_auc"|"rmse", "value": mean, "per_task": {name: value}}."""
    scores = scores_for_metric(task, np.asarray(out, dtype=np.float64))
    if task == "regression":
        per = {n: rmse(labels[:, t], scores[:, t]) for t, n in enumerate(names)}
        return {"metric": "rmse", "value": float(np.mean(list(per.values()))), "per_task": per}
    per = {n: roc_auc(labels[:, t], scores[:, t]) for t, n in enumerate(names)}
    valid = [v for v in per.values() if not math.isnan(v)]
    return {"metric": "roc_auc", "value": float(np.mean(valid)) if valid else math.nan,
            "per_task": per}


def task_names(task: str, label_columns: Sequence[str]) -> List[str]:
    """Names of the metric's tasks (not the model's outputs: BBBP has one task,
    two softmax outputs)."""
    return list(label_columns)


@torch.no_grad()
def predict(model: DiffPool, graphs: Sequence[Tuple[Any, Any]],
            dtype: torch.dtype = torch.float32) -> np.ndarray:
    """Eval-mode output rows for `graphs`, [N, num_outputs] float64."""
    model.eval()
    rows = []
    for start in range(0, len(graphs), EVAL_CHUNK):
        rows.append(model(make_batch(graphs[start:start + EVAL_CHUNK], dtype)).out.double())
    return torch.cat(rows).numpy()


def task_loss(task: str, output, target: torch.Tensor) -> torch.Tensor:
    """Per-molecule loss [B]: NLL (classification), masked BCE averaged over
    the measured tasks (multilabel), squared error (regression, standardized)."""
    if task == "classification":
        return F.nll_loss(output.out, target[:, 0].long(), reduction="none")
    if task == "multilabel":
        mask = ~torch.isnan(target)
        bce = F.binary_cross_entropy_with_logits(
            output.logits, torch.nan_to_num(target), reduction="none") * mask
        return bce.sum(dim=1) / mask.sum(dim=1).clamp(min=1)
    return ((output.out - target) ** 2).mean(dim=1)


def fold_standardization(model: DiffPool, mean: np.ndarray, std: np.ndarray) -> None:
    """lin2 of a model trained on (y - mean) / std, rewritten to output y."""
    with torch.no_grad():
        scale = torch.as_tensor(std, dtype=model.lin2.weight.dtype)
        model.lin2.weight.mul_(scale[:, None])
        model.lin2.bias.mul_(scale).add_(torch.as_tensor(mean, dtype=model.lin2.bias.dtype))


def better(task: str, value: float, best: float, select: str = "metric") -> bool:
    """value beats best: lower loss (select "loss") or RMSE, higher ROC-AUC."""
    if math.isnan(value):
        return False
    return value < best if task == "regression" or select == "loss" else value > best


@torch.no_grad()
def mean_task_loss(model: DiffPool, data: "MoleculeSet", indices: Sequence[int],
                   targets: torch.Tensor) -> float:
    """The eval-mode model's mean task loss (no auxiliary losses) on `indices`."""
    model.eval()
    total = 0.0
    for start in range(0, len(indices), EVAL_CHUNK):
        chunk = list(indices[start:start + EVAL_CHUNK])
        output = model(make_batch([data.graphs[i] for i in chunk], torch.float32))
        total += task_loss(model.task, output, targets[chunk]).sum().item()
    return total / len(indices)


def train(model: DiffPool, data: MoleculeSet, split, args, rng,
          target_mean: np.ndarray, target_std: np.ndarray, log=print) -> Dict[str, Any]:
    """Trains in place, ending with the best validation epoch's weights."""
    task = model.task
    train_idx, val_idx, _ = split
    targets = torch.from_numpy((data.labels - target_mean) / target_std
                               if task == "regression" else data.labels).float()
    names = task_names(task, args.labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    best_value = math.inf if task == "regression" or args.select == "loss" else -math.inf
    best = {"epoch": 0, "value": best_value, "state": copy.deepcopy(model.state_dict())}
    history = []
    epoch = 0
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        total = 0.0
        for indices in minibatches(train_idx, args.batch_size, rng):
            output = model(make_batch([data.graphs[i] for i in indices], torch.float32))
            per = (task_loss(task, output, targets[indices]) + args.link_weight *
                   output.link_loss + args.entropy_weight * output.entropy_loss)
            loss = per.mean()
            optimizer.zero_grad()
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            total += per.sum().item()
        out = predict(model, [data.graphs[i] for i in val_idx])
        if task == "regression":
            out = out * target_std + target_mean
        value = metrics(task, data.labels[val_idx], out, names)["value"]
        val_loss = mean_task_loss(model, data, val_idx, targets)
        criterion = val_loss if args.select == "loss" else value
        improved = better(task, criterion, best["value"], args.select)
        if improved:
            best = {"epoch": epoch, "value": criterion, "metric": value,
                    "state": copy.deepcopy(model.state_dict())}
        history.append({"epoch": epoch, "train_loss": total / len(train_idx), "val": value,
                        "val_loss": val_loss,
                        "seconds": round(time.perf_counter() - started, 2)})
        if args.log_every and (epoch % args.log_every == 0 or epoch == 1 or improved):
            log(f"epoch {epoch:4d}  loss {total / len(train_idx):.4f}  val "
                f"{'rmse' if task == 'regression' else 'roc-auc'} {value:.4f}  val loss "
                f"{val_loss:.4f}"
                + ("  *" if improved else "") + f"  ({history[-1]['seconds']:.1f} s)")
        if epoch - best["epoch"] >= args.patience:
            log(f"early stop at epoch {epoch}: no better validation result since "
                f"epoch {best['epoch']}")
            break
    model.load_state_dict(best["state"])
    return {"epochs_run": epoch, "best_epoch": best["epoch"],
            "val_metric": best.get("metric", math.nan), "select": args.select,
            "history": history}


def resolve_preset(args) -> None:
    """Fills --labels, --task, --split and output names from --preset."""
    preset = PRESETS.get(args.preset or "", {})
    args.labels = args.labels.split(",") if args.labels else preset.get("labels")
    args.task = args.task or preset.get("task")
    args.split = args.split or preset.get("split", "scaffold")
    if not args.labels or not args.task:
        raise ValueError("give --preset, or --labels and --task")
    names = preset.get("output_names") if args.preset else None
    if args.task == "classification":
        if len(args.labels) != 1:
            raise ValueError("classification takes one 0/1 label column (use multilabel for "
                             "several)")
        names = names or ["0", "1"]
    else:
        names = names or list(args.labels)
    args.output_names = names


def write_split_files(out: str, data: MoleculeSet, split, args) -> None:
    """test.csv (smiles + label columns of the test split) and calibration.txt
    (the first --calibration training SMILES, one per line)."""
    _, _, test_idx = split
    with open(os.path.join(out, "test.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["smiles", *args.labels])
        for i in test_idx:
            writer.writerow([data.smiles[i], *["" if math.isnan(v) else repr(float(v))
                                                for v in data.labels[i]]])
    with open(os.path.join(out, "calibration.txt"), "w") as f:
        for i in split[0][:args.calibration]:
            f.write(data.smiles[i] + "\n")


def run(args, command: str) -> Dict[str, Any]:
    resolve_preset(args)
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    spec = fz.DEFAULT_SPEC
    if args.spec:
        with open(args.spec) as f:
            spec = json.load(f)
    started, cpu_started = time.perf_counter(), time.process_time()
    data = load_molecules(args.csv, args.labels, spec, args.smiles_column)
    split = (scaffold_split(data.smiles) if args.split == "scaffold"
             else random_split(len(data.smiles), args.seed))
    if args.max_train:
        split = (split[0][:args.max_train], split[1], split[2])
    names = task_names(args.task, args.labels)
    print(f"{args.csv}: {len(data.smiles)} molecules ({len(data.skipped)} skipped: RDKit "
          f"refuses them), max {data.max_nodes} atoms, {fz.num_features(spec)} features; "
          f"{args.split} split train {len(split[0])} / val {len(split[1])} / test "
          f"{len(split[2])}", flush=True)
    mean = np.zeros(len(args.labels))
    std = np.ones(len(args.labels))
    if args.task == "regression":
        train_labels = data.labels[split[0]]
        mean, std = np.nanmean(train_labels, axis=0), np.nanstd(train_labels, axis=0)
    config = make_config(
        num_features=fz.num_features(spec), num_outputs=len(args.output_names),
        clusters=args.clusters, max_nodes=max(data.max_nodes, args.max_nodes),
        hidden_channels=args.hidden, embedding_channels=args.embedding,
        lin_hidden=args.lin_hidden, task=args.task, output_names=args.output_names,
        feature_spec={"encoding": "molecule", "names": fz.feature_names(spec),
                      "molecule": copy.deepcopy(spec)},
        dataset=os.path.basename(args.csv))
    model = DiffPool(config, dropout=args.dropout)
    stats = train(model, data, split, args, rng, mean, std)
    if args.task == "regression":
        fold_standardization(model, mean, std)
    results = {}
    for part, indices in zip(("train", "val", "test"), split):
        out = predict(model, [data.graphs[i] for i in indices])
        results[part] = metrics(args.task, data.labels[indices], out, names)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    history = stats.pop("history")
    date = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    config["training"] = {
        "trainer": "diffpool_ref.molecules", "command": command, "date": date,
        "torch_version": torch.__version__, "rdkit_version": __import__("rdkit").__version__,
        "dataset_file_sha256": {os.path.basename(args.csv): sha256_of(args.csv)},
        "label_columns": list(args.labels), "split": args.split,
        "split_fractions": list(SPLIT_FRACTIONS), "num_train": len(split[0]),
        "num_val": len(split[1]), "num_test": len(split[2]), "skipped_smiles": len(data.skipped),
        "seed": args.seed, "threads": args.threads, "optimizer": "adam", "lr": args.lr,
        "weight_decay": args.weight_decay, "batch_size": args.batch_size,
        "clip_grad_norm": args.clip, "link_loss_weight": args.link_weight,
        "entropy_loss_weight": args.entropy_weight, "dropout": args.dropout,
        "max_epochs": args.epochs, "patience": args.patience, **stats,
        "metric": results["test"]["metric"],
        "train_metric": results["train"]["value"], "val_metric_final": results["val"]["value"],
        "test_metric": results["test"]["value"], "test_metric_per_task":
            results["test"]["per_task"],
        "train_wall_time_s": round(seconds, 1), "train_cpu_time_s": round(cpu, 1)}
    if args.task == "regression":
        config["training"]["target_mean"] = mean.tolist()
        config["training"]["target_std"] = std.tolist()
    test_idx = split[2]
    records = [GraphRecord(data.smiles[i], data.graphs[i][0].numpy().astype(np.float64),
                           data.graphs[i][1].numpy())
               for i in test_idx[:args.export_graphs]]
    export_model(model.state_dict(), config, args.out, records)
    write_split_files(args.out, data, split, args)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump({"results": results, "history": history}, f, indent=1)
    metric = results["test"]["metric"]
    print(f"best epoch {stats['best_epoch']} of {stats['epochs_run']}; {metric}: train "
          f"{results['train']['value']:.4f}, val {results['val']['value']:.4f}, test "
          f"{results['test']['value']:.4f} ({len(test_idx)} molecules, {args.split} split); "
          f"{seconds:.0f} s wall, {cpu:.0f} s CPU")
    if len(names) > 1:
        print("test per task: " + ", ".join(f"{n} {v:.4f}" for n, v in
                                            results["test"]["per_task"].items()))
    print(f"wrote {args.out}")
    return config["training"]


def parse_clusters(text: str) -> List[int]:
    try:
        clusters = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad cluster list {text!r}") from None
    if any(k < 1 for k in clusters):
        raise argparse.ArgumentTypeError("cluster counts must be >= 1")
    return clusters


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.molecules",
        description="Train DiffPool on a MoleculeNet CSV (SMILES + labels), report the "
                    "held-out ROC-AUC or RMSE, export a model directory for diffpool-convert. "
                    "Subcommands 'score' and 'metrics': see 'score --help', 'metrics --help'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("csv", help="CSV with a SMILES column and label columns, e.g. "
                               "../shared/data/moleculenet/BBBP.csv")
    p.add_argument("--out", required=True, help="output model directory")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="label columns, task and split of a MoleculeNet data set")
    p.add_argument("--labels", help="comma list of label columns (overrides the preset)")
    p.add_argument("--task", choices=("classification", "multilabel", "regression"))
    p.add_argument("--split", choices=("scaffold", "random"),
                   help="80/10/10 split (default: the preset's, else scaffold)")
    p.add_argument("--smiles-column", default="smiles")
    p.add_argument("--spec", help="featurizer spec JSON (default: featurize.DEFAULT_SPEC)")
    g = p.add_argument_group("architecture")
    g.add_argument("--hidden", type=int, default=32)
    g.add_argument("--embedding", type=int, default=32)
    g.add_argument("--lin-hidden", type=int, default=32)
    g.add_argument("--clusters", type=parse_clusters, default=[8, 2],
                   help="clusters per pooling level")
    g.add_argument("--max-nodes", type=int, default=0,
                   help="max_nodes of the model (at least the largest molecule)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=100)
    g.add_argument("--patience", type=int, default=20)
    g.add_argument("--select", choices=("metric", "loss"), default="metric",
                   help="early stopping and model selection on the validation metric "
                        "(ROC-AUC or RMSE) or the validation task loss")
    g.add_argument("--lr", type=float, default=1e-3)
    g.add_argument("--weight-decay", type=float, default=1e-4)
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--clip", type=float, default=2.0)
    g.add_argument("--link-weight", type=float, default=1.0)
    g.add_argument("--entropy-weight", type=float, default=1.0)
    g.add_argument("--dropout", type=float, default=0.0)
    g.add_argument("--max-train", type=int, default=0,
                   help="train on only the first N training molecules (smoke runs)")
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--log-every", type=int, default=1)
    g.add_argument("--export-graphs", type=int, default=16,
                   help="test molecules written to graphs.json with reference outputs")
    g.add_argument("--calibration", type=int, default=256,
                   help="training SMILES written to calibration.txt")
    g.add_argument("--skip-missing", action="store_true",
                   help="exit 77 with a message when the CSV is absent (tests)")
    return p


def check_args(args) -> None:
    checks = [(args.epochs >= 1, "--epochs must be >= 1"),
              (args.patience >= 1, "--patience must be >= 1"),
              (min(args.hidden, args.embedding, args.lin_hidden) >= 1,
               "--hidden, --embedding, --lin-hidden must be >= 1"),
              (args.lr > 0 and args.weight_decay >= 0, "--lr > 0, --weight-decay >= 0"),
              (args.batch_size >= 2, "--batch-size must be >= 2 (BatchNorm)"),
              (0 <= args.dropout < 1, "--dropout must be in [0, 1)"),
              (args.export_graphs >= 0 and args.calibration >= 0 and args.max_train >= 0,
               "--export-graphs, --calibration, --max-train must be >= 0")]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def score_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="python3 -m diffpool_ref.molecules score",
                                description="The float64 reference model's metric on a CSV "
                                            "(e.g. a model directory's test.csv).")
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--csv", required=True)
    p.add_argument("--out", help="also write the output rows (TSV: smiles, outputs)")
    args = p.parse_args(argv)
    model = load_model_dir(args.model, torch.float64)
    config = model.config
    columns = config.get("training", {}).get("label_columns") or config["output_names"]
    data = load_molecules(args.csv, columns, config["feature_spec"]["molecule"])
    out = predict(model, data.graphs, torch.float64)
    result = metrics(config["task"], data.labels, out, columns)
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            for s, row in zip(data.smiles, out):
                f.write(s + "\t" + "\t".join(repr(float(v)) for v in row) + "\n")
    return 0


def metrics_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.molecules metrics",
        description="The metric of output rows computed elsewhere (e.g. by the runtime): "
                    "--scores is TSV 'smiles<TAB>output...' in any order; molecules of --csv "
                    "missing there are reported.")
    p.add_argument("--csv", required=True, help="labels (test.csv of a model directory)")
    p.add_argument("--scores", required=True)
    p.add_argument("--config", required=True, help="the model's config.json")
    args = p.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    columns = config.get("training", {}).get("label_columns") or config["output_names"]
    smiles, labels = read_csv(args.csv, columns)
    rows = {}
    with open(args.scores) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 1 + config["num_outputs"]:
                rows[parts[0]] = [float(v) for v in parts[1:]]
    found = [i for i, s in enumerate(smiles) if s in rows]
    out = np.array([rows[smiles[i]] for i in found])
    result = metrics(config["task"], labels[found], out, columns)
    result["molecules"] = len(found)
    result["missing"] = len(smiles) - len(found)
    print(json.dumps(result, indent=1))
    return 0


def read_smiles_file(path: str) -> List[str]:
    """SMILES of a CSV (column "smiles", any case) or of a SMILES file (first
    token per line; blank and '#' lines skipped), as the converter reads them."""
    if path.lower().endswith(".csv"):
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            column = next((c for c in reader.fieldnames or [] if c.strip().lower() == "smiles"),
                          None)
            if column is None:
                raise MoleculeDataError(f"{path}: no smiles column")
            return [row[column].strip() for row in reader if row[column].strip()]
    with open(path) as f:
        return [line.split()[0] for line in f if line.strip() and not line.startswith("#")]


def reference_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.molecules reference",
        description="graphs.json for SMILES: featurize.py's features (name = SMILES) and the "
                    "float64 outputs of a model directory; the runtime parity test compares "
                    "its own featurization and outputs with these. SMILES RDKit refuses or "
                    "larger than max_nodes are left out (and counted).")
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--smiles", required=True, action="append",
                   help="CSV with a smiles column or SMILES file (repeatable)")
    p.add_argument("--out", required=True, help="graphs.json to write")
    args = p.parse_args(argv)
    from .export import write_graph_set
    from .config import load_config
    config = load_config(os.path.join(args.model, "config.json"))
    spec = config["feature_spec"]["molecule"]
    records, refused = [], 0
    for path in args.smiles:
        for s in read_smiles_file(path):
            try:
                x, edge_index = fz.featurize(s, spec)
            except fz.SmilesError:
                refused += 1
                continue
            if not 1 <= x.shape[0] <= config["max_nodes"]:
                refused += 1
                continue
            records.append(GraphRecord(s, x.astype(np.float64), edge_index))
    write_graph_set(args.model, records, args.out)
    print(f"wrote {args.out}: {len(records)} molecules ({refused} left out)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "reference":
            return reference_main(argv[1:])
        if argv and argv[0] == "score":
            return score_main(argv[1:])
        if argv and argv[0] == "metrics":
            return metrics_main(argv[1:])
        args = build_parser().parse_args(argv)
        check_args(args)
        if args.skip_missing and not os.path.exists(args.csv):
            print(f"SKIP: {args.csv} absent (../shared/data is not here)")
            return 77
        command = ("python3 -m diffpool_ref.molecules "
                   + " ".join(shlex.quote(a) for a in argv))
        run(args, command)
    except (ConfigError, MoleculeDataError, fz.SpecError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
