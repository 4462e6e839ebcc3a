"""diffpool_ref.train on a small synthetic TU dataset: runs, exports, is
deterministic, and rejects bad arguments."""

import json
import os
import tempfile
import unittest

import numpy as np

from diffpool_ref import safetensors, train
from diffpool_ref.config import default_clusters
from diffpool_ref.graphset import read_graphs

from .support import run_cli


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
                    "link_loss_weight", "entropy_loss_weight", "dataset_file_sha256"):
            self.assertIn(key, training)
        self.assertEqual(training["num_test"], 4)
        self.assertEqual(training["num_train"] + training["num_val"], 36)
        graphs = read_graphs(os.path.join(first, "graphs.json"))
        self.assertEqual([g["name"] for g in graphs], ["SYN/4", "SYN/5", "SYN/6"])
        self.assertEqual([g["label"] for g in graphs], [0, 1, 0])
        tensors, _ = safetensors.load_file(os.path.join(first, "model.safetensors"))
        self.assertGreater(int(tensors["gnn1_pool.bn1.num_batches_tracked"]), 0)

    def test_bad_arguments_exit_non_zero(self):
        out = os.path.join(self.tmp.name, "bad")
        for extra, message in ((["--fold", "11"], "fold must be 1..10"),
                               (["--val-fraction", "1.5"], "--val-fraction"),
                               (["--clusters", "3,x"], "bad cluster list")):
            with self.subTest(extra=extra):
                code, _, err = run_cli(train.main, self.args + extra + ["--out", out])
                self.assertNotEqual(code, 0)
                self.assertIn(message, err)

    def test_default_clusters(self):
        self.assertEqual(default_clusters(28), [7, 2])
        self.assertEqual(default_clusters(126, 3), [32, 8, 2])
        self.assertEqual(default_clusters(3), [1, 1])


if __name__ == "__main__":
    unittest.main()
