"""The DiffPool variants diffpool-convert reads (docs/converter.md), as
PyTorch models with the parameter names their authors' code uses, for the
converter's end-to-end tests: build one with random weights, save its
state_dict with torch.save, and write float64 reference outputs.

PyG-equivalent dense convolutions, written from PyTorch Geometric's
documented formulas (torch_geometric is not installed here):

  DenseSAGEConv   lin_rel(A x / clamp(rowsum A, 1)) + lin_root(x), bias on
                  lin_root (PyG 2.x) or on lin_rel (older PyG), optional L2
                  normalize
  DenseGCNConv    D^-1/2 A^ D^-1/2 lin(x) + bias, A^ = A with the diagonal set
                  to 1, D = diag(clamp(rowsum A^, 1))
  DenseGINConv    nn(A x + (1 + eps) x), eps a parameter or buffer of shape [1]
  DenseGraphConv  lin_rel(A x [/ clamp(rowsum A, 1) for aggr mean]) + lin_root(x),
                  bias on lin_rel

PygDiffPool is PyG's dense DiffPool example (examples/proteins_diff_pool.py)
with one of these convolutions: GNN blocks conv1..3 (ReLU, then BatchNorm),
concatenated, pooling blocks' lin + ReLU, mean readout, lin1, lin2.

SoftPoolingGcnEncoder re-implements the original DiffPool code
(RexYing/diffpool, encoders.py) on the CPU with its module names, including
its quirks: GraphConv y = (A x) W + b then L2 normalization; after ReLU a
*fresh* nn.BatchNorm1d(num_nodes) in training mode (per node, statistics over
the batch and the features: at batch size 1 a per-node standardization);
every graph padded to max_num_nodes and masked, so the level-0 max readout
also sees the padding's zeros.

CLI (the ctest fixture): python -m diffpool_ref.variants --out DIR writes
DIR/<case>/{config.json, model.pt, graphs.json} for every case of CASES.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import format_json
from .graphset import GraphRecord, graphs_document, random_records, write_graphs
from .model import dense_adjacency

PYG_VARIANTS = ("pyg_dense_sage", "pyg_dense_sage_rel_bias", "pyg_dense_gcn",
                "pyg_dense_gin", "pyg_dense_graph_conv")
REXYING = "rexying_diffpool"


# --- PyG's dense convolutions ------------------------------------------------

class DenseSAGEConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, normalize: bool = False,
                 bias: bool = True, bias_on_rel: bool = False):
        super().__init__()
        self.normalize = normalize
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=bias and bias_on_rel)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=bias and not bias_on_rel)

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        out = adj @ x / adj.sum(dim=-1, keepdim=True).clamp(min=1)
        out = self.lin_rel(out) + self.lin_root(x)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out


class DenseGCNConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        adj = adj.clone()
        idx = torch.arange(adj.shape[-1])
        adj[..., idx, idx] = 1  # add_loop: the diagonal is set, not incremented
        d = adj.sum(dim=-1).clamp(min=1).pow(-0.5)
        adj = d.unsqueeze(-1) * adj * d.unsqueeze(-2)
        return adj @ self.lin(x) + self.bias


class DenseGINConv(nn.Module):
    def __init__(self, mlp: nn.Module, eps: float = 0.0, train_eps: bool = False):
        super().__init__()
        self.nn = mlp
        if train_eps:
            self.eps = nn.Parameter(torch.tensor([float(eps)]))
        else:
            self.register_buffer("eps", torch.tensor([float(eps)]))

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        return self.nn(adj @ x + (1 + self.eps) * x)


class DenseGraphConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, aggr: str = "add"):
        super().__init__()
        if aggr not in ("add", "mean"):
            raise ValueError(f"aggr {aggr!r}: add or mean")
        self.aggr = aggr
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=True)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=False)

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        out = adj @ x
        if self.aggr == "mean":
            out = out / adj.sum(dim=-1, keepdim=True).clamp(min=1)
        return self.lin_rel(out) + self.lin_root(x)


def make_pyg_conv(config: Dict[str, Any], cin: int, cout: int) -> nn.Module:
    variant = config["variant"]
    if variant in ("pyg_dense_sage", "pyg_dense_sage_rel_bias"):
        return DenseSAGEConv(cin, cout, config["normalize"],
                             bias_on_rel=variant == "pyg_dense_sage_rel_bias")
    if variant == "pyg_dense_gcn":
        return DenseGCNConv(cin, cout)
    if variant == "pyg_dense_gin":
        return DenseGINConv(nn.Sequential(nn.Linear(cin, cout), nn.ReLU(),
                                          nn.Linear(cout, cout)), train_eps=True)
    if variant == "pyg_dense_graph_conv":
        return DenseGraphConv(cin, cout, config.get("aggr", "add"))
    raise ValueError(f"not a PyG variant: {variant!r}")


class GNN(nn.Module):
    """A block of PyG's example: x_k = bn_k(relu(conv_k(x_{k-1}, adj)))."""

    def __init__(self, config: Dict[str, Any], cin: int, hidden: int, out: int, lin: bool):
        super().__init__()
        self.conv1 = make_pyg_conv(config, cin, hidden)
        self.bn1 = nn.BatchNorm1d(hidden, eps=config["batchnorm_eps"])
        self.conv2 = make_pyg_conv(config, hidden, hidden)
        self.bn2 = nn.BatchNorm1d(hidden, eps=config["batchnorm_eps"])
        self.conv3 = make_pyg_conv(config, hidden, out)
        self.bn3 = nn.BatchNorm1d(out, eps=config["batchnorm_eps"])
        self.lin = nn.Linear(2 * hidden + out, out) if lin else None

    @staticmethod
    def _bn(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
        b, n, c = x.shape
        return bn(x.reshape(b * n, c)).reshape(b, n, c)

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        x1 = self._bn(self.bn1, F.relu(self.conv1(x, adj)))
        x2 = self._bn(self.bn2, F.relu(self.conv2(x1, adj)))
        x3 = self._bn(self.bn3, F.relu(self.conv3(x2, adj)))
        x = torch.cat([x1, x2, x3], dim=-1)
        return F.relu(self.lin(x)) if self.lin is not None else x


class PygDiffPool(nn.Module):
    """gnn{l}_pool / gnn{l}_embed per level, gnn{L+1}_embed, lin1, lin2."""

    def __init__(self, config: Dict[str, Any]):
        super().__init__()
        self.config = config
        hidden, embed = config["hidden_channels"], config["embedding_channels"]
        cin = config["num_features"]
        self.levels = len(config["clusters"])
        for l, k in enumerate(config["clusters"], start=1):
            setattr(self, f"gnn{l}_pool", GNN(config, cin, hidden, k, lin=True))
            setattr(self, f"gnn{l}_embed", GNN(config, cin, hidden, embed, lin=False))
            cin = 2 * hidden + embed
        setattr(self, f"gnn{self.levels + 1}_embed", GNN(config, cin, hidden, embed, lin=False))
        self.lin1 = nn.Linear(2 * hidden + embed, config["lin_hidden"])
        self.lin2 = nn.Linear(config["lin_hidden"], config["num_outputs"])

    def forward_graph(self, x, edge_index) -> Tensor:
        """One graph, dense (PyG's dense_diff_pool on a batch of one): [1, C]."""
        dtype = self.lin1.weight.dtype
        x = torch.as_tensor(np.asarray(x), dtype=dtype)[None]
        adj = dense_adjacency(edge_index, x.shape[1], dtype)[None]
        for l in range(1, self.levels + 1):
            s = torch.softmax(getattr(self, f"gnn{l}_pool")(x, adj), dim=-1)
            z = getattr(self, f"gnn{l}_embed")(x, adj)
            x, adj = s.transpose(1, 2) @ z, s.transpose(1, 2) @ adj @ s
        z = getattr(self, f"gnn{self.levels + 1}_embed")(x, adj)
        y = self.lin2(F.relu(self.lin1(z.mean(dim=1))))
        return F.log_softmax(y, dim=-1) if self.config["task"] == "classification" else y


# --- The original DiffPool code (RexYing/diffpool, encoders.py) --------------

class GraphConv(nn.Module):
    def __init__(self, input_dim: int, output_dim: int, add_self: bool = False,
                 normalize_embedding: bool = False, bias: bool = True):
        super().__init__()
        self.add_self = add_self
        self.normalize_embedding = normalize_embedding
        self.weight = nn.Parameter(torch.empty(input_dim, output_dim))
        self.bias = nn.Parameter(torch.zeros(output_dim)) if bias else None

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        y = torch.matmul(adj, x)
        if self.add_self:
            y = y + x
        y = torch.matmul(y, self.weight)
        if self.bias is not None:
            y = y + self.bias
        if self.normalize_embedding:
            y = F.normalize(y, p=2, dim=2)
        return y


class SoftPoolingGcnEncoder(nn.Module):
    """SoftPoolingGcnEncoder as train.py builds it (concat=True, so
    add_self=False; pred_hidden_dims=[50] by default; assign_hidden_dim =
    hidden_dim; assign dims int(max_num_nodes * assign_ratio), then
    int(previous * assign_ratio)); eval-time forward on the CPU."""

    def __init__(self, max_num_nodes: int, input_dim: int, hidden_dim: int,
                 embedding_dim: int, label_dim: int, num_layers: int,
                 assign_ratio: float = 0.25, num_pooling: int = 1,
                 pred_hidden_dims: Sequence[int] = (50,), bias: bool = True):
        super().__init__()
        self.num_layers, self.bias, self.num_pooling = num_layers, bias, num_pooling
        self.conv_first, self.conv_block, self.conv_last = self.build_conv_layers(
            input_dim, hidden_dim, embedding_dim, num_layers)
        self.act = nn.ReLU()
        self.pred_input_dim = hidden_dim * (num_layers - 1) + embedding_dim
        self.conv_first_after_pool = nn.ModuleList()
        self.conv_block_after_pool = nn.ModuleList()
        self.conv_last_after_pool = nn.ModuleList()
        for _ in range(num_pooling):
            first, block, last = self.build_conv_layers(
                self.pred_input_dim, hidden_dim, embedding_dim, num_layers)
            self.conv_first_after_pool.append(first)
            self.conv_block_after_pool.append(block)
            self.conv_last_after_pool.append(last)
        self.assign_dims: List[int] = []
        self.assign_conv_first_modules = nn.ModuleList()
        self.assign_conv_block_modules = nn.ModuleList()
        self.assign_conv_last_modules = nn.ModuleList()
        self.assign_pred_modules = nn.ModuleList()
        assign_dim, assign_input_dim = int(max_num_nodes * assign_ratio), input_dim
        for _ in range(num_pooling):
            self.assign_dims.append(assign_dim)
            first, block, last = self.build_conv_layers(
                assign_input_dim, hidden_dim, assign_dim, num_layers)
            self.assign_conv_first_modules.append(first)
            self.assign_conv_block_modules.append(block)
            self.assign_conv_last_modules.append(last)
            self.assign_pred_modules.append(
                nn.Linear(hidden_dim * (num_layers - 1) + assign_dim, assign_dim))
            assign_input_dim = self.pred_input_dim
            assign_dim = int(assign_dim * assign_ratio)
        layers: List[nn.Module] = []
        width = self.pred_input_dim * (num_pooling + 1)
        for dim in pred_hidden_dims:
            layers += [nn.Linear(width, dim), self.act]
            width = dim
        layers.append(nn.Linear(width, label_dim))
        self.pred_model = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, GraphConv):
                nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu"))

    def build_conv_layers(self, input_dim, hidden_dim, embedding_dim, num_layers):
        conv = lambda i, o: GraphConv(i, o, add_self=False, normalize_embedding=True,
                                      bias=self.bias)
        return (conv(input_dim, hidden_dim),
                nn.ModuleList([conv(hidden_dim, hidden_dim) for _ in range(num_layers - 2)]),
                conv(hidden_dim, embedding_dim))

    @staticmethod
    def apply_bn(x: Tensor) -> Tensor:
        # A new BatchNorm1d on every call, never put in eval mode: training-mode
        # statistics over (batch, features) for each node index. (The original
        # creates it in float32 on the GPU; here in x's dtype.)
        return nn.BatchNorm1d(x.size()[1]).to(x.dtype)(x)

    def gcn_forward(self, x, adj, conv_first, conv_block, conv_last, embedding_mask=None):
        x = self.apply_bn(self.act(conv_first(x, adj)))
        x_all = [x]
        for conv in conv_block:
            x = self.apply_bn(self.act(conv(x, adj)))
            x_all.append(x)
        x_all.append(conv_last(x, adj))
        x_tensor = torch.cat(x_all, dim=2)
        return x_tensor * embedding_mask if embedding_mask is not None else x_tensor

    @staticmethod
    def construct_mask(max_nodes: int, batch_num_nodes: Sequence[int], dtype) -> Tensor:
        mask = torch.zeros(len(batch_num_nodes), max_nodes, dtype=dtype)
        for i, n in enumerate(batch_num_nodes):
            mask[i, :n] = 1
        return mask.unsqueeze(2)

    def forward(self, x: Tensor, adj: Tensor, batch_num_nodes: Sequence[int]) -> Tensor:
        x_a = x
        max_num_nodes = adj.size()[1]
        embedding_mask = self.construct_mask(max_num_nodes, batch_num_nodes, x.dtype)
        out_all = []
        embedding_tensor = self.gcn_forward(x, adj, self.conv_first, self.conv_block,
                                            self.conv_last, embedding_mask)
        out_all.append(torch.max(embedding_tensor, dim=1)[0])
        for i in range(self.num_pooling):
            mask = embedding_mask if i == 0 else None
            assign = self.gcn_forward(x_a, adj, self.assign_conv_first_modules[i],
                                      self.assign_conv_block_modules[i],
                                      self.assign_conv_last_modules[i], mask)
            assign = nn.Softmax(dim=-1)(self.assign_pred_modules[i](assign))
            if mask is not None:
                assign = assign * mask
            x = torch.matmul(torch.transpose(assign, 1, 2), embedding_tensor)
            adj = torch.transpose(assign, 1, 2) @ adj @ assign
            x_a = x
            embedding_tensor = self.gcn_forward(x, adj, self.conv_first_after_pool[i],
                                                self.conv_block_after_pool[i],
                                                self.conv_last_after_pool[i])
            out_all.append(torch.max(embedding_tensor, dim=1)[0])
        return self.pred_model(torch.cat(out_all, dim=1))

    def forward_graph(self, x, edge_index, max_num_nodes: int, task: str) -> Tensor:
        """One graph padded to max_num_nodes, as GraphSampler pads it: [1, C]
        log-probabilities (classification) or values."""
        dtype = self.pred_model[0].weight.dtype
        x = torch.as_tensor(np.asarray(x), dtype=dtype)
        n = x.shape[0]
        if n > max_num_nodes:
            raise ValueError(f"{n} nodes > max_num_nodes {max_num_nodes}")
        feats = torch.zeros(1, max_num_nodes, x.shape[1], dtype=dtype)
        feats[0, :n] = x
        adj = torch.zeros(1, max_num_nodes, max_num_nodes, dtype=dtype)
        adj[0, :n, :n] = dense_adjacency(edge_index, n, dtype)
        y = self.forward(feats, adj, [n])
        return F.log_softmax(y, dim=-1) if task == "classification" else y


