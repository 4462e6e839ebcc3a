"""The architecture config (config.json of docs/formats.md): build, check, I/O.

The config is a plain dict so that it round-trips through JSON unchanged;
`validate_config` is the single place that knows which fields the model needs
and what values they may take.
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional, Sequence

FORMAT = "diffpool-config"
VERSION = 1
VARIANT = "pyg_dense_sage"
# multilabel: one independent yes/no per output (sigmoid probabilities,
# e.g. tox21's 12 assays); classification: softmax over the outputs.
TASKS = ("classification", "regression", "multilabel")
READOUTS = ("mean",)


class ConfigError(ValueError):
    """A config dict or file does not follow docs/formats.md."""


def default_clusters(max_nodes: int, levels: int = 2,
                     ratio: float = 0.25) -> List[int]:
    """Cluster counts of PyG's example: ceil(ratio * max_nodes), then
    ceil(ratio * previous), `levels` times. MUTAG (28 nodes) -> [7, 2]."""
    clusters, size = [], max_nodes
    for _ in range(levels):
        size = max(1, math.ceil(ratio * size))
        clusters.append(size)
    return clusters


def make_config(*, num_features: int, num_outputs: int,
                clusters: Sequence[int], max_nodes: int,
                hidden_channels: int = 64, embedding_channels: int = 64,
                lin_hidden: int = 64, task: str = "classification",
                output_names: Optional[Sequence[str]] = None,
                normalize: bool = False, batchnorm_eps: float = 1e-5,
                tag_values: Optional[Sequence[int]] = None,
                feature_spec: Optional[Dict[str, Any]] = None,
                dataset: Optional[str] = None,
                training: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Returns a validated config dict with the fields of docs/formats.md.
    feature_spec, when given, wins over tag_values."""
    if output_names is None:
        output_names = [str(i) for i in range(num_outputs)]
    if feature_spec is None and tag_values is None:
        feature_spec = {"encoding": "dense"}
    elif feature_spec is None:
        feature_spec = {"encoding": "one_hot_tag",
                        "tag_values": [int(t) for t in tag_values]}
    config: Dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "variant": VARIANT,
        "task": task,
        "num_features": int(num_features),
        "hidden_channels": int(hidden_channels),
        "embedding_channels": int(embedding_channels),
        "clusters": [int(k) for k in clusters],
        "lin_hidden": int(lin_hidden),
        "num_outputs": int(num_outputs),
        "output_names": [str(n) for n in output_names],
        "normalize": bool(normalize),
        "readout": "mean",
        "batchnorm_eps": float(batchnorm_eps),
        "max_nodes": int(max_nodes),
        "feature_spec": feature_spec,
    }
    if dataset is not None:
        config["dataset"] = dataset
    if training is not None:
        config["training"] = training
    validate_config(config)
    return config


def _positive_int(config: Dict[str, Any], key: str) -> int:
    value = config.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"config.{key} must be a positive integer, got {value!r}")
    return value


