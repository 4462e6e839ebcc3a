"""diffpool_ref.baseline: the structure-agnostic baseline."""

import tempfile
import unittest

import numpy as np

from diffpool_ref import baseline
from diffpool_ref.tu import load_dataset

from .support import run_cli
from .test_train import write_synthetic_tu


class Baseline(unittest.TestCase):
    def test_vectors_and_accuracy_on_a_dataset_its_features_separate(self):
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_synthetic_tu(tmp)
            dataset = load_dataset(folder)
            vectors = baseline.graph_vectors(dataset)
            x = dataset.features(3)
            np.testing.assert_allclose(vectors[3], np.concatenate([x.sum(0), x.mean(0)]))
            # The class is the dominant tag (80% of the nodes): the tag
            # shares separate it, so test folds are scored almost perfectly.
            code, stdout, err = run_cli(baseline.main, [
                folder, "--folds", "1-4", "--epochs", "300", "--patience", "300"])
            self.assertEqual(code, 0, err)
            accuracies = [float(line.split("test accuracy ")[1].split(",")[0])
                          for line in stdout.splitlines() if line.startswith("fold")]
            self.assertEqual(len(accuracies), 4)
            self.assertGreaterEqual(np.mean(accuracies), 0.9)
            self.assertIn("SYN baseline: test accuracy", stdout)

    def test_bad_arguments(self):
        code, _, err = run_cli(baseline.main, ["x", "--lr", "0"])
        self.assertNotEqual(code, 0)
        self.assertIn("--lr > 0", err)


if __name__ == "__main__":
    unittest.main()
