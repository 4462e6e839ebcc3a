"""Readers for the TU graph benchmarks: the text format of
shared/data/README.md and the official TU Dortmund raw format.

Text format (load_tu):

    DS/DS.txt
        line 1: number of graphs
        per graph: "n label", then n lines "tag m nbr_1 ... nbr_m [attr ...]"
        (0-based neighbour indices; edges listed from both ends)
    DS/10fold_idx/{train,test}_idx-K.txt   graph indices, K = 1..10

Tags and labels are raw integers; the dataset maps the sorted distinct tags to
one-hot columns (`tag_values`) and the sorted distinct labels to classes
0..C-1 (`label_values`). A node line "i: tag m j ..." becomes the edges
(src=j, dst=i): node i aggregates from the neighbours it lists.

Raw format (load_tu_raw; https://chrsmrrs.github.io/datasets/docs/format/),
N nodes and G graphs, ids 1-based, one line per item:

    DS_A.txt                 "row, col": an edge row -> col (src=row, dst=col,
                             as PyG's read_tu_data); undirected graphs list both
    DS_graph_indicator.txt   graph id (1..G) of node i, nodes grouped by graph
    DS_graph_labels.txt      label of graph g
    DS_node_labels.txt       optional: tag of node i
    DS_node_attributes.txt   optional: "a1, a2, ...", continuous node attributes

Edges are kept as listed (no self-loop removal, no de-duplication: the model
and the runtime treat both exactly). load_dataset picks the format. Node
features are the one-hot tag columns, then the continuous attributes when the
files have any (`feature_names` names every column). Optionally (off by
default, `TUDataset.max_degree`, the trainer's --degree-features D) the one-hot
in-degree follows the tag columns: D + 1 columns "degree=0" .. "degree=D-1",
"degree>=D", where a node's degree is the number of edges whose destination
it is (duplicates and self-loops counted as listed: the count the mean
aggregation divides by; in the text format the m of its line).

Splits: DS/10fold_idx/{train,test}_idx-K.txt when present; otherwise
seeded stratified 10-fold splits (stratified_folds), so the raw datasets of
the TU site, which ship no splits, still get a fixed protocol.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

NUM_FOLDS = 10
# Seed of the stratified folds made for datasets that ship no 10fold_idx.
FOLD_SEED = 0
# Largest max_degree of the degree features (a sanity bound on the width).
MAX_DEGREE_LIMIT = 1024


class TUFormatError(ValueError):
    """The dataset folder or one of its files does not follow the format."""


@dataclass
class TUGraph:
    """One graph as stored: raw tags and label, edges as (src, dst) lists."""
    num_nodes: int
    label: int
    tags: List[int]
    src: List[int]
    dst: List[int]
    attributes: Optional[np.ndarray] = None   # [n, d] when the file has any

    @property
    def edge_index(self) -> np.ndarray:
        """[2, E] int64, row 0 = sources, row 1 = destinations."""
        return np.array([self.src, self.dst], dtype=np.int64).reshape(2, -1)


@dataclass
class TUDataset:
    """A TU dataset: its graphs plus the value -> index maps of tags and labels."""
    name: str
    folder: str
    graphs: List[TUGraph]
    tag_values: List[int] = field(default_factory=list)
    label_values: List[int] = field(default_factory=list)
    num_attributes: int = 0
    format: str = "text"          # "text" or "raw"
    data_files: List[str] = field(default_factory=list)
    # None: no degree columns; D >= 0: one-hot in-degree, D + 1 columns.
    max_degree: Optional[int] = None
    _generated_folds: Optional[List[List[int]]] = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.graphs)

    def use_degree_features(self, max_degree: Optional[int]) -> None:
        """Appends the one-hot in-degree (max_degree + 1 columns, the last
        "degree >= max_degree") to the tag columns; None turns it off.
        Only for datasets without continuous attributes."""
        if max_degree is not None:
            if isinstance(max_degree, bool) or not isinstance(max_degree, int) or \
                    not 0 <= max_degree <= MAX_DEGREE_LIMIT:
                raise ValueError(f"max degree must be an integer in 0..{MAX_DEGREE_LIMIT}, "
                                 f"got {max_degree!r}")
            if self.num_attributes:
                raise ValueError(f"{self.name}: degree features are supported for "
                                 "datasets without continuous node attributes only")
        self.max_degree = max_degree

    @property
    def num_degree_columns(self) -> int:
        return 0 if self.max_degree is None else self.max_degree + 1

    @property
    def num_features(self) -> int:
        return len(self.tag_values) + self.num_degree_columns + self.num_attributes

    @property
    def feature_names(self) -> List[str]:
        return [f"tag={t}" for t in self.tag_values] + \
            (degree_names(self.max_degree) if self.max_degree is not None else []) + \
            [f"attr{j}" for j in range(self.num_attributes)]

    def feature_spec(self) -> Dict[str, object]:
        """config.json's feature_spec for these features."""
        if self.max_degree is not None:
            return {"encoding": "one_hot_tag_degree", "tag_values": list(self.tag_values),
                    "max_degree": self.max_degree, "names": self.feature_names}
        if not self.num_attributes:
            return {"encoding": "one_hot_tag", "tag_values": list(self.tag_values)}
        return {"encoding": "one_hot_tag_attributes", "tag_columns": list(self.tag_values),
                "num_attributes": self.num_attributes, "names": self.feature_names}

    @property
    def num_classes(self) -> int:
        return len(self.label_values)

    @property
    def max_nodes(self) -> int:
        return max(g.num_nodes for g in self.graphs)

    def features(self, i: int) -> np.ndarray:
        """Graph i's features, [n, num_features] float64: one-hot tags, then
        the continuous attributes."""
        graph = self.graphs[i]
        x = one_hot_tags(graph.tags, self.tag_values) if self.tag_values else \
            np.zeros((graph.num_nodes, 0))
        if self.max_degree is not None:
            x = np.concatenate([x, one_hot_degrees(graph.num_nodes, graph.dst,
                                                   self.max_degree)], axis=1)
        if self.num_attributes:
            x = np.concatenate([x, graph.attributes], axis=1)
        return x

    @property
    def fold_source(self) -> str:
        """Where fold() takes its splits from."""
        if os.path.isdir(os.path.join(self.folder, "10fold_idx")):
            return "10fold_idx (shipped)"
        return f"stratified_folds(seed={FOLD_SEED}) (generated: no 10fold_idx)"

    def label_index(self, i: int) -> int:
        """Class index (0..C-1) of graph i."""
        return self.label_values.index(self.graphs[i].label)

    def labels(self) -> np.ndarray:
        return np.array([self.label_index(i) for i in range(len(self))], dtype=np.int64)

    def fold(self, k: int) -> Tuple[List[int], List[int]]:
        """(train, test) graph indices of split k (1..10), checked."""
        if not 1 <= k <= NUM_FOLDS:
            raise TUFormatError(f"fold must be 1..{NUM_FOLDS}, got {k}")
        if not os.path.isdir(os.path.join(self.folder, "10fold_idx")):
            if self._generated_folds is None:
                self._generated_folds = stratified_folds(self.labels(), NUM_FOLDS, FOLD_SEED)
            test = self._generated_folds[k - 1]
            held = set(test)
            return [i for i in range(len(self)) if i not in held], list(test)
        train = _read_indices(os.path.join(self.folder, "10fold_idx",
                                           f"train_idx-{k}.txt"), len(self))
        test = _read_indices(os.path.join(self.folder, "10fold_idx",
                                          f"test_idx-{k}.txt"), len(self))
        overlap = set(train) & set(test)
        if overlap:
            raise TUFormatError(f"fold {k}: graph {min(overlap)} is in both "
                                "train and test")
        return train, test