# --- Test cases ---------------------------------------------------------------

@dataclass
class Case:
    """One converter test: a variant, its sizes and options."""
    name: str
    variant: str
    clusters: List[int] = field(default_factory=lambda: [4, 2])
    task: str = "classification"
    num_outputs: int = 3
    normalize: bool = False
    max_nodes: int = 12
    options: Dict[str, Any] = field(default_factory=dict)
    float64_file: bool = False  # store the checkpoint's tensors as float64
    num_layers: int = 3          # rexying_diffpool
    assign_ratio: float = 0.5    # rexying_diffpool
    bias: bool = True            # rexying_diffpool


CASES = (
    Case("pyg_dense_sage", "pyg_dense_sage", normalize=True),
    Case("pyg_dense_sage_rel_bias", "pyg_dense_sage_rel_bias"),
    Case("pyg_dense_gcn", "pyg_dense_gcn"),
    Case("pyg_dense_gin", "pyg_dense_gin"),
    Case("pyg_dense_graph_conv", "pyg_dense_graph_conv", clusters=[3], task="regression",
         num_outputs=2),
    Case("pyg_dense_graph_conv_mean", "pyg_dense_graph_conv", options={"aggr": "mean"}),
    Case("rexying_diffpool", "rexying_diffpool", max_nodes=16, float64_file=True),
    Case("rexying_diffpool_nobias", "rexying_diffpool", clusters=[3], max_nodes=11,
         num_layers=2, assign_ratio=0.3, bias=False, num_outputs=2),
)

