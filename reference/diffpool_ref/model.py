"""DiffPool exactly as docs/formats.md specifies it (variant pyg_dense_sage).

Module and parameter names follow PyTorch Geometric's dense DiffPool example
(examples/proteins_diff_pool.py): gnn{l}_pool / gnn{l}_embed blocks of three
DenseSAGEConv + BatchNorm1d layers, then lin1 and lin2, so a state_dict
trained here loads there and vice versa. Any number of pooling levels
L = len(config["clusters"]) >= 0 is supported.

Two representations of a level's graphs, both with node rows stacked (graph
g's rows after graph g-1's; linear layers, BatchNorm and softmax work on the
rows, so nothing is ever padded):

  SparseGraphs  level 1 of a mini-batch: B graphs of any sizes as one
                block-diagonal edge list. Aggregation is a scatter-add over
                the edges, O(E F); SᵀZ, SᵀAS and the link loss are computed
                per graph from the edge list, O(n k F + E k + n k²), never
                forming an n x n matrix.
  DenseGraphs   B graphs of one size m as a [B, m, m] tensor: the coarse
                levels (m = k clusters) and forward_graph's literal per-graph
                formula (B = 1, m = n, A dense as docs/formats.md writes it).

In eval mode BatchNorm is a fixed per-row affine map, so a graph's result
does not depend on its batch, and the batched sparse forward equals the dense
per-graph formula (tests/test_model.py checks both to 1e-12 in float64). In
training mode BatchNorm takes its statistics over all node rows of the batch
(PyG's dense example does the same, except that it also counts padding rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import validate_config

# Added inside the entropy loss's log, as in torch_geometric.nn.dense_diff_pool.
ENTROPY_EPS = 1e-15


def safe_sqrt(squared: Tensor) -> Tensor:
    """sqrt of a non-negative tensor whose gradient at 0 is 0 instead of inf
    (the link loss is exactly 0 when A = SSᵀ, e.g. uniform assignments to
    one cluster; inf times the zero residual would make every gradient NaN).
    The value is sqrt's."""
    positive = squared > 0
    return torch.where(positive, torch.where(positive, squared, torch.ones_like(squared)).sqrt(),
                       torch.zeros_like(squared))


