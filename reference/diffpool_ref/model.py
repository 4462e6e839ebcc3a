"""DiffPool exactly as docs/formats.md specifies it (variant pyg_dense_sage).

Module and parameter names follow PyTorch Geometric's dense DiffPool example
(examples/proteins_diff_pool.py): gnn{l}_pool / gnn{l}_embed blocks of three
DenseSAGEConv + BatchNorm1d layers, then lin1 and lin2, so a state_dict
trained here loads there and vice versa. Any number of pooling levels
L = len(config["clusters"]) >= 0 is supported.

Node features are never padded. A batch stacks the node rows of its graphs
(linear layers, BatchNorm and softmax work on those rows) and keeps each
graph's adjacency in its own slice of a [B, m, m] tensor, so aggregation and
pooling are batched matrix products that never mix graphs; a batch of one
graph is exactly the per-graph formula of docs/formats.md. Batching matters
only in training mode, where BatchNorm takes its statistics over all rows of
the batch (PyG's dense example does the same, except that it also counts its
padding rows). In eval mode a graph's result does not depend on its batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import validate_config

# Added inside the entropy loss's log, as in torch_geometric.nn.dense_diff_pool.
ENTROPY_EPS = 1e-15


class DenseSAGEConv(nn.Module):
    """conv(X, A) = lin_rel(A X / clamp(rowsum(A), min=1)) + lin_root(X),
    rows then L2-normalized if `normalize` (PyG's DenseSAGEConv)."""

    def __init__(self, in_channels: int, out_channels: int,
                 normalize: bool = False):
        super().__init__()
        self.normalize = normalize
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=False)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=True)

    def forward(self, x: Tensor, graphs: "GraphBatch") -> Tensor:
        """x [N, in] (the batch's stacked rows) -> [N, out]."""
        aggregate = graphs.unpad(graphs.adj @ graphs.pad(x)) / graphs.degree
        out = self.lin_rel(aggregate) + self.lin_root(x)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        return out


class GNNBlock(nn.Module):
    """Three DenseSAGEConv layers, each followed by ReLU then BatchNorm1d;
    returns [x1 | x2 | x3], through relu(lin(.)) when `lin` is set (pooling
    blocks). Named like the `GNN` class of PyG's example."""

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: int, normalize: bool = False,
                 lin: bool = True, eps: float = 1e-5):
        super().__init__()
        self.conv1 = DenseSAGEConv(in_channels, hidden_channels, normalize)
        self.bn1 = nn.BatchNorm1d(hidden_channels, eps=eps)
        self.conv2 = DenseSAGEConv(hidden_channels, hidden_channels, normalize)
        self.bn2 = nn.BatchNorm1d(hidden_channels, eps=eps)
        self.conv3 = DenseSAGEConv(hidden_channels, out_channels, normalize)
        self.bn3 = nn.BatchNorm1d(out_channels, eps=eps)
        self.lin = (nn.Linear(2 * hidden_channels + out_channels, out_channels)
                    if lin else None)

    def forward(self, x: Tensor, graphs: "GraphBatch") -> Tensor:
        x1 = self.bn1(F.relu(self.conv1(x, graphs)))
        x2 = self.bn2(F.relu(self.conv2(x1, graphs)))
        x3 = self.bn3(F.relu(self.conv3(x2, graphs)))
        x = torch.cat([x1, x2, x3], dim=-1)
        if self.lin is not None:
            x = F.relu(self.lin(x))
        return x


class GraphBatch:
    """B graphs without padding in their features: x [N, F] stacks the node
    rows (graph g's after graph g-1's, N = sum(sizes)); adj [B, m, m] holds
    each graph's A in its top-left n_g x n_g corner (m = max n_g, zeros
    elsewhere). pad / unpad move rows between [N, C] and [B, m, C]."""

    def __init__(self, x: Tensor, adj: Tensor, sizes: Sequence[int]):
        self.x, self.adj, self.sizes = x, adj, [int(n) for n in sizes]
        if adj.dim() != 3 or adj.shape[0] != len(self.sizes) or \
                adj.shape[1] != adj.shape[2] or adj.shape[1] != max(self.sizes) \
                or x.shape[0] != sum(self.sizes):
            raise ValueError(f"inconsistent batch: x {list(x.shape)}, adj "
                             f"{list(adj.shape)}, sizes {self.sizes}")
        counts = torch.tensor(self.sizes)
        self.graph_of_row = torch.repeat_interleave(torch.arange(len(self.sizes)), counts)
        starts = torch.cumsum(counts, 0) - counts
        self.position_of_row = torch.arange(x.shape[0]) - starts[self.graph_of_row]
        # deg = row sum of A clamped to 1, per row of x: [N, 1].
        self.degree = self.unpad(adj.sum(dim=-1, keepdim=True)).clamp(min=1)

    @property
    def num_graphs(self) -> int:
        return len(self.sizes)

    def pad(self, rows: Tensor) -> Tensor:
        """[N, C] -> [B, m, C], zeros past each graph's rows."""
        padded = rows.new_zeros(self.num_graphs, self.adj.shape[1], rows.shape[1])
        return padded.index_put((self.graph_of_row, self.position_of_row), rows)

    def unpad(self, padded: Tensor) -> Tensor:
        """[B, m, C] -> [N, C], the inverse of pad."""
        return padded[self.graph_of_row, self.position_of_row]

    def per_graph_sum(self, values: Tensor) -> Tensor:
        """[N] -> [B], summed over each graph's rows."""
        return values.new_zeros(self.num_graphs).index_add(0, self.graph_of_row, values)


