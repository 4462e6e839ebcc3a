"""diffpool_ref.variants: the PyG-equivalent convolutions against their
formulas written independently in numpy, the original DiffPool code's
quirks, and the parameter names the converter expects (spelled out here)."""

from __future__ import annotations

import unittest

import numpy as np
import torch

from diffpool_ref import variants as V


def random_adjacency(n: int, rng) -> np.ndarray:
    a = (rng.random((n, n)) < 0.4).astype(np.float64)
    a[0, 0] = 2.0  # a doubled self loop, which GCN replaces by 1
    return a


class ConvFormulaTest(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(0)
        self.rng = np.random.default_rng(0)
        self.n, self.cin, self.cout = 6, 4, 3
        self.x = self.rng.normal(size=(self.n, self.cin))
        self.a = random_adjacency(self.n, self.rng)
        self.a[self.n - 1, :] = 0  # a node without in-edges

    def run_conv(self, conv) -> np.ndarray:
        with torch.no_grad():
            conv = conv.double()
            return conv(torch.tensor(self.x)[None], torch.tensor(self.a)[None])[0].numpy()

    @staticmethod
    def w(linear) -> np.ndarray:
        return linear.weight.detach().double().numpy()

    def test_gcn_sets_the_diagonal_and_normalizes_symmetrically(self):
        conv = V.DenseGCNConv(self.cin, self.cout)
        conv.bias.data.uniform_(-1, 1)
        a_hat = self.a.copy()
        np.fill_diagonal(a_hat, 1.0)
        d = np.maximum(a_hat.sum(axis=1), 1.0) ** -0.5
        expected = (d[:, None] * a_hat * d[None, :]) @ self.x @ self.w(conv.lin).T + \
            conv.bias.detach().numpy()
        np.testing.assert_allclose(self.run_conv(conv), expected, rtol=1e-12, atol=1e-12)

    def test_gin_adds_one_plus_eps_times_self_then_the_mlp(self):
        mlp = torch.nn.Sequential(torch.nn.Linear(self.cin, self.cout), torch.nn.ReLU(),
                                  torch.nn.Linear(self.cout, self.cout))
        conv = V.DenseGINConv(mlp, eps=0.25, train_eps=True)  # exact in float32
        h = self.a @ self.x + 1.25 * self.x
        h = np.maximum(h @ self.w(mlp[0]).T + mlp[0].bias.detach().numpy(), 0)
        expected = h @ self.w(mlp[2]).T + mlp[2].bias.detach().numpy()
        np.testing.assert_allclose(self.run_conv(conv), expected, rtol=1e-12, atol=1e-12)
        self.assertEqual(list(dict(conv.named_parameters())["eps"].shape), [1])
        self.assertIn("eps", V.DenseGINConv(mlp, train_eps=False).state_dict())

    def test_graph_conv_add_and_mean(self):
        for aggr in ("add", "mean"):
            conv = V.DenseGraphConv(self.cin, self.cout, aggr)
            agg = self.a @ self.x
            if aggr == "mean":
                agg = agg / np.maximum(self.a.sum(axis=1, keepdims=True), 1.0)
            expected = agg @ self.w(conv.lin_rel).T + conv.lin_rel.bias.detach().numpy() + \
                self.x @ self.w(conv.lin_root).T
            np.testing.assert_allclose(self.run_conv(conv), expected, rtol=1e-12, atol=1e-12)
            self.assertIsNone(conv.lin_root.bias)

    def test_sage_bias_on_lin_rel_or_lin_root(self):
        for on_rel in (False, True):
            conv = V.DenseSAGEConv(self.cin, self.cout, normalize=True, bias_on_rel=on_rel)
            bias = (conv.lin_rel if on_rel else conv.lin_root).bias.detach().numpy()
            self.assertIsNone((conv.lin_root if on_rel else conv.lin_rel).bias)
            agg = self.a @ self.x / np.maximum(self.a.sum(axis=1, keepdims=True), 1.0)
            y = agg @ self.w(conv.lin_rel).T + self.x @ self.w(conv.lin_root).T + bias
            y = y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
            np.testing.assert_allclose(self.run_conv(conv), y, rtol=1e-12, atol=1e-12)


class RexyingTest(unittest.TestCase):
    def test_fresh_batchnorm_at_batch_one_standardizes_each_node(self):
        x = torch.randn(1, 5, 7, dtype=torch.float64)
        with torch.no_grad():
            y = V.SoftPoolingGcnEncoder.apply_bn(x)[0].numpy()
        v = x[0].numpy()
        expected = (v - v.mean(axis=1, keepdims=True)) / np.sqrt(v.var(axis=1, keepdims=True) + 1e-5)
        np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)

    def test_padding_zeros_reach_the_level0_max_only_below_max_nodes(self):
        case = next(c for c in V.CASES if c.name == "rexying_diffpool")
        model, config = V.build_case_model(case, seed=3)
        model = model.double()
        x = np.random.default_rng(1).uniform(-1, 1, size=(5, V.FEATURES))
        edges = [[0, 1, 1, 2, 3], [1, 0, 2, 1, 4]]
        with torch.no_grad():
            padded = model.forward_graph(x, edges, config["max_nodes"], "classification")
            exact = model.forward_graph(x, edges, 5, "classification")
        # Same weights, only the padding differs: a different output.
        self.assertGreater(float((padded - exact).abs().max()), 1e-3)
        self.assertEqual(config["clusters"], [8, 4])  # int(16 * 0.5), int(8 * 0.5)

    def test_parameter_names_of_the_original_code(self):
        model = V.SoftPoolingGcnEncoder(12, 3, 4, 5, 2, num_layers=3, assign_ratio=0.5,
                                        num_pooling=1, bias=True)
        shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
        expected = {
            "conv_first.weight": [3, 4], "conv_first.bias": [4],
            "conv_block.0.weight": [4, 4], "conv_block.0.bias": [4],
            "conv_last.weight": [4, 5], "conv_last.bias": [5],
            "conv_first_after_pool.0.weight": [13, 4], "conv_first_after_pool.0.bias": [4],
            "conv_block_after_pool.0.0.weight": [4, 4], "conv_block_after_pool.0.0.bias": [4],
            "conv_last_after_pool.0.weight": [4, 5], "conv_last_after_pool.0.bias": [5],
            "assign_conv_first_modules.0.weight": [3, 4],
            "assign_conv_first_modules.0.bias": [4],
            "assign_conv_block_modules.0.0.weight": [4, 4],
            "assign_conv_block_modules.0.0.bias": [4],
            "assign_conv_last_modules.0.weight": [4, 6],
            "assign_conv_last_modules.0.bias": [6],
            "assign_pred_modules.0.weight": [6, 14], "assign_pred_modules.0.bias": [6],
            "pred_model.0.weight": [50, 26], "pred_model.0.bias": [50],
            "pred_model.2.weight": [2, 50], "pred_model.2.bias": [2],
        }
        self.assertEqual(shapes, expected)


class PygNamesTest(unittest.TestCase):
    def test_block_parameter_names_per_variant(self):
        expected = {
            "pyg_dense_sage": {"lin_rel.weight", "lin_root.weight", "lin_root.bias"},
            "pyg_dense_sage_rel_bias": {"lin_rel.weight", "lin_rel.bias", "lin_root.weight"},
            "pyg_dense_gcn": {"lin.weight", "bias"},
            "pyg_dense_gin": {"nn.0.weight", "nn.0.bias", "nn.2.weight", "nn.2.bias", "eps"},
            "pyg_dense_graph_conv": {"lin_rel.weight", "lin_rel.bias", "lin_root.weight"},
        }
        for variant, names in expected.items():
            case = V.Case(variant, variant, clusters=[2])
            model, _ = V.build_case_model(case, seed=1)
            keys = model.state_dict().keys()
            conv1 = {k[len("gnn1_pool.conv1."):] for k in keys if k.startswith("gnn1_pool.conv1.")}
            self.assertEqual(conv1, names, variant)
            self.assertIn("gnn2_embed.bn3.running_var", keys)
            self.assertIn("lin2.bias", keys)


if __name__ == "__main__":
    unittest.main()
