"""diffpool_ref.select: per-fold selection uses validation results only (never
test accuracy), the driver trains a grid, resumes, re-evaluates folds without
a stored history, and rejects bad grids."""

import dataclasses
import json
import os
import shutil
import tempfile
import unittest

from diffpool_ref import select

from .support import run_cli
from .test_train import write_synthetic_tu


def row(val_acc, val_nll, test_acc):
    return {"val_accuracy": val_acc, "val_nll": val_nll, "test_accuracy": test_acc}


class Selection(unittest.TestCase):
    def test_picks_by_validation_where_test_disagrees(self):
        # In every fold the setting with the best validation accuracy has the
        # WORST test accuracy; selection must follow validation.
        results = {
            "a": {1: row(0.80, 0.5, 0.30), 2: row(0.50, 0.9, 0.95), 3: row(0.60, 0.7, 0.10)},
            "b": {1: row(0.70, 0.4, 0.90), 2: row(0.75, 0.8, 0.20), 3: row(0.55, 0.6, 0.99)},
            "c": {1: row(0.60, 0.3, 0.99), 2: row(0.70, 0.2, 0.99), 3: row(0.65, 0.9, 0.05)},
        }
        picked = select.select_per_fold(results, ["a", "b", "c"])
        self.assertEqual(picked, {1: "a", 2: "b", 3: "c"})
        # Any change of the test accuracies leaves the choice unchanged ...
        for rows in results.values():
            for r in rows.values():
                r["test_accuracy"] = 1.0 - r["test_accuracy"]
        self.assertEqual(select.select_per_fold(results, ["a", "b", "c"]), picked)
        # ... and so does removing them altogether.
        stripped = {n: {f: {k: v for k, v in r.items() if k != "test_accuracy"}
                        for f, r in rows.items()} for n, rows in results.items()}
        self.assertEqual(select.select_per_fold(stripped, ["a", "b", "c"]), picked)

    def test_ties_lower_nll_then_grid_order(self):
        results = {"a": {1: row(0.7, 0.6, 0.1), 2: row(0.7, 0.5, 0.1)},
                   "b": {1: row(0.7, 0.5, 0.9), 2: row(0.7, 0.5, 0.9)}}
        self.assertEqual(select.select_per_fold(results, ["a", "b"]), {1: "b", 2: "a"})
        self.assertEqual(select.select_per_fold(results, ["b", "a"]), {1: "b", 2: "b"})
        results["b"][1]["val_nll"] = float("nan")
        self.assertEqual(select.select_per_fold(results, ["b", "a"])[1], "a")

    def test_selection_record_has_no_test_field(self):
        fields = {f.name for f in dataclasses.fields(select.Validation)}
        self.assertEqual(fields, {"config", "val_accuracy", "val_nll"})
        with self.assertRaises(TypeError):
            select.pick([row(0.5, 0.5, 0.5)])

    def test_missing_results_are_errors(self):
        with self.assertRaisesRegex(ValueError, "no result for b"):
            select.select_per_fold({"a": {1: row(.5, .5, .5)}, "b": {}}, ["a", "b"])
        with self.assertRaisesRegex(ValueError, "no validation result"):
            select.select_per_fold({"a": {1: row(None, None, .5)}}, ["a"])


