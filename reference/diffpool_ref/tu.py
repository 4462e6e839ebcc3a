"""Reader for the TU graph benchmarks in the text format of shared/data/README.md.

    DS/DS.txt
        line 1: number of graphs
        per graph: "n label", then n lines "tag m nbr_1 ... nbr_m [attr ...]"
        (0-based neighbour indices; edges listed from both ends)
    DS/10fold_idx/{train,test}_idx-K.txt   graph indices, K = 1..10

Tags and labels are raw integers; the dataset maps the sorted distinct tags to
one-hot columns (`tag_values`) and the sorted distinct labels to classes
0..C-1 (`label_values`). A node line "i: tag m j ..." becomes the edges
(src=j, dst=i): node i aggregates from the neighbours it lists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

NUM_FOLDS = 10


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

    def __len__(self) -> int:
        return len(self.graphs)

    @property
    def num_features(self) -> int:
        return len(self.tag_values)

    @property
    def num_classes(self) -> int:
        return len(self.label_values)

    @property
    def max_nodes(self) -> int:
        return max(g.num_nodes for g in self.graphs)

    def features(self, i: int) -> np.ndarray:
        """One-hot tag features of graph i, [n, num_features] float64."""
        return one_hot_tags(self.graphs[i].tags, self.tag_values)

    def label_index(self, i: int) -> int:
        """Class index (0..C-1) of graph i."""
        return self.label_values.index(self.graphs[i].label)

    def labels(self) -> np.ndarray:
        return np.array([self.label_index(i) for i in range(len(self))], dtype=np.int64)

    def fold(self, k: int) -> Tuple[List[int], List[int]]:
        """(train, test) graph indices of split k (1..10), checked."""
        if not 1 <= k <= NUM_FOLDS:
            raise TUFormatError(f"fold must be 1..{NUM_FOLDS}, got {k}")
        train = _read_indices(os.path.join(self.folder, "10fold_idx",
                                           f"train_idx-{k}.txt"), len(self))
        test = _read_indices(os.path.join(self.folder, "10fold_idx",
                                          f"test_idx-{k}.txt"), len(self))
        overlap = set(train) & set(test)
        if overlap:
            raise TUFormatError(f"fold {k}: graph {min(overlap)} is in both "
                                "train and test")
        return train, test


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
    return TUDataset(
        name=name, folder=folder, graphs=graphs,
        tag_values=sorted({t for g in graphs for t in g.tags}),
        label_values=sorted({g.label for g in graphs}))