class SparseGraphs:
    """B graphs of any sizes, block-diagonal: x [N, F] stacks the node rows
    (N = sum(sizes)); src, dst [E] are global row indices (edge e adds row
    src[e] into row dst[e], A[dst][src] += 1, duplicates add up). A is held
    as a sparse [N, N] matrix (COO), plus its row-normalized copy for mean
    aggregation; neither ever becomes dense."""

    def __init__(self, x: Tensor, src: Tensor, dst: Tensor, sizes: Sequence[int]):
        self.x, self.src, self.dst = x, src, dst
        self.sizes = [int(n) for n in sizes]
        n = x.shape[0]
        if x.dim() != 2 or n != sum(self.sizes) or min(self.sizes) < 1:
            raise ValueError(f"inconsistent batch: x {list(x.shape)}, sizes {self.sizes}")
        counts = torch.tensor(self.sizes)
        self.graph_of_row = torch.repeat_interleave(torch.arange(len(self.sizes)), counts)
        self.adj = torch.sparse_coo_tensor(
            torch.stack([dst, src]), x.new_ones(dst.shape[0]), (n, n)).coalesce()
        rows, values = self.adj.indices()[0], self.adj.values()
        degree = x.new_zeros(n).index_add_(0, rows, values).clamp(min=1)
        self.mean_adj = torch.sparse_coo_tensor(
            self.adj.indices(), values / degree[rows], (n, n)).coalesce()
        # ‖A_g‖²_F per graph: the squared edge counts of its (dst, src) pairs.
        self.sq_norm_adj = x.new_zeros(len(self.sizes)).index_add_(
            0, self.graph_of_row[rows], values * values)

    @property
    def num_graphs(self) -> int:
        return len(self.sizes)

    def to(self, dtype: torch.dtype) -> "SparseGraphs":
        return SparseGraphs(self.x.to(dtype), self.src, self.dst, self.sizes)

    def aggregate(self, h: Tensor) -> Tensor:
        """Mean over in-neighbours: (A h) / clamp(rowsum(A), min=1), [N, C]."""
        return torch.sparse.mm(self.mean_adj, h)

    def per_graph_mean(self, rows: Tensor) -> Tensor:
        """[N, C] -> [B, C], the mean of each graph's rows."""
        total = rows.new_zeros(self.num_graphs, rows.shape[1]).index_add_(
            0, self.graph_of_row, rows)
        return total / rows.new_tensor(self.sizes).unsqueeze(1)

    def pool(self, s: Tensor, z: Tensor):
        """(H' [B, k, C], A' [B, k, k], link [B]) for assignments s [N, k] and
        embeddings z [N, C]: H' = SᵀZ, A' = SᵀAS and ‖A − SSᵀ‖_F / n² per graph.
        ‖A − SSᵀ‖² = ‖A‖² − 2 tr(SᵀAS) + ‖SᵀS‖², so no n x n matrix is formed."""
        a_s = torch.sparse.mm(self.adj, s)
        h, adj, gram = [], [], []
        for s_g, z_g, as_g in zip(s.split(self.sizes), z.split(self.sizes),
                                  a_s.split(self.sizes)):
            s_t = s_g.t()
            h.append(s_t @ z_g)
            adj.append(s_t @ as_g)
            gram.append(s_t @ s_g)
        h, adj, gram = torch.stack(h), torch.stack(adj), torch.stack(gram)
        trace = adj.diagonal(dim1=1, dim2=2).sum(dim=1)
        squared = (self.sq_norm_adj - 2 * trace + gram.pow(2).sum(dim=(1, 2))).clamp(min=0)
        n = s.new_tensor(self.sizes)
        return h, adj, safe_sqrt(squared) / n.pow(2)


class DenseGraphs:
    """B graphs of m nodes each: x [B*m, F] stacks the rows, adj [B, m, m]."""

    def __init__(self, x: Tensor, adj: Tensor):
        if adj.dim() != 3 or adj.shape[1] != adj.shape[2] or \
                x.dim() != 2 or x.shape[0] != adj.shape[0] * adj.shape[1] or adj.shape[1] < 1:
            raise ValueError(f"inconsistent dense graphs: x {list(x.shape)}, "
                             f"adj {list(adj.shape)}")
        self.x, self.adj = x, adj
        self.num_graphs, self.m = adj.shape[0], adj.shape[1]
        self.sizes = [self.m] * self.num_graphs
        self.degree = adj.sum(dim=-1).clamp(min=1).reshape(-1, 1)   # [B*m, 1]

    def to(self, dtype: torch.dtype) -> "DenseGraphs":
        return DenseGraphs(self.x.to(dtype), self.adj.to(dtype))

    def _view(self, rows: Tensor) -> Tensor:
        return rows.reshape(self.num_graphs, self.m, rows.shape[-1])

    def aggregate(self, h: Tensor) -> Tensor:
        return (self.adj @ self._view(h)).reshape(h.shape) / self.degree

    def per_graph_mean(self, rows: Tensor) -> Tensor:
        return self._view(rows).mean(dim=1)

    def pool(self, s: Tensor, z: Tensor):
        """As SparseGraphs.pool, with the dense formulas of docs/formats.md."""
        s, z = self._view(s), self._view(z)
        s_t = s.transpose(1, 2)
        residual = self.adj - s @ s_t
        link = safe_sqrt(residual.pow(2).sum(dim=(1, 2))) / float(self.m * self.m)
        return s_t @ z, s_t @ self.adj @ s, link


