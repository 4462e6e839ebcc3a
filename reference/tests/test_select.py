"""diffpool_ref.select: per-fold selection uses validation results only (never
test accuracy), the driver trains a grid, resumes, re-evaluates folds without
a stored history, rejects bad grids, and --retrain trains the picked setting
again with distinct seeds without changing the pick."""

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


class Retrain(unittest.TestCase):
    """--retrain R: the pick is made exactly as without it; then the picked
    setting trains R more times per fold with R distinct derived seeds, and
    the fold's score is the mean of those runs' test accuracies."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data = write_synthetic_tu(cls.tmp.name)
        cls.grid = os.path.join(cls.tmp.name, "grid.json")
        with open(cls.grid, "w") as f:
            # 4 epochs at lr 0.01: on folds 1-3 this picks both settings (so
            # the retrain runs group folds by setting) and the runs differ.
            json.dump({"base": ["--epochs", "4", "--patience", "4", "--batch-size", "8",
                                "--lr", "0.01", "--hidden", "6", "--embedding", "5",
                                "--lin-hidden", "5", "--export-graphs", "1", "--seed", "3"],
                       "configs": {"wd": ["--weight-decay", "0.01"],
                                   "one-level": ["--levels", "1", "--dropout", "0.5"]}}, f)
        cls.common = [cls.data, "--grid", cls.grid, "--folds", "1,2,3", "--no-progress"]
        cls.plain_out = os.path.join(cls.tmp.name, "plain")
        cls.out = os.path.join(cls.tmp.name, "retrain")
        code, _, err = run_cli(select.main, cls.common + ["--out", cls.plain_out])
        assert code == 0, err
        code, cls.stdout, err = run_cli(select.main, cls.common + ["--out", cls.out,
                                                                  "--retrain", "2"])
        assert code == 0, err
        cls.plain = cls.load(cls.plain_out)
        cls.summary = cls.load(cls.out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @staticmethod
    def load(out):
        with open(os.path.join(out, "summary.json")) as f:
            return json.load(f)

    @staticmethod
    def config(model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            return json.load(f)

    def test_default_is_unchanged(self):
        self.assertNotIn("retrain", self.plain)
        self.assertFalse(os.path.exists(os.path.join(self.plain_out, select.RETRAIN_DIR)))
        for r in self.plain["per_fold"]:
            self.assertNotIn("retrain_runs", r)

    def test_pick_is_the_same_with_and_without_retrain(self):
        self.assertEqual(self.summary["picked"], self.plain["picked"])
        for a, b in zip(self.plain["per_fold"], self.summary["per_fold"]):
            self.assertEqual(a["candidates"], b["candidates"])
            self.assertEqual(b["selection_test_accuracy"], a["test_accuracy"])
        self.assertEqual(self.summary["selection_test_accuracy_mean"],
                         self.plain["test_accuracy_mean"])
        self.assertEqual(set(self.summary["picked"].values()), {"wd", "one-level"},
                         "the fixture should make both settings win a fold")

    def test_runs_use_the_picked_setting_and_distinct_seeds(self):
        seeds = [select.retrain_seed(3, r) for r in (1, 2)]
        self.assertEqual(len(set(seeds + [3])), 3)
        for r in self.summary["per_fold"]:
            runs = r["retrain_runs"]
            self.assertEqual([x["run"] for x in runs], [1, 2])
            self.assertEqual([x["seed"] for x in runs], seeds)
            picked = self.config(r["model_dir"])
            for x in runs:
                self.assertEqual(x["setting"], r["picked"])
                self.assertTrue(x["model_dir"].startswith(
                    os.path.join(self.out, select.RETRAIN_DIR, f"run-{x['run']}",
                                 r["picked"]) + os.sep))
                config = self.config(x["model_dir"])
                training = config["training"]
                self.assertEqual((training["seed"], training["fold"]), (x["seed"], r["fold"]))
                self.assertEqual(training["test_accuracy"], x["test_accuracy"])
                # Same architecture and training options as the picked run;
                # only the seed (and what it drives) differs.
                self.assertEqual({k: v for k, v in config.items() if k != "training"},
                                 {k: v for k, v in picked.items() if k != "training"})
                for key in ("weight_decay", "dropout", "lr", "max_epochs", "patience",
                            "batch_size", "val_fraction", "num_train", "num_val",
                            "num_test"):
                    self.assertEqual(training[key], picked["training"][key], key)
                self.assertEqual(x["num_test"], r["num_test"])
            self.assertAlmostEqual(r["test_accuracy"],
                                   sum(x["test_accuracy"] for x in runs) / 2)
        self.assertAlmostEqual(self.summary["test_accuracy_mean"], sum(
            r["test_accuracy"] for r in self.summary["per_fold"]) / 3)
        self.assertIn("retrained 2x", self.stdout)

    def test_resume_reuses_finished_runs_and_only_select_checks_them(self):
        out = os.path.join(self.tmp.name, "more")
        shutil.copytree(self.out, out)
        code, _, err = run_cli(select.main, self.common + ["--out", out, "--resume",
                                                          "--retrain", "3"])
        self.assertEqual(code, 0, err)
        s = self.load(out)
        self.assertEqual(s["picked"], self.summary["picked"])
        for name in ("wd", "one-level"):
            self.assertEqual(s["settings"][name]["trained_folds"], [])
        for run in s["retrain_summary"]["runs"]:
            if run["run"] < 3:
                self.assertEqual(run["trained_folds"], [], run)
                self.assertEqual(sorted(run["resumed_folds"]), run["folds"])
            else:
                self.assertEqual(run["trained_folds"], run["folds"])
        for a, b in zip(self.summary["per_fold"], s["per_fold"]):
            self.assertEqual([x["test_accuracy"] for x in a["retrain_runs"]],
                             [x["test_accuracy"] for x in b["retrain_runs"][:2]])
            self.assertEqual(len(b["retrain_runs"]), 3)
        code, _, err = run_cli(select.main, self.common + ["--out", out, "--only-select",
                                                          "--retrain", "3"])
        self.assertEqual(code, 0, err)
        self.assertEqual(self.load(out)["per_fold"][0]["test_accuracy"],
                         s["per_fold"][0]["test_accuracy"])
        code, _, err = run_cli(select.main, self.common + ["--out", out, "--only-select",
                                                          "--retrain", "4"])
        self.assertEqual(code, 1)
        self.assertIn("retrain run 4", err)

    def test_jobs_give_the_same_runs(self):
        out = os.path.join(self.tmp.name, "jobs")
        shutil.copytree(self.out, out)
        shutil.rmtree(os.path.join(out, select.RETRAIN_DIR, "run-2"))
        code, _, err = run_cli(select.main, self.common + ["--out", out, "--resume",
                                                          "--retrain", "2", "--jobs", "2"])
        self.assertEqual(code, 0, err)
        s = self.load(out)
        self.assertEqual([r["trained_folds"] for r in s["retrain_summary"]["runs"]
                          if r["run"] == 1], [[]] * len(
                              {r["picked"] for r in s["per_fold"]}))
        for a, b in zip(self.summary["per_fold"], s["per_fold"]):
            self.assertEqual(a["retrain_runs"][1]["test_accuracy"],
                             b["retrain_runs"][1]["test_accuracy"])
            self.assertFalse(b["retrain_runs"][1]["resumed"])
            with open(os.path.join(a["retrain_runs"][1]["model_dir"],
                                   "model.safetensors"), "rb") as f1, \
                    open(os.path.join(b["retrain_runs"][1]["model_dir"],
                                      "model.safetensors"), "rb") as f2:
                self.assertEqual(f1.read(), f2.read())

    def test_bad_retrain(self):
        code, _, err = run_cli(select.main, self.common + [
            "--out", os.path.join(self.tmp.name, "bad"), "--retrain", "-1"])
        self.assertEqual(code, 1)
        self.assertIn("--retrain must be >= 0", err)
        with self.assertRaises(ValueError):
            select.retrain_seed(3, 0)


if __name__ == "__main__":
    unittest.main()