FEATURES, HIDDEN, EMBEDDING, LIN_HIDDEN = 5, 16, 12, 10
LIN_PREFIXES = ("lin1.", "lin2.", "gnn1_pool.lin.", "gnn2_pool.lin.", "gnn3_pool.lin.",
                "assign_pred_modules.", "pred_model.")


def make_case_config(case: Case) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "format": "diffpool-config", "version": 1, "variant": case.variant,
        "task": case.task, "num_features": FEATURES, "hidden_channels": HIDDEN,
        "embedding_channels": EMBEDDING, "clusters": list(case.clusters),
        "lin_hidden": LIN_HIDDEN, "num_outputs": case.num_outputs,
        "output_names": [f"y{i}" for i in range(case.num_outputs)],
        "normalize": case.normalize, "readout": "mean", "batchnorm_eps": 1e-5,
        "max_nodes": case.max_nodes, "feature_spec": {"encoding": "dense"},
    }
    config.update(case.options)
    if case.variant == REXYING:
        config.update({"readout": "max", "normalize": True, "num_layers": case.num_layers,
                       "lin_hidden": 50})
        if not case.bias:
            config["bias"] = False
    return config


def build_case_model(case: Case, seed: int):
    """(model with random float32 weights, config). BatchNorm statistics and
    affines, biases and GIN's eps are randomized too, so that folding them is
    exercised (negative BatchNorm scales included)."""
    torch.manual_seed(seed)
    config = make_case_config(case)
    if case.variant == REXYING:
        model = SoftPoolingGcnEncoder(case.max_nodes, FEATURES, HIDDEN, EMBEDDING,
                                      case.num_outputs, case.num_layers, case.assign_ratio,
                                      num_pooling=len(case.clusters), bias=case.bias)
        config["clusters"] = list(model.assign_dims)
    else:
        model = PygDiffPool(config)
    generator = torch.Generator().manual_seed(seed + 1)
    uniform = lambda t, lo, hi: t.copy_(torch.rand(t.shape, generator=generator) * (hi - lo) + lo)
    # Sums over up to max_nodes - 1 neighbours, three layers deep, would give
    # logits in the hundreds, which no trained model has and float32 cannot
    # match to 1e-4: keep such convolutions' weights small.
    sums = case.variant == "pyg_dense_gin" or (case.variant == "pyg_dense_graph_conv" and
                                              case.options.get("aggr", "add") == "add")
    with torch.no_grad():
        for name, value in model.state_dict().items():
            if name.endswith("running_mean"):
                uniform(value, -0.5, 0.5)
            elif name.endswith("running_var"):
                uniform(value, 0.5, 2.0)
            elif name.endswith(("bn1.weight", "bn2.weight", "bn3.weight")):
                uniform(value, -1.5, 1.5)
            elif name.endswith(".eps"):
                uniform(value, -0.4, 0.6)
            elif name.endswith("bias"):
                uniform(value, -0.3, 0.3)
            elif sums and ".conv" in name and name.endswith("weight"):
                value.mul_(1.0 / math.sqrt(case.max_nodes))
            elif name.endswith("weight") and name.startswith(LIN_PREFIXES):
                # Default init leaves S near uniform and the outputs nearly
                # the same for every graph; sharper heads make a test that
                # tells graphs (and lowering mistakes) apart.
                value.mul_(4.0)
    model.eval()
    return model, config


