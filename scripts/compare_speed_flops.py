"""Useful FLOPs of one DiffPool forward pass, counted from the architecture
(config.json, docs/formats.md) and the graph's size. docs/benchmarks.md
documents the formula; diffpool-bench --profile counts the same per op on the
lowered model, and compare_speed.py checks that the two agree.

What counts (a multiply-add is 2 FLOPs):
  SAGE conv, in -> out, on r rows:
    aggregation   level 1 (sparse edge list):  E * in        (one add per edge and channel)
                  coarse levels (dense k x k): 2 * k * k * in per graph
    GEMMs         lin_rel + lin_root: 2 * r * (2 * in) * out
  pooling block's lin (2h + out -> out):        2 * r * (2h + out) * out
  DiffPool level, S [n, k], Z [n, C]:
    S^T Z         2 * n * k * C
    S^T A S       A S: level 1 E * k, coarse 2 * n * n * k; then S^T (A S): 2 * n * k * k
  head: lin1 2 * C * lin_hidden, lin2 2 * lin_hidden * outputs
Not counted: bias, ReLU, BatchNorm, softmax, mean readout, log-softmax (all
O(rows * channels) element-wise work), the auxiliary losses, and any work on
padding rows. So this is the arithmetic any implementation must do; dense or
padded implementations do more and are charged only this.
"""

from typing import Any, Dict


def conv_flops(rows: int, cin: int, cout: int, aggregation: float) -> float:
    return aggregation + 2.0 * rows * (2 * cin) * cout


def block_flops(rows: int, cin: int, hidden: int, cout: int, lin: bool,
                aggregation_per_channel: float) -> float:
    """A GNN block (conv1 in->h, conv2 h->h, conv3 h->out, optional lin).
    `aggregation_per_channel` is E (sparse) or 2 k^2 (dense, per graph)."""
    flops = conv_flops(rows, cin, hidden, aggregation_per_channel * cin)
    flops += conv_flops(rows, hidden, hidden, aggregation_per_channel * hidden)
    flops += conv_flops(rows, hidden, cout, aggregation_per_channel * hidden)
    if lin:
        flops += 2.0 * rows * (2 * hidden + cout) * cout
    return flops


def forward_flops(config: Dict[str, Any], num_nodes: int, num_edges: int) -> float:
    """Useful FLOPs of one graph of `num_nodes` nodes and `num_edges`
    directed edges (edge_index columns)."""
    hidden = config["hidden_channels"]
    embed = config["embedding_channels"]
    concat = 2 * hidden + embed
    cin = config["num_features"]
    rows = num_nodes
    aggregation = float(num_edges)  # level 1: sparse
    sparse = True
    flops = 0.0
    for k in config["clusters"]:
        flops += block_flops(rows, cin, hidden, k, True, aggregation)
        flops += block_flops(rows, cin, hidden, embed, False, aggregation)
        flops += 2.0 * rows * k * concat                        # S^T Z
        flops += (num_edges * k if sparse else 2.0 * rows * rows * k)  # A S
        flops += 2.0 * rows * k * k                             # S^T (A S)
        rows, cin, sparse = k, concat, False
        aggregation = 2.0 * k * k
    flops += block_flops(rows, cin, hidden, embed, False, aggregation)
    flops += 2.0 * concat * config["lin_hidden"]
    flops += 2.0 * config["lin_hidden"] * config["num_outputs"]
    return flops