def validate_config(config: Dict[str, Any]) -> None:
    """Raises ConfigError naming the first field that breaks docs/formats.md."""
    if not isinstance(config, dict):
        raise ConfigError("config must be a JSON object")
    if config.get("format") != FORMAT:
        raise ConfigError(f"config.format must be {FORMAT!r}, got {config.get('format')!r}")
    if config.get("version") != VERSION:
        raise ConfigError(f"config.version {config.get('version')!r} is not supported "
                          f"(this reference reads version {VERSION})")
    if config.get("variant") != VARIANT:
        raise ConfigError(f"config.variant must be {VARIANT!r}, got {config.get('variant')!r}")
    if config.get("task") not in TASKS:
        raise ConfigError(f"config.task must be one of {TASKS}, got {config.get('task')!r}")
    for key in ("num_features", "hidden_channels", "embedding_channels",
                "lin_hidden", "num_outputs", "max_nodes"):
        _positive_int(config, key)
    clusters = config.get("clusters")
    if not isinstance(clusters, list) or not all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in clusters):
        raise ConfigError(f"config.clusters must be a list of positive integers, got {clusters!r}")
    names = config.get("output_names")
    if not isinstance(names, list) or len(names) != config["num_outputs"] or not all(
            isinstance(n, str) for n in names):
        raise ConfigError(f"config.output_names must be {config['num_outputs']} strings, "
                          f"got {names!r}")
    if config["task"] == "classification" and config["num_outputs"] < 2:
        raise ConfigError("a classification config needs num_outputs >= 2")
    if not isinstance(config.get("normalize"), bool):
        raise ConfigError(f"config.normalize must be true or false, got {config.get('normalize')!r}")
    if config.get("readout") not in READOUTS:
        raise ConfigError(f"config.readout must be one of {READOUTS}, got {config.get('readout')!r}")
    eps = config.get("batchnorm_eps")
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
        raise ConfigError(f"config.batchnorm_eps must be a positive number, got {eps!r}")
    spec = config.get("feature_spec")
    if spec is not None:
        if not isinstance(spec, dict):
            raise ConfigError("config.feature_spec must be an object")
        if spec.get("encoding") == "one_hot_tag":
            tags = spec.get("tag_values")
            if not isinstance(tags, list) or len(tags) != config["num_features"] or \
                    len(set(tags)) != len(tags) or not all(
                        isinstance(t, int) and not isinstance(t, bool) for t in tags):
                raise ConfigError(
                    f"config.feature_spec.tag_values must be {config['num_features']} "
                    f"distinct integers, got {tags!r}")
        elif spec.get("encoding") == "one_hot_tag_degree":
            # One-hot tag columns, then the one-hot in-degree: max_degree + 1
            # columns, the last for every degree >= max_degree (tu.py).
            tags, degree = spec.get("tag_values"), spec.get("max_degree")
            if not isinstance(degree, int) or isinstance(degree, bool) or \
                    not 0 <= degree <= 1024 or not isinstance(tags, list) or \
                    len(set(tags)) != len(tags) or not all(
                        isinstance(t, int) and not isinstance(t, bool) for t in tags) or \
                    len(tags) + degree + 1 != config["num_features"]:
                raise ConfigError(
                    "config.feature_spec: one_hot_tag_degree needs distinct integer "
                    "tag_values and max_degree in 0..1024 with len(tag_values) + "
                    f"max_degree + 1 = num_features {config['num_features']}, got "
                    f"{tags!r} and {degree!r}")
        elif spec.get("encoding") == "one_hot_tag_attributes":
            # One-hot tag columns, then num_attributes continuous columns.
            tags, count = spec.get("tag_columns"), spec.get("num_attributes")
            if not isinstance(count, int) or isinstance(count, bool) or count < 1 or \
                    not isinstance(tags, list) or len(set(tags)) != len(tags) or \
                    not all(isinstance(t, int) and not isinstance(t, bool) for t in tags) or \
                    len(tags) + count != config["num_features"]:
                raise ConfigError(
                    "config.feature_spec: one_hot_tag_attributes needs distinct integer "
                    "tag_columns and num_attributes >= 1 adding up to num_features "
                    f"{config['num_features']}, got {tags!r} and {count!r}")
        elif spec.get("encoding") == "molecule":
            # The SMILES featurizer of diffpool_ref.featurize (docs/formats.md).
            molecule = spec.get("molecule")
            blocks = molecule.get("atom_features") if isinstance(molecule, dict) else None
            if not isinstance(blocks, list) or not all(
                    isinstance(b, dict) and isinstance(b.get("values"), list) for b in blocks):
                raise ConfigError("config.feature_spec.molecule must hold atom_features "
                                  "blocks with values (diffpool_ref.featurize)")
            width = sum(len(b["values"]) + (1 if b.get("other", False) else 0) for b in blocks)
            if width != config["num_features"]:
                raise ConfigError(f"config.feature_spec.molecule is {width} columns wide, "
                                  f"num_features is {config['num_features']}")
        names = spec.get("names")
        if names is not None and (not isinstance(names, list) or len(names) !=
                                  config["num_features"] or
                                  not all(isinstance(n, str) for n in names)):
            raise ConfigError(f"config.feature_spec.names must be {config['num_features']} "
                              f"strings, got {names!r}")


def load_config(path: str) -> Dict[str, Any]:
    """Reads and validates a config.json; errors name the file."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON: {err}") from None
    try:
        validate_config(config)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    return config


def format_json(value: Any, indent: int = 0) -> str:
    """JSON with objects indented two spaces and lists of scalars on one line."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict) and value:
        items = [f"{pad}{json.dumps(str(k))}: {format_json(v, indent + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [pad + format_json(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(value, separators=(", ", ": "))


def save_config(config: Dict[str, Any], path: str) -> None:
    """Validates and writes `config` as indented JSON."""
    validate_config(config)
    with open(path, "w", encoding="utf-8") as f:
        f.write(format_json(config) + "\n")