Graphs = Union[SparseGraphs, DenseGraphs]
# The name of a mini-batch before level 1 became sparse.
GraphBatch = SparseGraphs


class DenseSAGEConv(nn.Module):
    """conv(X, A) = lin_rel(A X / clamp(rowsum(A), min=1)) + lin_root(X),
    rows then L2-normalized if `normalize` (PyG's DenseSAGEConv)."""

    def __init__(self, in_channels: int, out_channels: int,
                 normalize: bool = False):
        super().__init__()
        self.normalize = normalize
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=False)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=True)

    def forward(self, x: Tensor, graphs: Graphs) -> Tensor:
        """x [N, in] (the stacked rows) -> [N, out]."""
        out = self.lin_rel(graphs.aggregate(x)) + self.lin_root(x)
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

    def forward(self, x: Tensor, graphs: Graphs) -> Tensor:
        x1 = self.bn1(F.relu(self.conv1(x, graphs)))
        x2 = self.bn2(F.relu(self.conv2(x1, graphs)))
        x3 = self.bn3(F.relu(self.conv3(x2, graphs)))
        x = torch.cat([x1, x2, x3], dim=-1)
        if self.lin is not None:
            x = F.relu(self.lin(x))
        return x


@dataclass
class DiffPoolOutput:
    """out [B, num_outputs]: log-probabilities (classification), per-output
    probabilities (multilabel: sigmoid) or values; logits: lin2's output
    before that activation (a multilabel loss takes these).
    link_loss, entropy_loss [B]: per graph, summed over levels.
    assignments: per level, S [rows of that level, clusters] for all graphs
    stacked as in the batch (see split_assignments)."""
    out: Tensor
    link_loss: Tensor
    entropy_loss: Tensor
    assignments: List[Tensor]
    level_sizes: List[List[int]]
    logits: Optional[Tensor] = None

    def split_assignments(self) -> List[List[Tensor]]:
        """[graph][level] -> S of that graph at that level, [n_l, k_l]."""
        per_level = [list(s.split(sizes)) for s, sizes in
                     zip(self.assignments, self.level_sizes)]
        return [list(levels) for levels in zip(*per_level)] if per_level else \
            [[] for _ in range(self.out.shape[0])]


def _edge_tensor(edge_index, num_nodes: int) -> Tensor:
    """edge_index as a checked [2, E] int64 tensor (ValueError names a bad edge)."""
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
    return edges


def dense_adjacency(edge_index, num_nodes: int,
                    dtype: torch.dtype = torch.float64) -> Tensor:
    """A [n, n] with A[dst][src] += 1 for each edge (duplicates add up).

    edge_index: [2, E] integers, row 0 = sources, row 1 = destinations
    (list, numpy array or tensor). Raises ValueError naming a bad edge."""
    edges = _edge_tensor(edge_index, num_nodes)
    adj = torch.zeros(num_nodes, num_nodes, dtype=dtype)
    adj.index_put_((edges[1], edges[0]),
                   torch.ones(edges.shape[1], dtype=dtype), accumulate=True)
    return adj


def _features(i: int, x) -> Tensor:
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x)
    if x.dim() != 2 or x.shape[0] < 1:
        raise ValueError(f"graph {i}: x must be [num_nodes >= 1, features], "
                         f"got {list(x.shape)}")
    return x


def make_batch(graphs: Sequence[Tuple[Any, Any]],
               dtype: torch.dtype = torch.float64) -> SparseGraphs:
    """Stacks (x [n, F], edge_index [2, E]) pairs into one block-diagonal
    SparseGraphs (edges offset by each graph's first row)."""
    if not graphs:
        raise ValueError("a batch needs at least one graph")
    xs, srcs, dsts = [], [], []
    offset = 0
    for i, (x, edge_index) in enumerate(graphs):
        x = _features(i, x)
        try:
            edges = _edge_tensor(edge_index, x.shape[0])
        except ValueError as err:
            raise ValueError(f"graph {i}: {err}") from None
        xs.append(x.to(dtype))
        srcs.append(edges[0] + offset)
        dsts.append(edges[1] + offset)
        offset += x.shape[0]
    if len({x.shape[1] for x in xs}) != 1:
        raise ValueError(f"graphs disagree on the feature count: "
                         f"{sorted({x.shape[1] for x in xs})}")
    return SparseGraphs(torch.cat(xs, dim=0), torch.cat(srcs), torch.cat(dsts),
                        [x.shape[0] for x in xs])