@torch.no_grad()
def reference_output(model, config: Dict[str, Any], record: GraphRecord) -> List[float]:
    if config["variant"] == REXYING:
        out = model.forward_graph(record.x, record.edge_index, config["max_nodes"],
                                  config["task"])
    else:
        out = model.forward_graph(record.x, record.edge_index)
    return out[0].tolist()


def continuous_features(records: Sequence[GraphRecord], seed: int) -> List[GraphRecord]:
    """The same graphs with features in [-1, 1] (one-hot rows would leave
    GCN's and GIN's sums too special); every third also gets a self loop on
    node 0 and its first edge twice (GCN replaces self loops, SUM counts
    duplicates)."""
    rng = np.random.default_rng(seed)
    result = []
    for i, r in enumerate(records):
        edges = np.asarray(r.edge_index, dtype=np.int64).reshape(2, -1)
        if i % 3 == 0:
            extra = [[0], [0]] if edges.shape[1] == 0 else [[0, edges[0, 0]], [0, edges[1, 0]]]
            edges = np.concatenate([edges, np.array(extra, dtype=np.int64)], axis=1)
        result.append(GraphRecord(r.name + ("/loops" if i % 3 == 0 else ""),
                                  rng.uniform(-1, 1, size=r.x.shape), edges, r.label))
    return result


