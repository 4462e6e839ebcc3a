"""diffpool_ref.model against an independent numpy implementation written
directly from the formulas of docs/formats.md, and against PyG's names."""

import unittest

import numpy as np
import torch

from diffpool_ref.model import DiffPool, dense_adjacency, make_batch, make_dense_graph

from .support import random_test_graphs, randomized_model, small_config


# ---------------------------------------------------------------------------
# Independent reference: plain numpy, float64, one graph, no torch modules.
# ---------------------------------------------------------------------------

def _relu(v):
    return np.maximum(v, 0.0)


def _softmax_rows(v):
    e = np.exp(v - v.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class NumpyDiffPool:
    """DiffPool from docs/formats.md, reading weights by their PyG names."""

    def __init__(self, state, config):
        self.w = {k: v.detach().numpy().astype(np.float64) for k, v in state.items()}
        self.c = config

    def conv(self, name, x, a):
        # conv(X, A) = lin_rel(A X / clamp(rowsum(A), min=1)) + lin_root(X)
        deg = np.maximum(a.sum(axis=1), 1.0)[:, None]
        out = (a @ x / deg) @ self.w[name + ".lin_rel.weight"].T \
            + x @ self.w[name + ".lin_root.weight"].T + self.w[name + ".lin_root.bias"]
        if self.c["normalize"]:  # F.normalize: v / max(||v||_2, 1e-12)
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def bn(self, name, x):
        w = self.w
        return (x - w[name + ".running_mean"]) / np.sqrt(
            w[name + ".running_var"] + self.c["batchnorm_eps"]) * w[name + ".weight"] \
            + w[name + ".bias"]

    def gnn(self, name, x, a, lin):
        x1 = self.bn(name + ".bn1", _relu(self.conv(name + ".conv1", x, a)))
        x2 = self.bn(name + ".bn2", _relu(self.conv(name + ".conv2", x1, a)))
        x3 = self.bn(name + ".bn3", _relu(self.conv(name + ".conv3", x2, a)))
        h = np.concatenate([x1, x2, x3], axis=1)
        if lin:
            h = _relu(h @ self.w[name + ".lin.weight"].T + self.w[name + ".lin.bias"])
        return h

    def forward(self, x, edge_index):
        n = x.shape[0]
        a = np.zeros((n, n))
        for src, dst in zip(edge_index[0], edge_index[1]):
            a[dst, src] += 1.0                       # A[dst][src] += 1
        h = np.asarray(x, dtype=np.float64)
        link = entropy = 0.0
        assignments = []
        levels = len(self.c["clusters"])
        for level in range(1, levels + 1):
            s = _softmax_rows(self.gnn(f"gnn{level}_pool", h, a, True))
            z = self.gnn(f"gnn{level}_embed", h, a, False)
            link += np.sqrt(((a - s @ s.T) ** 2).sum()) / a.size
            entropy += np.mean(-(s * np.log(s + 1e-15)).sum(axis=1))
            assignments.append(s)
            h, a = s.T @ z, s.T @ a @ s
        z = self.gnn(f"gnn{levels + 1}_embed", h, a, False).mean(axis=0)
        y = _relu(z @ self.w["lin1.weight"].T + self.w["lin1.bias"])
        y = y @ self.w["lin2.weight"].T + self.w["lin2.bias"]
        if self.c["task"] == "classification":
            m = y.max()
            y = y - m - np.log(np.exp(y - m).sum())
        return y, link, entropy, assignments


# Names of PyG's examples/proteins_diff_pool.py Net for MUTAG ([7, 2]),
# spelled out rather than generated from the module tree.
def _block(prefix, lin):
    names = []
    for i in (1, 2, 3):
        names += [f"{prefix}.conv{i}.lin_rel.weight", f"{prefix}.conv{i}.lin_root.weight",
                  f"{prefix}.conv{i}.lin_root.bias", f"{prefix}.bn{i}.weight",
                  f"{prefix}.bn{i}.bias", f"{prefix}.bn{i}.running_mean",
                  f"{prefix}.bn{i}.running_var", f"{prefix}.bn{i}.num_batches_tracked"]
    return names + ([f"{prefix}.lin.weight", f"{prefix}.lin.bias"] if lin else [])


PYG_MUTAG_NAMES = (_block("gnn1_pool", True) + _block("gnn1_embed", False)
                   + _block("gnn2_pool", True) + _block("gnn2_embed", False)
                   + _block("gnn3_embed", False)
                   + ["lin1.weight", "lin1.bias", "lin2.weight", "lin2.bias"])

CONFIGS = {
    "no_pooling": dict(clusters=()),
    "one_level": dict(clusters=(3,)),
    "two_levels": dict(clusters=(4, 2)),
    "three_levels_to_one_cluster": dict(clusters=(5, 3, 1)),
    "normalize": dict(clusters=(4, 2), normalize=True),
    "regression": dict(clusters=(4, 2), task="regression", num_outputs=1),
}


class ForwardMatchesFormulas(unittest.TestCase):
    TOL = 1e-12

    def test_per_graph_forward_matches_numpy(self):
        for label, overrides in CONFIGS.items():
            config = small_config(**overrides)
            model = randomized_model(config, seed=len(label))
            reference = NumpyDiffPool(model.state_dict(), config)
            for name, x, edges in random_test_graphs(config["num_features"], seed=3):
                with self.subTest(config=label, graph=name), torch.no_grad():
                    out = model.forward_graph(x, edges)
                    y, link, ent, assignments = reference.forward(x, edges)
                    np.testing.assert_allclose(out.out[0].numpy(), y, rtol=0, atol=self.TOL)
                    self.assertAlmostEqual(out.link_loss.item(), link, delta=self.TOL)
                    self.assertAlmostEqual(out.entropy_loss.item(), ent, delta=self.TOL)
                    self.assertEqual(len(out.assignments), len(assignments))
                    for got, want in zip(out.assignments, assignments):
                        np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=self.TOL)

    def test_log_probabilities_and_assignments_are_distributions(self):
        config = small_config(clusters=(4, 2))
        model = randomized_model(config, seed=2)
        for name, x, edges in random_test_graphs(config["num_features"], seed=9):
            with self.subTest(graph=name), torch.no_grad():
                out = model.forward_graph(x, edges)
                self.assertAlmostEqual(out.out.exp().sum().item(), 1.0, delta=1e-12)
                self.assertTrue(bool((out.out <= 0).all()))
                for s in out.assignments:
                    np.testing.assert_allclose(s.sum(dim=1).numpy(), 1.0, atol=1e-12)

    def test_train_mode_batch_runs_backward(self):
        config = small_config(clusters=(4, 2))
        model = DiffPool(config).train()
        graphs = random_test_graphs(config["num_features"], seed=1)
        out = model(make_batch([(x, e) for _, x, e in graphs], torch.float32))
        loss = (-out.out[:, 0] + out.link_loss + out.entropy_loss).mean()
        loss.backward()
        self.assertTrue(torch.isfinite(model.lin1.weight.grad).all())
        self.assertGreater(model.gnn1_pool.conv1.lin_rel.weight.grad.abs().sum().item(), 0)


