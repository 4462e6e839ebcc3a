"""diffpool_ref.molecules: metrics, splits, masked loss, the standardization
fold, CSV reading and a tiny end-to-end run per task (kept fast: a few
molecules, 2 epochs)."""

import contextlib
import csv
import io
import json
import math
import os
import tempfile
import unittest

import numpy as np
import torch

from diffpool_ref import featurize as fz
from diffpool_ref import molecules as mol
from diffpool_ref.export import load_model_dir

SMILES = ["CCO", "c1ccccc1O", "c1ccccc1CCN", "C1CCCCC1C(=O)O", "CC(=O)Nc1ccc(O)cc1",
          "c1ccc2ccccc2c1", "CCN(CC)CC", "O=C(O)c1ccccc1", "C1CCNCC1", "c1ccncc1C",
          "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "c1ccc(cc1)-c1ccccc1", "OCC(O)CO", "C1CCOC1",
          "Clc1ccccc1", "CCCCCC"]


def write_csv(path, rows, header):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


class MetricTest(unittest.TestCase):
    def test_roc_auc_matches_pair_counting(self):
        rng = np.random.default_rng(0)
        labels = rng.integers(0, 2, 60).astype(float)
        scores = np.round(rng.random(60), 1)       # many ties
        pos, neg = scores[labels == 1], scores[labels == 0]
        pairs = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
        self.assertAlmostEqual(mol.roc_auc(labels, scores), pairs / (len(pos) * len(neg)), 12)

    def test_roc_auc_ignores_missing_and_needs_both_classes(self):
        self.assertEqual(mol.roc_auc(np.array([0, 1, np.nan]), np.array([0.1, 0.9, 0.0])), 1.0)
        self.assertTrue(math.isnan(mol.roc_auc(np.array([1.0, 1.0]), np.array([0.1, 0.2]))))

    def test_metrics_per_task(self):
        labels = np.array([[0, 1], [1, np.nan], [1, 0]], dtype=float)
        out = np.array([[0.2, 0.9], [0.8, 0.5], [0.7, 0.1]])
        result = mol.metrics("multilabel", labels, out, ["a", "b"])
        self.assertEqual(result["per_task"], {"a": 1.0, "b": 1.0})
        two_class = mol.metrics("classification", labels[:, :1],
                                np.log(np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])), ["y"])
        self.assertEqual(two_class["value"], 1.0)
        reg = mol.metrics("regression", np.array([[1.0], [2.0]]), np.array([[1.0], [4.0]]), ["v"])
        self.assertAlmostEqual(reg["value"], math.sqrt(2.0))


class SplitTest(unittest.TestCase):
    def test_scaffold_split_keeps_scaffolds_together(self):
        smiles = SMILES * 2
        train, val, test = mol.scaffold_split(smiles)
        self.assertEqual(sorted(train + val + test), list(range(len(smiles))))
        where = {}
        for name, part in (("train", train), ("val", val), ("test", test)):
            for i in part:
                self.assertEqual(where.setdefault(mol.scaffold(smiles[i]), name), name)
        self.assertEqual((train, val, test), mol.scaffold_split(smiles))
        self.assertGreaterEqual(len(train), 0.6 * len(smiles))

    def test_random_split_is_seeded(self):
        a = mol.random_split(50, 3)
        self.assertEqual(a, mol.random_split(50, 3))
        self.assertNotEqual(a, mol.random_split(50, 4))
        self.assertEqual([len(p) for p in a], [40, 5, 5])


class LossTest(unittest.TestCase):
    def test_multilabel_loss_masks_missing_labels(self):
        class Out:
            logits = torch.tensor([[2.0, -1.0, 0.5]])
        target = torch.tensor([[1.0, float("nan"), 0.0]])
        loss = mol.task_loss("multilabel", Out, target)
        expected = (torch.nn.functional.softplus(torch.tensor(-2.0)) +
                    torch.nn.functional.softplus(torch.tensor(0.5))) / 2
        self.assertAlmostEqual(loss.item(), expected.item(), 6)

    def test_fold_standardization(self):
        from tests.support import small_config
        from diffpool_ref.model import DiffPool
        model = DiffPool(small_config(task="regression", num_outputs=2)).double().eval()
        x, edges = torch.rand(5, 5, dtype=torch.float64), [[0, 1, 2], [1, 2, 3]]
        before = model.forward_graph(x, edges).out
        mol.fold_standardization(model, np.array([3.0, -1.0]), np.array([2.0, 0.5]))
        after = model.forward_graph(x, edges).out
        torch.testing.assert_close(after, before * torch.tensor([2.0, 0.5]) +
                                   torch.tensor([3.0, -1.0]))


class RunTest(unittest.TestCase):
    def test_csv_errors_name_the_problem(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.csv")
            write_csv(path, [["CCO", "x"]], ["smiles", "y"])
            with self.assertRaisesRegex(mol.MoleculeDataError, "no column"):
                mol.read_csv(path, ["z"])
            with self.assertRaisesRegex(mol.MoleculeDataError, "not a number"):
                mol.read_csv(path, ["y"])

    def run_task(self, task, labels, header, extra=()):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.csv")
            rows = [[s, *labels(i)] for i, s in enumerate(SMILES + ["not a smiles"])]
            write_csv(path, rows, ["smiles", *header])
            out = os.path.join(tmp, "model")
            with contextlib.redirect_stdout(io.StringIO()) as log:
                code = mol.main([path, "--out", out, "--task", task, "--labels",
                                 ",".join(header), "--epochs", "2", "--hidden", "8",
                                 "--embedding", "8", "--lin-hidden", "8", "--clusters", "3,1",
                                 "--batch-size", "4", "--split", "random", *extra])
            self.assertEqual(code, 0, log.getvalue())
            self.assertIn("1 skipped", log.getvalue())
            with open(os.path.join(out, "config.json")) as f:
                config = json.load(f)
            self.assertEqual(config["task"], task)
            self.assertEqual(config["feature_spec"]["molecule"], fz.DEFAULT_SPEC)
            self.assertEqual(config["num_features"], fz.num_features(fz.DEFAULT_SPEC))
            # The exported weights reproduce the run's test metric.
            model = load_model_dir(out)
            test = os.path.join(out, "test.csv")
            data = mol.load_molecules(test, header, fz.DEFAULT_SPEC)
            result = mol.metrics(task, data.labels, mol.predict(model, data.graphs,
                                                                 torch.float64), header)
            recorded = config["training"]["test_metric"]
            if not math.isnan(recorded):
                self.assertAlmostEqual(result["value"], recorded, 5)
            with open(os.path.join(out, "graphs.json")) as f:
                graphs = json.load(f)
            self.assertEqual(graphs["graphs"][0]["name"], data.smiles[0])
            return config, model

    def test_classification(self):
        config, _ = self.run_task("classification", lambda i: [i % 2], ["y"])
        self.assertEqual(config["num_outputs"], 2)

    def test_multilabel_with_missing(self):
        config, model = self.run_task(
            "multilabel", lambda i: [i % 2, "" if i % 3 == 0 else (i // 2) % 2], ["a", "b"])
        x, e = fz.featurize("CCO")
        out = model.forward_graph(x, e).out
        self.assertTrue(bool(((out > 0) & (out < 1)).all()))   # probabilities

    def test_regression(self):
        config, _ = self.run_task("regression", lambda i: [float(i) / 4 - 1], ["v"],
                                  ["--select", "loss"])
        self.assertIn("target_mean", config["training"])


if __name__ == "__main__":
    unittest.main()