class Driver(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = write_synthetic_tu(cls.tmp.name)
        cls.grid = os.path.join(cls.tmp.name, "grid.json")
        with open(cls.grid, "w") as f:
            json.dump({"base": ["--epochs", "3", "--patience", "3", "--batch-size", "8",
                                "--hidden", "6", "--embedding", "5", "--lin-hidden", "5",
                                "--export-graphs", "1", "--seed", "3"],
                       "configs": {"wd": ["--weight-decay", "0.01"],
                                   "one-level": ["--levels", "1", "--dropout", "0.5"]}}, f)
        cls.out = os.path.join(cls.tmp.name, "sel")
        cls.common = [cls.data, "--grid", cls.grid, "--folds", "1,2", "--no-progress"]
        code, cls.stdout, err = run_cli(select.main, cls.common + ["--out", cls.out])
        assert code == 0, err
        with open(os.path.join(cls.out, "summary.json")) as f:
            cls.summary = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_summary_follows_validation(self):
        s = self.summary
        self.assertEqual([r["fold"] for r in s["per_fold"]], [1, 2])
        for r in s["per_fold"]:
            key = {n: (c["val_accuracy"], -c["val_nll"], -i)
                   for i, (n, c) in enumerate(r["candidates"].items())}
            self.assertEqual(r["picked"], max(key, key=key.get))
            self.assertEqual(r["test_accuracy"],
                             r["candidates"][r["picked"]]["test_accuracy"])
            self.assertTrue(os.path.isfile(os.path.join(r["model_dir"], "model.safetensors")))
        self.assertAlmostEqual(s["test_accuracy_mean"],
                               sum(r["test_accuracy"] for r in s["per_fold"]) / 2)
        self.assertEqual(sum(s["pick_counts"].values()), 2)
        for name in ("wd", "one-level"):
            self.assertEqual(s["settings"][name]["trained_folds"], [1, 2])
            with open(os.path.join(self.out, name, "fold-1", "config.json")) as f:
                training = json.load(f)["training"]
            self.assertEqual(training["max_epochs"], 3)
        self.assertIn("selected-setting test accuracy", self.stdout)

    def test_resume_and_only_select_train_nothing_and_agree(self):
        out = os.path.join(self.tmp.name, "copy")
        shutil.copytree(self.out, out)
        # A fold without its history: the driver re-evaluates its model on
        # the validation split; the NLL must equal the one from the history.
        os.remove(os.path.join(out, "wd", "fold-2", "fold_result.json"))
        code, stdout, err = run_cli(select.main, self.common + ["--out", out, "--only-select"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "summary.json")) as f:
            again = json.load(f)
        for a, b in zip(self.summary["per_fold"], again["per_fold"]):
            self.assertEqual(a["picked"], b["picked"])
            for name in a["candidates"]:
                self.assertAlmostEqual(a["candidates"][name]["val_nll"],
                                       b["candidates"][name]["val_nll"], places=5)
        code, stdout, err = run_cli(select.main, self.common + ["--out", out, "--resume"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "summary.json")) as f:
            resumed = json.load(f)
        for name in ("wd", "one-level"):
            self.assertEqual(resumed["settings"][name]["trained_folds"], [])
        self.assertEqual(resumed["picked"], self.summary["picked"])

    def test_reuse_copies_matching_folds(self):
        out = os.path.join(self.tmp.name, "reused")
        code, _, err = run_cli(select.main, self.common + [
            "--out", out, "--resume", "--reuse", f"wd={os.path.join(self.out, 'wd')}",
            "--reuse", f"one-level={os.path.join(self.out, 'one-level')}"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
        for name in ("wd", "one-level"):
            self.assertEqual(s["settings"][name]["copied_folds"], [1, 2])
            self.assertEqual(s["settings"][name]["trained_folds"], [])
        self.assertEqual(s["picked"], self.summary["picked"])
        # A sub-grid: only the named setting, nothing trained.
        code, _, err = run_cli(select.main, self.common + [
            "--out", out, "--only-select", "--configs", "one-level"])
        self.assertEqual(code, 0, err)
        with open(os.path.join(out, "summary.json")) as f:
            s = json.load(f)
        self.assertEqual(list(s["settings"]), ["one-level"])
        self.assertEqual(set(s["picked"].values()), {"one-level"})
        code, _, err = run_cli(select.main, self.common + ["--out", out, "--configs", "x"])
        self.assertEqual(code, 1)
        self.assertIn("unknown or repeated", err)

    def test_only_select_refuses_other_settings(self):
        grid = os.path.join(self.tmp.name, "other.json")
        with open(grid, "w") as f:
            json.dump({"base": ["--epochs", "4"], "configs": {"wd": []}}, f)
        code, _, err = run_cli(select.main, [self.data, "--grid", grid, "--folds", "1",
                                             "--out", self.out, "--only-select"])
        self.assertEqual(code, 1)
        self.assertIn("trained with other settings", err)

    def test_bad_grids(self):
        cases = {
            '{"configs": {"a": ["--out", "x"]}}': "set by the driver",
            '{"configs": {"a": ["--jobs=2"]}}': "set by the driver",
            '{"configs": {"a": [], "a": ["--lr", "1"]}}': "duplicate keys",
            '{"configs": {}}': "non-empty",
            '{"configs": {"../x": []}}': "bad setting name",
            '{"configs": {"a": ["--nonsense", "1"]}}': "unknown options",
            '{"configs": {"a": ["--dropout", "2"]}}': "--dropout must be",
            '{"configs": {"a": [1]}}': "list of strings",
            '{"configs": {"a": []}, "extra": 1}': "expected an object",
            '[1': "not valid JSON",
        }
        for text, message in cases.items():
            grid = os.path.join(self.tmp.name, "bad.json")
            with open(grid, "w") as f:
                f.write(text)
            code, _, err = run_cli(select.main, [self.data, "--grid", grid,
                                                 "--out", os.path.join(self.tmp.name, "x")])
            self.assertEqual(code, 1, text)
            self.assertIn(message, err, text)
        code, _, err = run_cli(select.main, self.common + ["--out", self.out, "--reuse",
                                                          "wd=/nonexistent"])
        self.assertEqual(code, 1)
        self.assertIn("needs --resume", err)


if __name__ == "__main__":
    unittest.main()
