"""diffpool_ref.train and diffpool_ref.crossval on small synthetic TU
datasets: they run, export, are deterministic, stop early, report test-fold
accuracy, and reject bad arguments."""

import argparse
import json
import os
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch

from diffpool_ref import crossval, safetensors, train
from diffpool_ref.config import ConfigError, default_clusters, load_config, validate_config
from diffpool_ref.graphset import read_graphs
from diffpool_ref.model import DiffPool, load_state, make_batch
from diffpool_ref.tu import load_dataset, one_hot_tags

from .support import run_cli, small_config
from .test_tu import ATTRIBUTES, RAW, write_raw


def write_synthetic_tu(root, name="SYN", count=40, seed=0):
    """Two classes told apart by their dominant tag; chain graphs of 3..8
    nodes with a random chord; 10 folds of 4 test graphs each."""
    rng = np.random.default_rng(seed)
    lines = [str(count)]
    for g in range(count):
        label = g % 2
        n = int(rng.integers(3, 9))
        nbrs = [set() for _ in range(n)]
        for v in range(n - 1):
            nbrs[v].add(v + 1)
            nbrs[v + 1].add(v)
        u, v = rng.choice(n, 2, replace=False)
        nbrs[u].add(int(v))
        nbrs[v].add(int(u))
        lines.append(f"{n} {label * 3}")
        for v in range(n):
            tag = label + 1 if rng.random() < 0.8 else 5
            lines.append(" ".join(map(str, [tag, len(nbrs[v]), *sorted(nbrs[v])])))
    folder = os.path.join(root, name)
    os.makedirs(os.path.join(folder, "10fold_idx"))
    with open(os.path.join(folder, f"{name}.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for k in range(1, 11):
        test = list(range((k - 1) * 4, k * 4))
        train_idx = [i for i in range(count) if i not in test]
        for split, idx in (("train", train_idx), ("test", test)):
            with open(os.path.join(folder, "10fold_idx", f"{split}_idx-{k}.txt"), "w") as f:
                f.write("\n".join(map(str, idx)) + "\n")
    return folder


class Trainer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = write_synthetic_tu(cls.tmp.name)
        cls.args = [cls.data, "--fold", "2", "--epochs", "4", "--hidden", "8",
                    "--embedding", "6", "--lin-hidden", "5", "--batch-size", "8",
                    "--threads", "1", "--log-every", "0", "--export-graphs", "3",
                    "--assignments", "--seed", "7"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def train_into(self, out):
        code, stdout, err = run_cli(train.main, self.args + ["--out", out])
        self.assertEqual(code, 0, err)
        return stdout

    def test_trains_exports_and_is_deterministic(self):
        first, second = (os.path.join(self.tmp.name, d) for d in ("a", "b"))
        stdout = self.train_into(first)
        self.assertIn("test (fold 2, 4 graphs)", stdout)
        self.train_into(second)
        with open(os.path.join(first, "model.safetensors"), "rb") as a, \
                open(os.path.join(second, "model.safetensors"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        with open(os.path.join(first, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["clusters"], [2, 1])          # ceil(.25*8), ceil(.25*2)
        self.assertEqual(config["feature_spec"]["tag_values"], [1, 2, 5])
        self.assertEqual(config["output_names"], ["0", "3"])
        self.assertEqual(config["max_nodes"], 8)
        training = config["training"]
        for key in ("test_accuracy", "train_wall_time_s", "best_epoch", "command",
                    "link_loss_weight", "entropy_loss_weight", "dropout"):
            self.assertIn(key, training)
        self.assertEqual(list(training["dataset_files_sha256"]), ["SYN.txt"])
        self.assertEqual(training["folds"], "10fold_idx (shipped)")
        self.assertEqual(training["num_test"], 4)
        self.assertEqual(training["num_train"] + training["num_val"], 36)
        graphs = read_graphs(os.path.join(first, "graphs.json"))
        self.assertEqual([g["name"] for g in graphs], ["SYN/4", "SYN/5", "SYN/6"])
        self.assertEqual([g["label"] for g in graphs], [0, 1, 0])
        tensors, _ = safetensors.load_file(os.path.join(first, "model.safetensors"))
        self.assertGreater(int(tensors["gnn1_pool.bn1.num_batches_tracked"]), 0)

    def test_random_graphs_and_subset(self):
        out = os.path.join(self.tmp.name, "subset")
        code, stdout, err = run_cli(train.main, self.args + [
            "--out", out, "--export-random", "4", "--max-train-graphs", "10"])
        self.assertEqual(code, 0, err)
        self.assertIn("train 10, val 4, test 4 graphs", stdout)
        names = [g["name"] for g in read_graphs(os.path.join(out, "graphs.json"))]
        self.assertEqual(names, ["SYN/4", "SYN/5", "SYN/6", "random/0/single_node",
                                 "random/1/edgeless", "random/2/isolated_nodes",
                                 "random/3/max_nodes"])

    def test_raw_format_with_attributes(self):
        root = os.path.join(self.tmp.name, "raw")
        # RAW's three graphs repeated: 30 graphs, 20 nodes per 3 graphs ...
        files = {"A": [], "graph_indicator": [], "graph_labels": [],
                 "node_labels": [], "node_attributes": []}
        for copy in range(10):
            base = copy * 7
            files["A"] += [", ".join(str(base + int(v)) for v in e.split(", "))
                           for e in RAW["A"]]
            files["graph_indicator"] += [str(copy * 3 + int(g)) for g in RAW["graph_indicator"]]
            files["graph_labels"] += RAW["graph_labels"]
            files["node_labels"] += RAW["node_labels"]
            files["node_attributes"] += ATTRIBUTES
        folder = write_raw(root, "RAWSYN", files)
        out = os.path.join(self.tmp.name, "rawout")
        code, stdout, err = run_cli(train.main, [
            folder, "--out", out, "--epochs", "2", "--hidden", "4", "--embedding", "4",
            "--lin-hidden", "4", "--batch-size", "6", "--no-progress", "--export-graphs", "3"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["num_features"], 5)
        self.assertEqual(config["feature_spec"]["encoding"], "one_hot_tag_attributes")
        self.assertEqual(config["training"]["dataset_format"], "raw")
        self.assertIn("generated", config["training"]["folds"])
        graphs = read_graphs(os.path.join(out, "graphs.json"))
        self.assertEqual(len(graphs), 3)
        self.assertTrue(all(g["x"].shape[1] == 5 for g in graphs))

    def test_degree_features_option(self):
        out = os.path.join(self.tmp.name, "degree")
        code, stdout, err = run_cli(train.main, self.args + [
            "--out", out, "--degree-features", "2", "--export-random", "2"])
        self.assertEqual(code, 0, err)
        self.assertIn("SYN: 40 graphs, 6 features", stdout)
        config = load_config(os.path.join(out, "config.json"))
        self.assertEqual(config["num_features"], 6)
        self.assertEqual(config["feature_spec"], {
            "encoding": "one_hot_tag_degree", "tag_values": [1, 2, 5], "max_degree": 2,
            "names": ["tag=1", "tag=2", "tag=5", "degree=0", "degree=1", "degree>=2"]})
        dataset = load_dataset(self.data)
        graphs = read_graphs(os.path.join(out, "graphs.json"))
        for g in graphs[:3]:   # test graphs: tags, then the clipped in-degree
            graph = dataset.graphs[int(g["name"].split("/")[1])]
            degree = np.minimum(np.bincount(graph.dst, minlength=graph.num_nodes), 2)
            np.testing.assert_array_equal(g["x"][:, :3], one_hot_tags(graph.tags, [1, 2, 5]))
            np.testing.assert_array_equal(g["x"][:, 3:], np.eye(3)[degree])
        self.assertEqual([g["x"].shape[1] for g in graphs], [6] * 5)
        for bad in ({"max_degree": 3}, {"max_degree": -1}, {"tag_values": [1, 2]},
                    {"max_degree": True}):
            with self.subTest(bad=bad), self.assertRaisesRegex(ConfigError, "max_degree"):
                validate_config(dict(config, feature_spec=dict(config["feature_spec"], **bad)))
        # the exported model reproduces the stored outputs from the stored rows
        model = DiffPool(config).double().eval()
        tensors, _ = safetensors.load_file(os.path.join(out, "model.safetensors"))
        load_state(model, tensors)
        with torch.no_grad():
            for g in graphs:
                want = model.forward_graph(g["x"], g["edge_index"]).out[0].tolist()
                self.assertEqual(g["expected"], want)
        # the feature columns come from the dataset, not from the model: a
        # model trained with them refuses to be fed plain tag rows
        with self.assertRaisesRegex(ValueError, "6"):
            model(make_batch([(torch.zeros(2, 3, dtype=torch.float64),
                               torch.zeros(2, 0, dtype=torch.int64))], torch.float64))
        code, _, err = run_cli(train.main, self.args + ["--out", out, "--degree-features",
                                                        "-1"])
        self.assertNotEqual(code, 0)
        self.assertIn("--degree-features", err)

    def test_bad_arguments_exit_non_zero(self):
        out = os.path.join(self.tmp.name, "bad")
        for extra, message in ((["--fold", "11"], "fold must be 1..10"),
                               (["--val-fraction", "1.5"], "--val-fraction"),
                               (["--dropout", "1"], "--dropout"),
                               (["--clusters", "3,x"], "bad cluster list")):
            with self.subTest(extra=extra):
                code, _, err = run_cli(train.main, self.args + extra + ["--out", out])
                self.assertNotEqual(code, 0)
                self.assertIn(message, err)

    def test_default_clusters(self):
        self.assertEqual(default_clusters(28), [7, 2])
        self.assertEqual(default_clusters(126, 3), [32, 8, 2])
        self.assertEqual(default_clusters(3), [1, 1])
        self.assertEqual(default_clusters(150), [38, 10])    # PyG's PROTEINS example
        self.assertEqual(default_clusters(620), [155, 39])   # PROTEINS' largest graph


class EarlyStopping(unittest.TestCase):
    """train_model with a scripted validation: it keeps the best epoch's
    weights and stops `patience` epochs after it."""

    def run_scripted(self, script, select="accuracy", patience=3, epochs=20):
        config = small_config(clusters=(2,), max_nodes=8)
        torch.manual_seed(0)
        model = DiffPool(config)
        rng = np.random.default_rng(0)
        x = np.eye(5)[rng.integers(0, 5, 6)]
        edges = np.array([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])

        class Data:
            graphs = [(torch.tensor(x).float(), torch.tensor(edges))] * 8
            labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])

            def batch(self, indices):
                from diffpool_ref.model import make_batch
                return make_batch([self.graphs[i] for i in indices], torch.float32)

        snapshots = []

        def scripted_evaluate(model, data, indices):
            snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
            return script[len(snapshots) - 1]

        args = argparse.Namespace(lr=1e-2, weight_decay=0.0, epochs=epochs, patience=patience,
                                  batch_size=3, link_weight=1.0, entropy_weight=1.0,
                                  clip=1.0, select=select, log_every=0)
        split = train.Split(train=[0, 1, 2, 3, 4, 5], val=[6, 7], test=[])
        with mock.patch.object(train, "evaluate", scripted_evaluate):
            stats = train.train_model(model, Data(), split, args, rng, log=lambda _: None)
        return model, stats, snapshots

    def test_keeps_the_best_epoch_and_stops_after_patience(self):
        # (val accuracy, val NLL) per epoch: best is epoch 3 (tie on accuracy
        # with epoch 2, lower NLL); epochs 4-6 are no better -> stop at 6.
        script = [(0.5, 1.0), (0.75, 0.9), (0.75, 0.8), (0.75, 0.85), (0.5, 0.1), (0.7, 0.7)]
        model, stats, snapshots = self.run_scripted(script + [(1.0, 0.0)] * 14)
        self.assertEqual((stats["best_epoch"], stats["epochs_run"]), (3, 6))
        self.assertEqual(len(stats["history"]), 6)
        self.assertEqual(stats["val_accuracy"], 0.75)
        for name, value in model.state_dict().items():
            self.assertTrue(torch.equal(value, snapshots[2][name]), name)
        self.assertFalse(all(torch.equal(v, snapshots[5][k]) for k, v in
                             model.state_dict().items()))

    def test_select_by_loss(self):
        script = [(0.5, 1.0), (0.9, 1.1), (0.4, 0.5), (0.9, 0.6), (0.9, 0.7), (0.9, 0.8)]
        _, stats, _ = self.run_scripted(script + [(1.0, 9.0)] * 14, select="loss")
        self.assertEqual((stats["best_epoch"], stats["epochs_run"]), (3, 6))


class CrossValidation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = write_synthetic_tu(cls.tmp.name)
        cls.common = ["--epochs", "3", "--hidden", "8", "--embedding", "6",
                      "--lin-hidden", "5", "--batch-size", "8", "--seed", "3",
                      "--no-progress"]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_reports_test_fold_accuracy_and_matches_single_fold_training(self):
        out = os.path.join(self.tmp.name, "cv")
        code, stdout, err = run_cli(crossval.main, [
            self.data, *self.common, "--folds", "2,5", "--out", out, "--export-graphs", "2"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        rows = summary["per_fold"]
        self.assertEqual([r["fold"] for r in rows], [2, 5])
        accuracies = [r["test_accuracy"] for r in rows]
        self.assertAlmostEqual(summary["test_accuracy_mean"], np.mean(accuracies))
        self.assertAlmostEqual(summary["test_accuracy_std"], np.std(accuracies))
        self.assertEqual(summary["tested_graphs"], 8)
        self.assertEqual([len(r["history"]) for r in rows], [r["epochs_run"] for r in rows])
        self.assertIn(f"{100 * np.mean(accuracies):.2f} ± {100 * np.std(accuracies):.2f}",
                      stdout)
        with open(os.path.join(out, "curves.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        replotted = os.path.join(self.tmp.name, "replot.png")
        code, _, err = run_cli(crossval.main, [self.data, "--out", out, "--replot",
                                               "--curves", replotted])
        self.assertEqual(code, 0, err)
        with open(replotted, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        # Each fold is exactly what `train --fold K` produces, and its test
        # accuracy is measured on the test fold's 4 graphs.
        for row in rows:
            single = os.path.join(self.tmp.name, f"single{row['fold']}")
            code, stdout, err = run_cli(train.main, [
                self.data, *self.common, "--fold", str(row["fold"]), "--out", single])
            self.assertEqual(code, 0, err)
            with open(os.path.join(single, "config.json")) as f:
                training = json.load(f)["training"]
            self.assertEqual(training["test_accuracy"], row["test_accuracy"])
            self.assertEqual(training["num_test"], row["num_test"])
            with open(os.path.join(single, "model.safetensors"), "rb") as a, \
                    open(os.path.join(out, f"fold-{row['fold']}", "model.safetensors"), "rb") as b:
                self.assertEqual(a.read(), b.read())

    def test_parallel_jobs_give_the_same_results(self):
        results = []
        for jobs in ("1", "2"):
            out = os.path.join(self.tmp.name, f"jobs{jobs}")
            code, _, err = run_cli(crossval.main, [
                self.data, *self.common, "--epochs", "2", "--folds", "1-2", "--jobs", jobs,
                "--out", out, "--export-graphs", "0"])
            self.assertEqual(code, 0, err)
            with open(os.path.join(out, "summary.json")) as f:
                rows = json.load(f)["per_fold"]
            results.append([(r["fold"], r["test_accuracy"], r["history"][-1]["train_loss"])
                            for r in rows])
        self.assertEqual(results[0], results[1])

    def test_resume_reuses_matching_folds_and_retrains_the_others(self):
        def cv(out, *extra):
            code, stdout, err = run_cli(crossval.main, [
                self.data, *self.common, "--epochs", "2", "--out", out,
                "--export-graphs", "0", *extra])
            self.assertEqual(code, 0, err)
            with open(os.path.join(out, "summary.json")) as f:
                return stdout, json.load(f)

        fresh = cv(os.path.join(self.tmp.name, "fresh"), "--folds", "1-3")[1]["per_fold"]
        out = os.path.join(self.tmp.name, "resume")
        cv(out, "--folds", "1-2")
        model = os.path.join(out, "fold-1", "model.safetensors")
        stamp = os.stat(model).st_mtime_ns
        # Fold 2 as an older crossval left it: no fold_result.json.
        os.remove(os.path.join(out, "fold-2", crossval.FOLD_RESULT_FILE))
        stdout, summary = cv(out, "--folds", "1-3", "--resume")
        self.assertIn("resuming: folds [1, 2] reused", stdout)
        self.assertEqual(summary["resumed_folds"], [1, 2])
        self.assertEqual(summary["trained_folds"], [3])
        self.assertEqual(os.stat(model).st_mtime_ns, stamp)  # not rewritten
        rows = summary["per_fold"]
        self.assertEqual([(r["fold"], r["test_accuracy"], r["best_epoch"], r["num_train"])
                          for r in rows],
                         [(r["fold"], r["test_accuracy"], r["best_epoch"], r["num_train"])
                          for r in fresh])
        def curves(history):  # without the epochs' times
            return [{k: v for k, v in e.items() if k != "seconds"} for e in history]

        self.assertEqual(curves(rows[0]["history"]), curves(fresh[0]["history"]))
        self.assertIsNone(rows[1]["history"])
        self.assertEqual(curves(rows[2]["history"]), curves(fresh[2]["history"]))
        self.assertAlmostEqual(summary["test_accuracy_mean"],
                               np.mean([r["test_accuracy"] for r in fresh]))
        with open(os.path.join(out, "curves.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        # Other settings (or another subset of the training graphs): retrained.
        stdout, summary = cv(out, "--folds", "1", "--resume", "--lr", "0.002")
        self.assertIn("fold 1: retraining", stdout)
        self.assertIn("training.lr", stdout)
        self.assertEqual(summary["trained_folds"], [1])
        stdout, summary = cv(out, "--folds", "3", "--resume", "--max-train-graphs", "5")
        self.assertIn("training.num_train", stdout)
        self.assertEqual(summary["trained_folds"], [3])
        stdout, summary = cv(out, "--folds", "2", "--resume", "--hidden", "9")
        self.assertIn("hidden_channels", stdout)
        self.assertEqual(summary["trained_folds"], [2])

    def test_help_and_bad_folds(self):
        code, stdout, _ = run_cli(crossval.main, ["--help"])
        self.assertEqual(code, 0)
        self.assertIn("TEST-fold", stdout)
        code, _, err = run_cli(crossval.main, [self.data, "--out", "x", "--folds", "0-3"])
        self.assertNotEqual(code, 0)
        self.assertIn("folds must be in 1..10", err)


if __name__ == "__main__":
    unittest.main()