class SparseBatchMatchesDense(unittest.TestCase):
    """Level 1 of a mini-batch is one block-diagonal sparse graph (SᵀZ, SᵀAS
    and the link loss from the edge list); forward_graph is the dense n x n
    formula. Both must agree on every graph shape."""
    TOL = 1e-10   # float64; the contract is 1e-6

    def graphs(self, num_features, seed):
        graphs = random_test_graphs(num_features, seed=seed)
        names = [name for name, _, _ in graphs]
        # 1-node graphs, a self-loop, no edges, isolated nodes, duplicate edges.
        for kind in ("single", "single_self_loop", "edgeless", "isolated", "duplicates"):
            self.assertIn(kind, names)
        rng = np.random.default_rng(seed)
        n = 20   # larger than every cluster count, with isolated nodes 0 and 19
        pairs = [(u, v) for u in range(1, 19) for v in range(u + 1, 19) if rng.random() < 0.2]
        edges = np.array([[u for u, v in pairs] + [v for u, v in pairs],
                          [v for u, v in pairs] + [u for u, v in pairs]]).reshape(2, -1)
        x = np.eye(num_features)[rng.integers(0, num_features, n)]
        return graphs + [("big_isolated_ends", x, edges)]

    def test_eval_batch_equals_dense_per_graph(self):
        for label, overrides in CONFIGS.items():
            config = small_config(**overrides)
            model = randomized_model(config, seed=len(label) + 20)
            graphs = self.graphs(config["num_features"], seed=5)
            with torch.no_grad():
                batched = model(make_batch([(x, e) for _, x, e in graphs]))
                per_graph_s = batched.split_assignments()
                for i, (name, x, edges) in enumerate(graphs):
                    alone = model.forward_graph(x, edges)
                    with self.subTest(config=label, graph=name):
                        np.testing.assert_allclose(batched.out[i].numpy(),
                                                   alone.out[0].numpy(), rtol=0, atol=self.TOL)
                        self.assertAlmostEqual(batched.link_loss[i].item(),
                                               alone.link_loss.item(), delta=self.TOL)
                        self.assertAlmostEqual(batched.entropy_loss[i].item(),
                                               alone.entropy_loss.item(), delta=self.TOL)
                        self.assertEqual(len(per_graph_s[i]), len(config["clusters"]))
                        for got, want in zip(per_graph_s[i], alone.assignments):
                            np.testing.assert_allclose(got.numpy(), want.numpy(),
                                                       rtol=0, atol=self.TOL)

    def test_batchnorm_eval_mode_makes_the_batch_irrelevant(self):
        """Training-mode BatchNorm normalizes with the batch's statistics, so a
        graph's output depends on its companions; eval mode uses the running
        statistics, and the graph's output is the one it has alone."""
        config = small_config(clusters=(4, 2))
        model = randomized_model(config, seed=3)
        graphs = self.graphs(config["num_features"], seed=8)
        target = graphs[-1]
        pairs = [(x, e) for _, x, e in graphs]
        with torch.no_grad():
            model.train()
            in_batch = model(make_batch(pairs)).out[-1]
            alone = model(make_batch([target[1:]])).out[0]
            self.assertGreater((in_batch - alone).abs().max().item(), 1e-3)
            model.eval()
            in_batch = model(make_batch(pairs)).out[-1]
            alone = model(make_batch([target[1:]])).out[0]
            dense = model.forward_graph(*target[1:]).out[0]
            np.testing.assert_allclose(in_batch.numpy(), alone.numpy(), rtol=0, atol=1e-12)
            np.testing.assert_allclose(in_batch.numpy(), dense.numpy(), rtol=0, atol=1e-12)

    def test_training_gradients_match_the_dense_formula(self):
        """One graph in training mode (BatchNorm over that graph's rows in both
        paths): loss and gradients of the sparse path equal the dense ones."""
        config = small_config(clusters=(4, 2))
        for name, x, edges in self.graphs(config["num_features"], seed=4):
            if x.shape[0] < 2:   # training-mode BatchNorm needs 2 rows
                continue
            with self.subTest(graph=name):
                grads, losses = [], []
                for graphs in (make_batch([(x, edges)]), make_dense_graph(x, edges)):
                    model = randomized_model(config, seed=9).train()
                    out = model(graphs)
                    loss = -out.out[0, 1] + out.link_loss.sum() + out.entropy_loss.sum()
                    loss.backward()
                    losses.append(loss.item())
                    grads.append({k: p.grad.clone() for k, p in model.named_parameters()})
                self.assertAlmostEqual(losses[0], losses[1], delta=1e-10)
                for key, grad in grads[0].items():
                    np.testing.assert_allclose(grad.numpy(), grads[1][key].numpy(),
                                               rtol=0, atol=1e-9, err_msg=key)


