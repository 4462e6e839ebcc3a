"""Helpers shared by the tests: data location, random models and graphs."""

from __future__ import annotations

import contextlib
import io
import os
from typing import List, Optional, Tuple

import numpy as np
import torch

from diffpool_ref.config import make_config
from diffpool_ref.model import DiffPool

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shared_data_dir() -> Optional[str]:
    """$DIFFPOOL_SHARED_DATA, else ../shared/data next to the repository;
    None when that folder does not exist."""
    path = os.environ.get("DIFFPOOL_SHARED_DATA") or \
        os.path.join(REPO_ROOT, "..", "shared", "data")
    return os.path.normpath(path) if os.path.isdir(path) else None


def tu_dir(name: str) -> Optional[str]:
    root = shared_data_dir()
    path = os.path.join(root, "tu", name) if root else None
    return path if path and os.path.isdir(path) else None


SKIP_NO_DATA = ("shared data not found: set DIFFPOOL_SHARED_DATA or provide "
                "../shared/data (with tu/{name}) next to the repository")


def small_config(clusters=(4, 2), num_features=5, num_outputs=3, hidden=6,
                 embedding=5, lin_hidden=7, normalize=False,
                 task="classification", max_nodes=12):
    return make_config(num_features=num_features, num_outputs=num_outputs,
                       clusters=list(clusters), max_nodes=max_nodes,
                       hidden_channels=hidden, embedding_channels=embedding,
                       lin_hidden=lin_hidden, normalize=normalize, task=task,
                       tag_values=list(range(10, 10 + num_features)))


def randomized_model(config, seed=0) -> DiffPool:
    """A float64 eval-mode model whose weights and BatchNorm statistics are
    all random and non-trivial (so BatchNorm is far from the identity)."""
    torch.manual_seed(seed)
    model = DiffPool(config).double()
    state = model.state_dict()
    gen = torch.Generator().manual_seed(seed + 1)
    for name, tensor in state.items():
        if name.endswith("num_batches_tracked"):
            tensor.fill_(7)
        elif name.endswith("running_var"):
            tensor.copy_(0.5 + 1.5 * torch.rand(tensor.shape, generator=gen, dtype=tensor.dtype))
        elif name.endswith("running_mean") or name.endswith("bn1.bias") \
                or name.endswith("bn2.bias") or name.endswith("bn3.bias"):
            tensor.copy_(0.5 * torch.randn(tensor.shape, generator=gen, dtype=tensor.dtype))
        elif ".bn" in name and name.endswith(".weight"):
            tensor.copy_(1.0 + 0.3 * torch.randn(tensor.shape, generator=gen, dtype=tensor.dtype))
        else:  # weights ~ N(0, 1/fan_in): unit-scale activations; biases ~ N(0, 0.3^2)
            scale = tensor.shape[1] ** -0.5 if tensor.dim() == 2 else 0.3
            tensor.copy_(scale * torch.randn(tensor.shape, generator=gen, dtype=tensor.dtype))
    model.load_state_dict(state)
    return model.eval()


def random_test_graphs(num_features: int, seed=0) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """(name, x, edge_index) covering the edge cases: 1 node, 1 node with a
    self-loop, no edges, isolated nodes, duplicate and one-directional edges,
    non-one-hot features, and random graphs up to 12 nodes."""
    rng = np.random.default_rng(seed)

    def features(n, one_hot=True):
        if not one_hot:
            return rng.normal(size=(n, num_features))
        x = np.zeros((n, num_features))
        x[np.arange(n), rng.integers(0, num_features, n)] = 1
        return x

    graphs = [
        ("single", features(1), np.zeros((2, 0), dtype=np.int64)),
        ("single_self_loop", features(1), np.array([[0], [0]])),
        ("edgeless", features(4), np.zeros((2, 0), dtype=np.int64)),
        ("isolated", features(5), np.array([[0, 1, 1, 2], [1, 0, 2, 1]])),
        ("duplicates", features(4), np.array([[0, 0, 1, 2, 3, 3], [1, 1, 0, 3, 2, 2]])),
        ("one_way", features(3, one_hot=False), np.array([[0, 1], [1, 2]])),
    ]
    for i in range(6):
        n = int(rng.integers(2, 13))
        mask = np.triu(rng.random((n, n)) < 0.35, 1)
        src, dst = np.nonzero(mask)
        edges = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1)
        graphs.append((f"random{i}", features(n, one_hot=i % 2 == 0),
                       edges[:, rng.permutation(edges.shape[1])]))
    return graphs


def run_cli(main, argv):
    """(exit code, stdout, stderr) of a CLI main(), SystemExit included."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()