@dataclass
class DiffPoolOutput:
    """out [B, num_outputs]: log-probabilities (classification) or values.
    link_loss, entropy_loss [B]: per graph, summed over levels.
    assignments: per level, S [rows of that level, clusters] for all graphs
    stacked as in the batch (see split_assignments)."""
    out: Tensor
    link_loss: Tensor
    entropy_loss: Tensor
    assignments: List[Tensor]
    level_sizes: List[List[int]]

    def split_assignments(self) -> List[List[Tensor]]:
        """[graph][level] -> S of that graph at that level, [n_l, k_l]."""
        per_level = [list(s.split(sizes)) for s, sizes in
                     zip(self.assignments, self.level_sizes)]
        return [list(levels) for levels in zip(*per_level)] if per_level else \
            [[] for _ in range(self.out.shape[0])]


def dense_adjacency(edge_index, num_nodes: int,
                    dtype: torch.dtype = torch.float64) -> Tensor:
    """A [n, n] with A[dst][src] += 1 for each edge (duplicates add up).

    edge_index: [2, E] integers, row 0 = sources, row 1 = destinations
    (list, numpy array or tensor). Raises ValueError naming a bad edge."""
    if num_nodes < 1:
        raise ValueError(f"a graph needs at least 1 node, got {num_nodes}")
    edges = torch.as_tensor(np.asarray(edge_index, dtype=np.int64)
                            if not isinstance(edge_index, Tensor) else edge_index)
    if edges.numel() == 0:
        edges = edges.reshape(2, 0)
    if edges.dim() != 2 or edges.shape[0] != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(edges.shape)}")
    if edges.dtype.is_floating_point or edges.dtype == torch.bool:
        raise ValueError(f"edge_index must hold integers, got {edges.dtype}")
    edges = edges.long()
    for row, what in ((0, "src"), (1, "dst")):
        bad = ((edges[row] < 0) | (edges[row] >= num_nodes)).nonzero()
        if bad.numel():
            e = int(bad[0, 0])
            raise ValueError(f"edge {e}: {what} {int(edges[row, e])} outside "
                             f"0..{num_nodes - 1} (graph of {num_nodes} nodes)")
    adj = torch.zeros(num_nodes, num_nodes, dtype=dtype)
    adj.index_put_((edges[1], edges[0]),
                   torch.ones(edges.shape[1], dtype=dtype), accumulate=True)
    return adj


def make_batch(graphs: Sequence[Tuple[Any, Any]],
               dtype: torch.dtype = torch.float64) -> GraphBatch:
    """Stacks (x [n, F], edge_index [2, E]) pairs into one GraphBatch."""
    if not graphs:
        raise ValueError("a batch needs at least one graph")
    xs, adjs = [], []
    for i, (x, edge_index) in enumerate(graphs):
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
        if x.dim() != 2 or x.shape[0] < 1:
            raise ValueError(f"graph {i}: x must be [num_nodes >= 1, features], "
                             f"got {list(x.shape)}")
        try:
            adjs.append(dense_adjacency(edge_index, x.shape[0], dtype))
        except ValueError as err:
            raise ValueError(f"graph {i}: {err}") from None
        xs.append(x.to(dtype))
    if len({x.shape[1] for x in xs}) != 1:
        raise ValueError(f"graphs disagree on the feature count: "
                         f"{sorted({x.shape[1] for x in xs})}")
    sizes = [x.shape[0] for x in xs]
    m = max(sizes)
    adj = torch.zeros(len(adjs), m, m, dtype=dtype)
    for g, a in enumerate(adjs):
        adj[g, :a.shape[0], :a.shape[0]] = a
    return GraphBatch(torch.cat(xs, dim=0), adj, sizes)