class StateDictNames(unittest.TestCase):
    def test_mutag_names_match_pyg_example(self):
        config = small_config(clusters=(7, 2), num_features=7, num_outputs=2,
                              hidden=64, embedding=64, lin_hidden=64, max_nodes=28)
        self.assertEqual(list(DiffPool(config).state_dict()), PYG_MUTAG_NAMES)

    def test_shapes_follow_the_module_table(self):
        config = small_config(clusters=(4, 2), num_features=5, hidden=6, embedding=5)
        state = DiffPool(config).state_dict()
        concat = 2 * 6 + 5
        self.assertEqual(list(state["gnn1_pool.conv1.lin_rel.weight"].shape), [6, 5])
        self.assertEqual(list(state["gnn1_pool.conv3.lin_root.weight"].shape), [4, 6])
        self.assertEqual(list(state["gnn1_pool.lin.weight"].shape), [4, 2 * 6 + 4])
        self.assertEqual(list(state["gnn2_pool.conv1.lin_root.weight"].shape), [6, concat])
        self.assertEqual(list(state["gnn3_embed.conv3.lin_root.weight"].shape), [5, 6])
        self.assertEqual(list(state["lin1.weight"].shape), [7, concat])
        self.assertEqual(list(state["lin2.weight"].shape), [3, 7])
        self.assertNotIn("gnn1_pool.conv1.lin_rel.bias", state)

    def test_level_count_follows_clusters(self):
        self.assertEqual(sorted({k.split(".")[0] for k in
                                 DiffPool(small_config(clusters=())).state_dict()}),
                         ["gnn1_embed", "lin1", "lin2"])
        names = {k.split(".")[0] for k in DiffPool(small_config(clusters=(5, 3, 1))).state_dict()}
        self.assertEqual(names, {"gnn1_pool", "gnn1_embed", "gnn2_pool", "gnn2_embed",
                                 "gnn3_pool", "gnn3_embed", "gnn4_embed", "lin1", "lin2"})