def write_case(case: Case, out_dir: str, seed: int, graphs: int) -> Dict[str, Any]:
    """Writes out_dir/{config.json, model.pt, graphs.json}; returns the config."""
    os.makedirs(out_dir, exist_ok=True)
    model, config = build_case_model(case, seed)
    state = model.state_dict()
    if case.float64_file:
        state = {k: v.double() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, os.path.join(out_dir, "model.pt"))
    # (config.save_config validates the pyg_dense_sage fields only.)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        f.write(format_json(config) + "\n")
    reference = model.double()  # float64 on exactly the saved float32 values
    records = random_records(graphs, seed, config)
    records = records[:graphs // 2] + continuous_features(records[graphs // 2:], seed)
    outputs = [{"expected": reference_output(reference, config, r)} for r in records]
    write_graphs(graphs_document(records, config["num_features"], outputs),
                 os.path.join(out_dir, "graphs.json"))
    return config


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for one subfolder per case")
    parser.add_argument("--cases", default="all",
                        help="comma-separated case names (default: all): " +
                             ", ".join(c.name for c in CASES))
    parser.add_argument("--graphs", type=int, default=40, help="random graphs per case")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    wanted = [c.name for c in CASES] if args.cases == "all" else args.cases.split(",")
    by_name = {c.name: c for c in CASES}
    for i, name in enumerate(wanted):
        if name not in by_name:
            parser.error(f"unknown case {name!r}")
        config = write_case(by_name[name], os.path.join(args.out, name), args.seed + 10 * i,
                            args.graphs)
        print(f"{name}: {config['variant']}, clusters {config['clusters']}, "
              f"max_nodes {config['max_nodes']} -> {os.path.join(args.out, name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