class DiffPool(nn.Module):
    """The DiffPool network of a config dict (docs/formats.md).

    forward(batch) -> DiffPoolOutput for a GraphBatch; forward_graph(x,
    edge_index) for one graph. Parameters are float32 when built; call
    .double() for reference outputs."""

    def __init__(self, config: Dict[str, Any]):
        super().__init__()
        validate_config(config)
        self.config = config
        self.task = config["task"]
        self.clusters: List[int] = list(config["clusters"])
        hidden = config["hidden_channels"]
        embed = config["embedding_channels"]
        normalize = config["normalize"]
        eps = float(config["batchnorm_eps"])
        concat = 2 * hidden + embed
        in_channels = config["num_features"]
        for level, k in enumerate(self.clusters, start=1):
            self.add_module(f"gnn{level}_pool", GNNBlock(
                in_channels, hidden, k, normalize, lin=True, eps=eps))
            self.add_module(f"gnn{level}_embed", GNNBlock(
                in_channels, hidden, embed, normalize, lin=False, eps=eps))
            in_channels = concat
        self.add_module(f"gnn{len(self.clusters) + 1}_embed", GNNBlock(
            in_channels, hidden, embed, normalize, lin=False, eps=eps))
        self.lin1 = nn.Linear(concat, config["lin_hidden"])
        self.lin2 = nn.Linear(config["lin_hidden"], config["num_outputs"])

    @property
    def dtype(self) -> torch.dtype:
        return self.lin1.weight.dtype

    def forward(self, batch: GraphBatch) -> DiffPoolOutput:
        if batch.x.shape[1] != self.config["num_features"]:
            raise ValueError(f"x has {batch.x.shape[1]} feature columns, the "
                             f"model expects {self.config['num_features']}")
        graphs = batch
        if batch.x.dtype != self.dtype:
            graphs = GraphBatch(batch.x.to(self.dtype), batch.adj.to(self.dtype),
                                batch.sizes)
        x, num_graphs = graphs.x, graphs.num_graphs
        link = x.new_zeros(num_graphs)
        entropy = x.new_zeros(num_graphs)
        assignments, level_sizes = [], []
        for level, k in enumerate(self.clusters, start=1):
            s = torch.softmax(getattr(self, f"gnn{level}_pool")(x, graphs), dim=-1)
            z = getattr(self, f"gnn{level}_embed")(x, graphs)
            counts = x.new_tensor(graphs.sizes)
            # Auxiliary losses per graph, as torch_geometric's dense_diff_pool
            # computes them for one graph: ||A - S S^T||_F / n^2 and the mean
            # row entropy of S. Padding is 0 in A and in S.
            s_pad, z_pad, adj = graphs.pad(s), graphs.pad(z), graphs.adj
            residual = adj - s_pad @ s_pad.transpose(1, 2)
            link = link + residual.pow(2).sum(dim=(1, 2)).sqrt() / counts.pow(2)
            row_entropy = -(s * torch.log(s + ENTROPY_EPS)).sum(dim=-1)
            entropy = entropy + graphs.per_graph_sum(row_entropy) / counts
            assignments.append(s)
            level_sizes.append(list(graphs.sizes))
            s_t = s_pad.transpose(1, 2)
            x = (s_t @ z_pad).reshape(num_graphs * k, -1)     # H = S^T Z
            graphs = GraphBatch(x, s_t @ adj @ s_pad, [k] * num_graphs)  # S^T A S
        z = getattr(self, f"gnn{len(self.clusters) + 1}_embed")(x, graphs)
        readout = graphs.pad(z).sum(dim=1) / x.new_tensor(graphs.sizes)[:, None]
        y = self.lin2(F.relu(self.lin1(readout)))
        if self.task == "classification":
            y = F.log_softmax(y, dim=-1)
        return DiffPoolOutput(y, link, entropy, assignments, level_sizes)

    def forward_graph(self, x, edge_index) -> DiffPoolOutput:
        """One graph: x [n, F] (n >= 1), edge_index [2, E]. out is [1, C]."""
        return self(make_batch([(x, edge_index)], self.dtype))


def build_model(config: Dict[str, Any]) -> DiffPool:
    """A freshly initialized float32 DiffPool for `config`."""
    return DiffPool(config)


def load_state(model: DiffPool, tensors: Dict[str, Any]) -> None:
    """Loads name -> array/tensor into `model` (strict: same names, shapes),
    casting to the model's dtypes. Raises ValueError listing mismatches."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"state mismatch: missing {missing}, unexpected {unexpected}")
    state = {}
    for name, ref in expected.items():
        value = torch.as_tensor(np.asarray(tensors[name]) if not isinstance(
            tensors[name], Tensor) else tensors[name])
        if tuple(value.shape) != tuple(ref.shape):
            raise ValueError(f"{name}: shape {list(value.shape)}, "
                             f"the config needs {list(ref.shape)}")
        state[name] = value.to(ref.dtype)
    model.load_state_dict(state, strict=True)