class Adjacency(unittest.TestCase):
    def test_destination_row_and_duplicates_add(self):
        a = dense_adjacency([[0, 0, 2], [1, 1, 0]], 3)
        expected = np.zeros((3, 3))
        expected[1, 0] = 2
        expected[0, 2] = 1
        np.testing.assert_array_equal(a.numpy(), expected)

    def test_bad_edges_are_reported(self):
        with self.assertRaisesRegex(ValueError, "edge 1: dst 5 outside 0..2"):
            dense_adjacency([[0, 1], [1, 5]], 3)
        with self.assertRaisesRegex(ValueError, "src -1"):
            dense_adjacency([[-1], [0]], 3)
        with self.assertRaisesRegex(ValueError, r"\[2, E\]"):
            dense_adjacency([[0, 1, 2]], 3)
        with self.assertRaisesRegex(ValueError, "num_nodes >= 1"):
            make_batch([(np.zeros((0, 5)), [[], []])])

    def test_zero_link_loss_has_finite_gradients(self):
        # A = SSᵀ exactly (S = ones: one cluster; A all ones, self-loops
        # included): the link loss is 0 and its gradient must be 0, not NaN
        # (sqrt's derivative at 0 is inf). Found by a seeded grid run whose
        # whole model turned NaN after one step.
        edges = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]])
        batch = make_batch([(np.zeros((2, 1)), edges)], torch.float64)
        dense = make_dense_graph(np.zeros((2, 1)), edges)
        for graphs in (batch, dense):
            s = torch.ones(2, 1, dtype=torch.float64, requires_grad=True)
            z = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
            _, _, link = graphs.pool(s, z)
            self.assertEqual(link.tolist(), [0.0])
            link.sum().backward()
            self.assertTrue(torch.isfinite(s.grad).all(), s.grad)
            self.assertEqual(s.grad.abs().sum().item(), 0.0)
        # Away from 0 the value and gradient are sqrt's.
        s = torch.full((2, 1), 0.5, dtype=torch.float64, requires_grad=True)
        _, _, link = batch.pool(s, torch.ones(2, 3, dtype=torch.float64))
        self.assertAlmostEqual(link.item(), np.sqrt(4 * 0.75 ** 2) / 4, places=12)
        link.sum().backward()
        self.assertTrue(torch.isfinite(s.grad).all())

    def test_wrong_feature_count_is_reported(self):
        model = DiffPool(small_config(num_features=5))
        with self.assertRaisesRegex(ValueError, "4 feature columns"):
            model.forward_graph(np.zeros((2, 4)), [[0], [1]])


if __name__ == "__main__":
    unittest.main()
