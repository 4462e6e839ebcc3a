"""Graph sets (graphs.json of docs/formats.md): records, random graphs and
float64 reference outputs.

    {"format": "diffpool-graphs", "version": 1, "num_features": F,
     "graphs": [{"name", "num_nodes", "x", "edge_index", "label"?,
                 "expected"?, "expected_assignments"?}]}

Floats are written with Python's shortest round-trip repr, which reads back
as the identical float64 (as accurate as %.17g).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from .model import DiffPool
from .tu import TUDataset, one_hot_degrees, one_hot_tags

FORMAT = "diffpool-graphs"
VERSION = 1

# The first graphs of a random set, in this order; the rest are "random".
RANDOM_KINDS = ("single_node", "edgeless", "isolated_nodes", "max_nodes")


class GraphSetError(ValueError):
    """A graphs.json document does not follow docs/formats.md."""


@dataclass
class GraphRecord:
    """One input graph: x [n, F], edge_index [2, E] (src row, dst row)."""
    name: str
    x: np.ndarray
    edge_index: np.ndarray
    label: Optional[int] = None

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])


def encode_features(graph, spec: Dict[str, Any]) -> np.ndarray:
    """x [n, F] of a TUGraph as a config's feature_spec asks: one_hot_tag
    (tag_values), one_hot_tag_degree (tag_values, then the one-hot in-degree
    of max_degree + 1 columns), one_hot_tag_attributes (tag_columns, then
    num_attributes continuous attributes) or dense (the attributes alone)."""
    encoding = spec.get("encoding")
    if encoding == "one_hot_tag":
        return one_hot_tags(graph.tags, spec["tag_values"])
    if encoding == "one_hot_tag_degree":
        return np.concatenate([one_hot_tags(graph.tags, spec["tag_values"]),
                               one_hot_degrees(graph.num_nodes, graph.dst,
                                               spec["max_degree"])], axis=1)
    width = 0 if graph.attributes is None else graph.attributes.shape[1]
    if encoding == "one_hot_tag_attributes":
        if width != spec["num_attributes"]:
            raise ValueError(f"{width} node attributes, the model expects "
                             f"{spec['num_attributes']}")
        return np.concatenate([one_hot_tags(graph.tags, spec["tag_columns"]),
                               graph.attributes], axis=1)
    if encoding == "dense" and width:
        return np.asarray(graph.attributes, dtype=np.float64)
    raise ValueError(f"TU graphs cannot be encoded as feature_spec.encoding "
                     f"{encoding!r}" + (" (the graph has no attributes)" if
                                        encoding == "dense" else ""))


def tu_records(dataset: TUDataset, indices: Sequence[int],
               config: Dict[str, Any]) -> List[GraphRecord]:
    """Records for dataset graphs `indices`, encoded as `config` expects
    (encode_features), labels as positions in output_names."""
    spec = config.get("feature_spec") or {}
    records = []
    for i in indices:
        graph = dataset.graphs[i]
        name = f"{dataset.name}/{i}"
        if graph.num_nodes > config["max_nodes"]:
            raise ValueError(f"{name}: {graph.num_nodes} nodes > the model's "
                             f"max_nodes {config['max_nodes']}")
        try:
            x = encode_features(graph, spec)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
        label = None
        if config["task"] == "classification" and \
                str(graph.label) in config["output_names"]:
            label = config["output_names"].index(str(graph.label))
        records.append(GraphRecord(name, x, graph.edge_index, label))
    return records


def random_records(count: int, seed: int,
                   config: Dict[str, Any]) -> List[GraphRecord]:
    """`count` seeded random graphs with one-hot features: first the kinds of
    RANDOM_KINDS (1 node; several nodes and no edges; isolated nodes among
    edges; exactly max_nodes nodes), then random sizes in 1..max_nodes.
    Edges are undirected pairs without self-loops or duplicates, listed from
    both ends, in shuffled order."""
    rng = np.random.default_rng(seed)
    max_nodes, num_features = config["max_nodes"], config["num_features"]
    records = []
    for i in range(count):
        kind = RANDOM_KINDS[i] if i < len(RANDOM_KINDS) else "random"
        if kind == "single_node":
            n = 1
        elif kind == "max_nodes":
            n = max_nodes
        elif kind in ("edgeless", "isolated_nodes"):
            n = int(rng.integers(min(2, max_nodes), max_nodes + 1))
        else:
            n = int(rng.integers(1, max_nodes + 1))
        # Nodes that may take edges; isolated_nodes keeps at least one out.
        connected = np.arange(n)
        if kind == "isolated_nodes" and n >= 2:
            isolated = rng.choice(n, size=int(rng.integers(1, n // 2 + 1)), replace=False)
            connected = np.setdiff1d(connected, isolated)
        pairs = []
        if kind != "edgeless":
            density = rng.uniform(0.1, 0.6)
            pairs = [(int(u), int(v)) for a, u in enumerate(connected)
                     for v in connected[a + 1:] if rng.random() < density]
        edges = [(u, v) for u, v in pairs] + [(v, u) for u, v in pairs]
        order = rng.permutation(len(edges))
        edge_index = np.array([[edges[e][0] for e in order],
                               [edges[e][1] for e in order]],
                              dtype=np.int64).reshape(2, -1)
        x = np.zeros((n, num_features))
        x[np.arange(n), rng.integers(0, num_features, size=n)] = 1.0
        records.append(GraphRecord(f"random/{i}/{kind}", x, edge_index))
    return records


@torch.no_grad()
def reference_outputs(model: DiffPool, records: Sequence[GraphRecord],
                      assignments: bool = False) -> List[Dict[str, Any]]:
    """Runs `model` (put in eval mode; use a float64 model for reference
    outputs) on each graph alone; returns {"expected": [...]} dicts with
    "expected_assignments" (S per level, nested lists) when asked."""
    model.eval()
    results = []
    for record in records:
        try:
            output = model.forward_graph(record.x, record.edge_index)
        except ValueError as err:
            raise ValueError(f"{record.name}: {err}") from None
        result: Dict[str, Any] = {"expected": output.out[0].tolist()}
        if assignments:
            result["expected_assignments"] = [s.tolist() for s in output.assignments]
        results.append(result)
    return results


def _numbers(array: np.ndarray) -> list:
    """Nested lists; integral arrays as ints (one-hot rows stay short)."""
    if np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        return array.astype(np.int64).tolist()
    return array.astype(np.float64).tolist()


def graphs_document(records: Sequence[GraphRecord], num_features: int,
                    outputs: Optional[Sequence[Dict[str, Any]]] = None
                    ) -> Dict[str, Any]:
    """The graphs.json dict for `records` (+ reference outputs, if given)."""
    if outputs is not None and len(outputs) != len(records):
        raise ValueError(f"{len(outputs)} outputs for {len(records)} graphs")
    graphs = []
    for i, record in enumerate(records):
        if record.x.ndim != 2 or record.x.shape[1] != num_features:
            raise ValueError(f"{record.name}: x has shape {list(record.x.shape)}, "
                             f"expected [n, {num_features}]")
        entry: Dict[str, Any] = {
            "name": record.name,
            "num_nodes": record.num_nodes,
            "x": _numbers(record.x),
            "edge_index": np.asarray(record.edge_index, dtype=np.int64)
                            .reshape(2, -1).tolist(),
        }
        if record.label is not None:
            entry["label"] = int(record.label)
        if outputs is not None:
            entry.update(outputs[i])
        graphs.append(entry)
    return {"format": FORMAT, "version": VERSION,
            "num_features": int(num_features), "graphs": graphs}


def write_graphs(document: Dict[str, Any], path: str) -> None:
    """Writes a graphs.json document: one graph per line, for readable diffs."""
    head = {k: v for k, v in document.items() if k != "graphs"}
    lines = [json.dumps(g, separators=(",", ":")) for g in document["graphs"]]
    text = json.dumps(head, separators=(", ", ": "))[:-1]
    text += ', "graphs": [\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)  # guards the hand-assembled layout
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def read_graphs(path: str) -> List[Dict[str, Any]]:
    """Reads graphs.json; returns the graph entries, each with numpy "x" and
    "edge_index". Raises GraphSetError naming the file and graph."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except OSError as err:
        raise GraphSetError(f"{path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise GraphSetError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or \
            document.get("version") != VERSION:
        raise GraphSetError(f"{path}: not a {FORMAT} version {VERSION} document")
    num_features = document.get("num_features")
    graphs = []
    for i, entry in enumerate(document.get("graphs", [])):
        where = f"{path}: graph {i} ({entry.get('name', '?')})"
        x = np.asarray(entry.get("x"), dtype=np.float64)
        edges = np.asarray(entry.get("edge_index"), dtype=np.int64)
        n = entry.get("num_nodes")
        if x.ndim != 2 or x.shape != (n, num_features) or n < 1:
            raise GraphSetError(f"{where}: x shape {list(x.shape)} does not match "
                                f"num_nodes {n} x num_features {num_features}")
        edges = edges.reshape(2, -1) if edges.size == 0 else edges
        if edges.ndim != 2 or edges.shape[0] != 2 or \
                (edges.size and (edges.min() < 0 or edges.max() >= n)):
            raise GraphSetError(f"{where}: edge_index must be [2, E] in 0..{n - 1}")
        graphs.append(dict(entry, x=x, edge_index=edges))
    return graphs