def stratified_folds(labels: Sequence[int], folds: int = NUM_FOLDS,
                     seed: int = FOLD_SEED) -> List[List[int]]:
    """Test sets of `folds` stratified folds: each class's graphs, shuffled
    with `seed`, are dealt to the folds in turn (the deal continues across
    classes, so fold sizes differ by at most one). Sorted index lists."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    out: List[List[int]] = [[] for _ in range(folds)]
    turn = 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        for i in rng.permutation(members):
            out[turn % folds].append(int(i))
            turn += 1
    return [sorted(f) for f in out]


def one_hot_tags(tags: Sequence[int], tag_values: Sequence[int]) -> np.ndarray:
    """[n, len(tag_values)] float64 with a 1 in the column of each node's tag.
    Raises ValueError for a tag that is not in tag_values."""
    column = {int(t): c for c, t in enumerate(tag_values)}
    x = np.zeros((len(tags), len(tag_values)), dtype=np.float64)
    for node, tag in enumerate(tags):
        if tag not in column:
            raise ValueError(f"node {node}: tag {tag} is not one of the model's "
                             f"tag_values {list(tag_values)}")
        x[node, column[tag]] = 1.0
    return x


def in_degrees(num_nodes: int, dst: Sequence[int]) -> np.ndarray:
    """[n] int64: how many edges end at each node (as listed)."""
    return np.bincount(np.asarray(dst, dtype=np.int64), minlength=num_nodes)[:num_nodes] \
        if len(dst) else np.zeros(num_nodes, dtype=np.int64)


def one_hot_degrees(num_nodes: int, dst: Sequence[int], max_degree: int) -> np.ndarray:
    """[n, max_degree + 1] float64: a 1 in column min(in-degree, max_degree)."""
    x = np.zeros((num_nodes, max_degree + 1), dtype=np.float64)
    x[np.arange(num_nodes), np.minimum(in_degrees(num_nodes, dst), max_degree)] = 1.0
    return x


def degree_names(max_degree: int) -> List[str]:
    """Column names of the degree features: degree=0 .. degree>=max_degree."""
    return [f"degree={d}" for d in range(max_degree)] + [f"degree>={max_degree}"]


def _read_indices(path: str, num_graphs: int) -> List[int]:
    try:
        with open(path, encoding="utf-8") as f:
            tokens = f.read().split()
    except OSError as err:
        raise TUFormatError(f"{path}: {err.strerror}") from None
    try:
        indices = [int(t) for t in tokens]
    except ValueError:
        raise TUFormatError(f"{path}: not a list of integers") from None
    for i in indices:
        if not 0 <= i < num_graphs:
            raise TUFormatError(f"{path}: graph index {i} outside 0..{num_graphs - 1}")
    if len(set(indices)) != len(indices):
        raise TUFormatError(f"{path}: repeated graph index")
    return indices


def load_tu(folder: str) -> TUDataset:
    """Reads DS/DS.txt from `folder` (named DS). Errors carry file:line."""
    folder = os.path.normpath(folder)
    name = os.path.basename(folder)
    path = os.path.join(folder, f"{name}.txt")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise TUFormatError(f"{path}: {err.strerror}") from None

    position = 0

    def next_fields() -> Tuple[int, List[str]]:
        nonlocal position
        while position < len(lines) and not lines[position].strip():
            position += 1
        if position >= len(lines):
            raise TUFormatError(f"{path}: unexpected end of file")
        position += 1
        return position, lines[position - 1].split()

    def ints(line_no: int, tokens: List[str]) -> List[int]:
        try:
            return [int(t) for t in tokens]
        except ValueError:
            raise TUFormatError(f"{path}:{line_no}: expected integers, got "
                                f"{' '.join(tokens)!r}") from None

    line_no, tokens = next_fields()
    if len(tokens) != 1 or ints(line_no, tokens)[0] < 0:
        raise TUFormatError(f"{path}:{line_no}: expected the number of graphs")
    graphs = []
    for _ in range(int(tokens[0])):
        line_no, tokens = next_fields()
        if len(tokens) != 2:
            raise TUFormatError(f"{path}:{line_no}: expected 'num_nodes label'")
        n, label = ints(line_no, tokens)
        if n < 1:
            raise TUFormatError(f"{path}:{line_no}: graph with {n} nodes")
        tags, src, dst, attrs = [], [], [], []
        for node in range(n):
            line_no, tokens = next_fields()
            head = ints(line_no, tokens[:2])
            if len(head) != 2 or head[1] < 0 or len(tokens) < 2 + head[1]:
                raise TUFormatError(f"{path}:{line_no}: expected 'tag m nbr_1 .. nbr_m'")
            tag, m = head
            for j in ints(line_no, tokens[2:2 + m]):
                if not 0 <= j < n:
                    raise TUFormatError(f"{path}:{line_no}: neighbour {j} outside "
                                        f"0..{n - 1}")
                src.append(j)
                dst.append(node)
            tags.append(tag)
            try:
                attrs.append([float(t) for t in tokens[2 + m:]])
            except ValueError:
                raise TUFormatError(f"{path}:{line_no}: bad node attribute") from None
        widths = {len(a) for a in attrs}
        if len(widths) != 1:
            raise TUFormatError(f"{path}:{line_no}: nodes disagree on the "
                                "number of attributes")
        attributes = np.array(attrs) if widths != {0} else None
        graphs.append(TUGraph(n, label, tags, src, dst, attributes))
    if any(line.strip() for line in lines[position:]):
        raise TUFormatError(f"{path}:{position + 1}: data after the last graph")
    if not graphs:
        raise TUFormatError(f"{path}: no graphs")
    widths = {0 if g.attributes is None else g.attributes.shape[1] for g in graphs}
    if len(widths) != 1:
        raise TUFormatError(f"{path}: graphs disagree on the number of node "
                            f"attributes: {sorted(widths)}")
    return TUDataset(
        name=name, folder=folder, graphs=graphs,
        tag_values=sorted({t for g in graphs for t in g.tags}),
        label_values=sorted({g.label for g in graphs}),
        num_attributes=widths.pop(), format="text", data_files=[path])


def _raw_lines(path: str, required: bool) -> Optional[List[Tuple[int, str]]]:
    """(line number, text) of the non-empty lines of `path`; None when the
    file is absent and not required."""
    if not os.path.isfile(path):
        if required:
            raise TUFormatError(f"{path}: No such file or directory")
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return [(i, line.strip()) for i, line in enumerate(f, 1) if line.strip()]
    except OSError as err:
        raise TUFormatError(f"{path}: {err.strerror}") from None


def _raw_numbers(path: str, lines: List[Tuple[int, str]], kind, width=None):
    """Comma- (or space-) separated numbers per line, checked."""
    rows = []
    for line_no, text in lines:
        tokens = [t for t in text.replace(",", " ").split() if t]
        if width is not None and len(tokens) != width:
            raise TUFormatError(f"{path}:{line_no}: expected {width} value(s), got {text!r}")
        try:
            rows.append([kind(t) for t in tokens])
        except ValueError:
            raise TUFormatError(f"{path}:{line_no}: expected "
                                f"{'integers' if kind is int else 'numbers'}, "
                                f"got {text!r}") from None
    return rows


def load_tu_raw(folder: str) -> TUDataset:
    """Reads the official TU raw format, DS_*.txt in `folder` (named DS) or in
    its raw/ subfolder. Errors carry file:line."""
    folder = os.path.normpath(folder)
    name = os.path.basename(folder)
    base = folder
    if not os.path.isfile(os.path.join(base, f"{name}_A.txt")) and \
            os.path.isfile(os.path.join(folder, "raw", f"{name}_A.txt")):
        base = os.path.join(folder, "raw")

    def path_of(part: str) -> str:
        return os.path.join(base, f"{name}_{part}.txt")

    indicator = [r[0] for r in _raw_numbers(
        path_of("graph_indicator"), _raw_lines(path_of("graph_indicator"), True), int, 1)]
    graph_labels = [r[0] for r in _raw_numbers(
        path_of("graph_labels"), _raw_lines(path_of("graph_labels"), True), int, 1)]
    edges = _raw_numbers(path_of("A"), _raw_lines(path_of("A"), True), int, 2)
    tag_lines = _raw_lines(path_of("node_labels"), False)
    attr_lines = _raw_lines(path_of("node_attributes"), False)
    num_nodes, num_graphs = len(indicator), len(graph_labels)
    if num_graphs == 0:
        raise TUFormatError(f"{path_of('graph_labels')}: no graphs")
    # Nodes must come grouped by graph, graphs 1..G in order, none empty.
    first = [0] * (num_graphs + 2)     # first[g]: index of graph g's first node
    previous = 0
    for node, g in enumerate(indicator):
        if g > num_graphs:
            raise TUFormatError(f"{path_of('graph_indicator')}:{node + 1}: graph id {g}, "
                                f"but {path_of('graph_labels')} has {num_graphs} labels")
        if g == previous + 1:
            first[g] = node
        elif g != previous:
            raise TUFormatError(f"{path_of('graph_indicator')}:{node + 1}: graph id {g} "
                                f"after {previous} (expected nodes grouped by graph, "
                                f"ids 1..{num_graphs} in order, none empty)")
        previous = g
    if previous != num_graphs:
        raise TUFormatError(f"{path_of('graph_indicator')}: nodes of {previous} graphs, "
                            f"{path_of('graph_labels')} has {num_graphs} labels")
    first[num_graphs + 1] = num_nodes
    tags = None
    if tag_lines is not None:
        rows = _raw_numbers(path_of("node_labels"), tag_lines, int)
        if len(rows) != num_nodes or any(len(r) < 1 for r in rows):
            raise TUFormatError(f"{path_of('node_labels')}: {len(rows)} lines for "
                                f"{num_nodes} nodes")
        tags = [r[0] for r in rows]
    attributes = None
    if attr_lines is not None:
        rows = _raw_numbers(path_of("node_attributes"), attr_lines, float)
        if len(rows) != num_nodes:
            raise TUFormatError(f"{path_of('node_attributes')}: {len(rows)} lines for "
                                f"{num_nodes} nodes")
        if len({len(r) for r in rows}) != 1 or not rows[0]:
            raise TUFormatError(f"{path_of('node_attributes')}: nodes disagree on the "
                                "number of attributes")
        attributes = np.array(rows, dtype=np.float64)
    if tags is None and attributes is None:
        raise TUFormatError(f"{base}: {name}_node_labels.txt and "
                            f"{name}_node_attributes.txt are both absent: no node features")
    src = [[] for _ in range(num_graphs)]
    dst = [[] for _ in range(num_graphs)]
    for (line_no, _), (row, col) in zip(_raw_lines(path_of("A"), True), edges):
        for v in (row, col):
            if not 1 <= v <= num_nodes:
                raise TUFormatError(f"{path_of('A')}:{line_no}: node {v} outside "
                                    f"1..{num_nodes}")
        g = indicator[row - 1]
        if indicator[col - 1] != g:
            raise TUFormatError(f"{path_of('A')}:{line_no}: edge {row}, {col} joins "
                                f"graphs {g} and {indicator[col - 1]}")
        src[g - 1].append(row - 1 - first[g])
        dst[g - 1].append(col - 1 - first[g])
    graphs = []
    for g in range(1, num_graphs + 1):
        lo, hi = first[g], first[g + 1]
        graphs.append(TUGraph(
            hi - lo, graph_labels[g - 1], tags[lo:hi] if tags is not None else [0] * (hi - lo),
            src[g - 1], dst[g - 1], attributes[lo:hi] if attributes is not None else None))
    files = [path_of(p) for p in ("A", "graph_indicator", "graph_labels", "node_labels",
                                  "node_attributes") if os.path.isfile(path_of(p))]
    return TUDataset(
        name=name, folder=folder, graphs=graphs,
        tag_values=sorted(set(tags)) if tags is not None else [],
        label_values=sorted(set(graph_labels)),
        num_attributes=attributes.shape[1] if attributes is not None else 0,
        format="raw", data_files=files)


def load_dataset(folder: str) -> TUDataset:
    """load_tu when DS/DS.txt exists, else load_tu_raw (DS_A.txt in DS/ or
    DS/raw/)."""
    folder = os.path.normpath(folder)
    name = os.path.basename(folder)
    if os.path.isfile(os.path.join(folder, f"{name}.txt")):
        return load_tu(folder)
    if any(os.path.isfile(os.path.join(folder, sub, f"{name}_A.txt")) for sub in ("", "raw")):
        return load_tu_raw(folder)
    raise TUFormatError(f"{folder}: neither {name}.txt (text format) nor "
                        f"{name}_A.txt (raw format) found")
