"""The PyTorch side of compare_speed.py: PyTorch Geometric's dense DiffPool
example (examples/proteins_diff_pool.py: DenseSAGEConv, the GNN block,
dense_diff_pool, Net) re-implemented in plain torch with the same module and
parameter names, so the shipped state_dict loads as is, and the timed
variants (eager, TorchScript, dynamic int8, padded batches).

Faithful to PyG 2.x: DenseSAGEConv.forward (matmul, degree clamp, lin_rel +
lin_root, mask), GNN.bn (BatchNorm1d over [B*N, C]), dense_diff_pool (softmax,
mask, S^T X, S^T A S). The auxiliary link/entropy losses the example also
returns are computed only with `losses=True`: inference does not need them and
the runtime does not compute them.
"""

import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

EPS = 1e-15  # torch_geometric.nn.dense.diff_pool.EPS


class DenseSAGEConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, normalize: bool = False):
        super().__init__()
        self.normalize = normalize
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=False)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=True)

    def forward(self, x: Tensor, adj: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        B, N, _ = adj.size()
        out = torch.matmul(adj, x)
        out = out / adj.sum(dim=-1, keepdim=True).clamp(min=1)
        out = self.lin_rel(out) + self.lin_root(x)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        if mask is not None:
            out = out * mask.view(B, N, 1).to(x.dtype)
        return out


class GNN(nn.Module):
    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int,
                 normalize: bool = False, lin: bool = True, eps: float = 1e-5):
        super().__init__()
        self.conv1 = DenseSAGEConv(in_channels, hidden_channels, normalize)
        self.bn1 = nn.BatchNorm1d(hidden_channels, eps=eps)
        self.conv2 = DenseSAGEConv(hidden_channels, hidden_channels, normalize)
        self.bn2 = nn.BatchNorm1d(hidden_channels, eps=eps)
        self.conv3 = DenseSAGEConv(hidden_channels, out_channels, normalize)
        self.bn3 = nn.BatchNorm1d(out_channels, eps=eps)
        self.lin = nn.Linear(2 * hidden_channels + out_channels, out_channels) if lin else None

    def bn(self, i: int, x: Tensor) -> Tensor:
        batch_size, num_nodes, num_channels = x.size()
        x = x.view(-1, num_channels)
        x = getattr(self, f"bn{i}")(x)
        return x.view(batch_size, num_nodes, num_channels)

    def forward(self, x: Tensor, adj: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        x1 = self.bn(1, self.conv1(x, adj, mask).relu())
        x2 = self.bn(2, self.conv2(x1, adj, mask).relu())
        x3 = self.bn(3, self.conv3(x2, adj, mask).relu())
        x = torch.cat([x1, x2, x3], dim=-1)
        if self.lin is not None:
            x = self.lin(x).relu()
        return x


def dense_diff_pool(x: Tensor, adj: Tensor, s: Tensor, mask: Optional[Tensor] = None,
                    losses: bool = False):
    batch_size, num_nodes, _ = x.size()
    s = torch.softmax(s, dim=-1)
    if mask is not None:
        mask = mask.view(batch_size, num_nodes, 1).to(x.dtype)
        x, s = x * mask, s * mask
    out = torch.matmul(s.transpose(1, 2), x)
    out_adj = torch.matmul(torch.matmul(s.transpose(1, 2), adj), s)
    if not losses:
        return out, out_adj, None, None
    link_loss = adj - torch.matmul(s, s.transpose(1, 2))
    link_loss = torch.norm(link_loss, p=2) / adj.numel()
    ent_loss = (-s * torch.log(s + EPS)).sum(dim=-1).mean()
    return out, out_adj, link_loss, ent_loss


class Net(nn.Module):
    """The example's Net for any number of pooling levels (config.json)."""

    def __init__(self, config: Dict, losses: bool = False):
        super().__init__()
        hidden, embed = config["hidden_channels"], config["embedding_channels"]
        normalize, eps = config["normalize"], float(config["batchnorm_eps"])
        self.levels = len(config["clusters"])
        self.losses = losses
        self.classification = config["task"] == "classification"
        cin = config["num_features"]
        for level, k in enumerate(config["clusters"], start=1):
            self.add_module(f"gnn{level}_pool", GNN(cin, hidden, k, normalize, True, eps))
            self.add_module(f"gnn{level}_embed", GNN(cin, hidden, embed, normalize, False, eps))
            cin = 2 * hidden + embed
        self.add_module(f"gnn{self.levels + 1}_embed", GNN(cin, hidden, embed, normalize, False, eps))
        self.lin1 = nn.Linear(2 * hidden + embed, config["lin_hidden"])
        self.lin2 = nn.Linear(config["lin_hidden"], config["num_outputs"])

    def forward(self, x: Tensor, adj: Tensor, mask: Optional[Tensor] = None):
        """log-probabilities [B, C]; with losses, (log-probabilities, link, entropy)
        as the example returns them."""
        link, entropy = x.new_zeros(()), x.new_zeros(())
        for level in range(1, self.levels + 1):
            s = getattr(self, f"gnn{level}_pool")(x, adj, mask)
            x = getattr(self, f"gnn{level}_embed")(x, adj, mask)
            x, adj, l, e = dense_diff_pool(x, adj, s, mask, self.losses)
            if self.losses:
                link, entropy = link + l, entropy + e
            mask = None
        x = getattr(self, f"gnn{self.levels + 1}_embed")(x, adj)
        x = x.mean(dim=1)
        x = self.lin1(x).relu()
        x = self.lin2(x)
        if self.classification:
            x = F.log_softmax(x, dim=-1)
        return (x, link, entropy) if self.losses else x


def load_net(config: Dict, tensors: Dict[str, np.ndarray], losses: bool = False) -> Net:
    net = Net(config, losses)
    state = {name: torch.as_tensor(np.asarray(value)) for name, value in tensors.items()}
    net.load_state_dict(state, strict=True)
    return net.float().eval()


# --- Inputs --------------------------------------------------------------------

class DenseGraph:
    """One graph as the example's ToDense transform leaves it: x [1, n, F],
    adj [1, n, n] (A[dst][src] += 1), built before timing starts."""

    def __init__(self, record: Dict, pad_to: int = 0):
        n = int(record["num_nodes"])
        size = max(n, pad_to)
        x = torch.zeros(size, len(record["x"][0]))
        x[:n] = torch.tensor(record["x"], dtype=torch.float32)
        adj = torch.zeros(size, size)
        src, dst = record["edge_index"]
        if len(src):
            adj.index_put_((torch.tensor(dst), torch.tensor(src)), torch.ones(len(src)),
                           accumulate=True)
        self.n, self.x, self.adj = n, x, adj
        self.mask = torch.arange(size) < n


def padded_batch(graphs: Sequence[DenseGraph]) -> Tuple[Tensor, Tensor, Tensor]:
    return (torch.stack([g.x for g in graphs]), torch.stack([g.adj for g in graphs]),
            torch.stack([g.mask for g in graphs]))


# --- Variants --------------------------------------------------------------------

def traced_per_size(net: nn.Module, graphs: Sequence[DenseGraph]) -> Dict[int, torch.jit.ScriptModule]:
    """torch.jit.trace + torch.jit.freeze, one module per node count (a
    trace bakes its shapes in)."""
    modules = {}
    with torch.inference_mode(False), torch.no_grad():
        for g in graphs:
            if g.n not in modules:
                example = (g.x[None], g.adj[None])
                traced = torch.jit.trace(net, example, check_trace=False)
                modules[g.n] = torch.jit.freeze(traced.eval())
    return modules


def dynamic_int8(net: nn.Module) -> nn.Module:
    """torch.ao.quantization.quantize_dynamic on every nn.Linear (weights
    int8 per tensor, activations quantized on the fly)."""
    engines = torch.backends.quantized.supported_engines
    for engine in ("fbgemm", "x86", "onednn", "qnnpack"):
        if engine in engines:
            torch.backends.quantized.engine = engine
            break
    import copy
    return torch.ao.quantization.quantize_dynamic(copy.deepcopy(net), {nn.Linear},
                                                  dtype=torch.qint8)


def time_batch1(call, graphs: Sequence[DenseGraph], min_secs: float,
                warmup: int = 3) -> Tuple[List[List[float]], np.ndarray]:
    """Latencies (us) of call(graph), per graph, from rounds over all graphs
    until min_secs (at least 3 rounds); and the outputs [G, C]."""
    outputs = []
    with torch.no_grad():
        for g in graphs:
            for _ in range(warmup):
                y = call(g)
            outputs.append(y.reshape(-1).numpy().copy())
        samples: List[List[float]] = [[] for _ in graphs]
        start = time.perf_counter()
        while time.perf_counter() - start < min_secs or len(samples[0]) < 3:
            for i, g in enumerate(graphs):
                t0 = time.perf_counter()
                call(g)
                samples[i].append((time.perf_counter() - t0) * 1e6)
    return samples, np.stack(outputs)


def time_batches(call, batches: Sequence[Tuple[Tensor, ...]], min_secs: float,
                 warmup: int = 3) -> Tuple[List[float], List[np.ndarray]]:
    """Latency (us) of each call(*batch) over rounds of all batches."""
    samples: List[float] = []
    with torch.no_grad():
        outputs = []
        for b in batches:
            for _ in range(warmup):
                y = call(*b)
            y = y[0] if isinstance(y, tuple) else y
            outputs.append(y.numpy().copy())
        start = time.perf_counter()
        while time.perf_counter() - start < min_secs or len(samples) < 3:
            for b in batches:
                t0 = time.perf_counter()
                call(*b)
                samples.append((time.perf_counter() - t0) * 1e6)
    return samples, outputs


def gemm_gflops(size: int = 1024, min_secs: float = 1.0) -> float:
    """Best GFLOP/s of torch.mm on size^3 (PyTorch's own BLAS), for reference."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(2):
        torch.mm(a, b)
    best = math.inf
    start = time.perf_counter()
    while time.perf_counter() - start < min_secs:
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size ** 3 / best * 1e-9