def make_dense_graph(x, edge_index, dtype: torch.dtype = torch.float64) -> DenseGraphs:
    """One graph with its dense n x n adjacency: the per-graph formula."""
    x = _features(0, x)
    return DenseGraphs(x.to(dtype), dense_adjacency(edge_index, x.shape[0], dtype)[None])


class DiffPool(nn.Module):
    """The DiffPool network of a config dict (docs/formats.md).

    forward(graphs) -> DiffPoolOutput for SparseGraphs (make_batch) or
    DenseGraphs; forward_graph(x, edge_index) for one graph, dense. Parameters
    are float32 when built; call .double() for reference outputs. `dropout`
    (training only, before lin2) is not part of the architecture: inference
    and the exported files do not depend on it."""

    def __init__(self, config: Dict[str, Any], dropout: float = 0.0):
        super().__init__()
        validate_config(config)
        self.config = config
        self.task = config["task"]
        self.clusters: List[int] = list(config["clusters"])
        self.dropout = float(dropout)
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

    def forward(self, graphs: Graphs) -> DiffPoolOutput:
        if graphs.x.shape[1] != self.config["num_features"]:
            raise ValueError(f"x has {graphs.x.shape[1]} feature columns, the "
                             f"model expects {self.config['num_features']}")
        if graphs.x.dtype != self.dtype:
            graphs = graphs.to(self.dtype)
        x, num_graphs = graphs.x, graphs.num_graphs
        link = x.new_zeros(num_graphs)
        entropy = x.new_zeros(num_graphs)
        assignments, level_sizes = [], []
        for level, k in enumerate(self.clusters, start=1):
            s = torch.softmax(getattr(self, f"gnn{level}_pool")(x, graphs), dim=-1)
            z = getattr(self, f"gnn{level}_embed")(x, graphs)
            # Auxiliary losses per graph, as torch_geometric's dense_diff_pool
            # computes them for one graph: ||A - S S^T||_F / n^2 and the mean
            # row entropy of S.
            h, adj, level_link = graphs.pool(s, z)
            link = link + level_link
            row_entropy = -(s * torch.log(s + ENTROPY_EPS)).sum(dim=-1, keepdim=True)
            entropy = entropy + graphs.per_graph_mean(row_entropy)[:, 0]
            assignments.append(s)
            level_sizes.append(list(graphs.sizes))
            x = h.reshape(num_graphs * k, -1)                   # H = S^T Z
            graphs = DenseGraphs(x, adj)                        # A = S^T A S
        z = getattr(self, f"gnn{len(self.clusters) + 1}_embed")(x, graphs)
        y = F.relu(self.lin1(graphs.per_graph_mean(z)))
        if self.dropout > 0:
            y = F.dropout(y, p=self.dropout, training=self.training)
        logits = self.lin2(y)
        y = logits
        if self.task == "classification":
            y = F.log_softmax(logits, dim=-1)
        elif self.task == "multilabel":
            y = torch.sigmoid(logits)
        return DiffPoolOutput(y, link, entropy, assignments, level_sizes, logits)

    def forward_graph(self, x, edge_index) -> DiffPoolOutput:
        """One graph: x [n, F] (n >= 1), edge_index [2, E]; the dense
        per-graph formula of docs/formats.md. out is [1, C]."""
        return self(make_dense_graph(x, edge_index, self.dtype))


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
