"""diffpool_ref.export and make_graphs: files, dtypes, reference outputs, CLIs."""

import json
import os
import tempfile
import unittest

import numpy as np
import torch

from diffpool_ref import export, make_graphs, safetensors
from diffpool_ref.config import load_config
from diffpool_ref.graphset import random_records, read_graphs
from diffpool_ref.model import DiffPool, make_batch

from .support import SKIP_NO_DATA, run_cli, small_config, tu_dir


class ExportedModelDir(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = cls.tmp.name
        cls.config = small_config(clusters=(4, 2), max_nodes=9)
        torch.manual_seed(0)
        cls.model = DiffPool(cls.config)  # float32, as a trainer leaves it
        # Give BatchNorm non-trivial statistics, as training would.
        cls.model.train()
        records = random_records(12, seed=3, config=cls.config)
        with torch.no_grad():
            cls.model(make_batch([(r.x, r.edge_index) for r in records], torch.float32))
        cls.model.eval()
        cls.records = records
        export.export_model(cls.model.state_dict(), cls.config, cls.dir, records,
                            assignments=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_files_exist(self):
        for name in ("config.json", "model.safetensors", "model.pt", "graphs.json"):
            self.assertTrue(os.path.isfile(os.path.join(self.dir, name)), name)

    def test_safetensors_holds_every_state_entry_as_f32_or_i64(self):
        tensors, metadata = safetensors.load_file(os.path.join(self.dir, "model.safetensors"))
        state = self.model.state_dict()
        self.assertEqual(list(tensors), list(state))
        for name, value in tensors.items():
            with self.subTest(name=name):
                want = np.int64 if name.endswith("num_batches_tracked") else np.float32
                self.assertEqual(value.dtype, want)
                np.testing.assert_array_equal(value, state[name].numpy())
        self.assertEqual(metadata["format"], "pt")
        self.assertEqual(int(tensors["gnn1_pool.bn1.num_batches_tracked"]), 1)

    def test_model_pt_is_the_same_state_dict(self):
        state = torch.load(os.path.join(self.dir, "model.pt"), weights_only=True)
        for name, value in self.model.state_dict().items():
            self.assertTrue(torch.equal(state[name], value), name)

    def test_config_round_trips(self):
        self.assertEqual(load_config(os.path.join(self.dir, "config.json")), self.config)

    def test_expected_outputs_are_float64_of_the_float32_weights(self):
        graphs = read_graphs(os.path.join(self.dir, "graphs.json"))
        self.assertEqual(len(graphs), len(self.records))
        reference = DiffPool(self.config).double().eval()
        reference.load_state_dict(self.model.state_dict())  # exact float32 -> float64
        worst_fp32 = 0.0
        for graph in graphs:
            with self.subTest(graph=graph["name"]), torch.no_grad():
                want = reference.forward_graph(graph["x"], graph["edge_index"])
                self.assertEqual(graph["expected"], want.out[0].tolist())  # bit exact
                for s_json, s in zip(graph["expected_assignments"], want.assignments):
                    self.assertEqual(s_json, s.tolist())
                fp32 = self.model.forward_graph(graph["x"], graph["edge_index"]).out[0]
                worst_fp32 = max(worst_fp32, float(np.abs(
                    fp32.double().numpy() - np.array(graph["expected"])).max()))
        self.assertLess(worst_fp32, 1e-4)   # the runtime's contract is reachable

    def test_graph_entries_follow_the_format(self):
        with open(os.path.join(self.dir, "graphs.json")) as f:
            document = json.load(f)
        self.assertEqual((document["format"], document["version"]), ("diffpool-graphs", 1))
        self.assertEqual(document["num_features"], self.config["num_features"])
        levels = self.config["clusters"]
        for graph in document["graphs"]:
            n = graph["num_nodes"]
            self.assertEqual(len(graph["x"]), n)
            self.assertEqual(len(graph["expected"]), self.config["num_outputs"])
            shapes = [(len(s), len(s[0])) for s in graph["expected_assignments"]]
            self.assertEqual(shapes, [(n, levels[0]), (levels[0], levels[1])])

    def test_reexport_cli_reproduces_the_directory(self):
        with tempfile.TemporaryDirectory() as out:
            code, _, err = run_cli(export.main, [
                "--checkpoint", os.path.join(self.dir, "model.pt"),
                "--config", os.path.join(self.dir, "config.json"),
                "--out", out, "--random", "12", "--seed", "3", "--assignments"])
            self.assertEqual(code, 0, err)
            for name in ("model.safetensors", "graphs.json", "config.json"):
                with open(os.path.join(out, name), "rb") as a, \
                        open(os.path.join(self.dir, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), name)

    def test_make_graphs_cli_random_set_covers_the_edge_cases(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "g.json")
            code, stdout, err = run_cli(make_graphs.main, [
                "--model-dir", self.dir, "--random", "20", "--seed", "5", "--out", path])
            self.assertEqual(code, 0, err)
            self.assertIn("wrote 20 graphs", stdout)
            graphs = read_graphs(path)
        sizes = [g["num_nodes"] for g in graphs]
        self.assertIn(1, sizes)
        self.assertIn(self.config["max_nodes"], sizes)
        self.assertLessEqual(max(sizes), self.config["max_nodes"])
        some_isolated = False
        for g in graphs:
            with self.subTest(graph=g["name"]):
                edges = list(zip(*g["edge_index"].tolist()))
                self.assertEqual(len(edges), len(set(edges)))          # no duplicates
                self.assertFalse(any(s == d for s, d in edges))        # no self-loops
                self.assertEqual(set(edges), {(d, s) for s, d in edges})  # both ends
                np.testing.assert_array_equal(g["x"].sum(axis=1), 1)   # one-hot
                touched = {v for e in edges for v in e}
                some_isolated |= len(touched) < g["num_nodes"] and len(edges) > 0
                self.assertNotIn("expected_assignments", g)
        self.assertTrue(some_isolated)
        self.assertEqual(graphs[1]["edge_index"].shape, (2, 0))  # the edgeless one

    def test_cli_errors_exit_non_zero(self):
        code, _, err = run_cli(make_graphs.main, ["--model-dir", "/nonexistent",
                                                  "--random", "2", "--out", "/tmp/x.json"])
        self.assertEqual(code, 1)
        self.assertIn("error:", err)
        code, _, err = run_cli(make_graphs.main, ["--model-dir", self.dir, "--out", "x"])
        self.assertEqual(code, 2)
        self.assertIn("--tu and/or --random", err)
        code, _, err = run_cli(make_graphs.main, ["--model-dir", self.dir, "--random", "1",
                                                  "--tu-fold", "1", "--out", "x"])
        self.assertEqual(code, 1)
        self.assertIn("need --tu", err)

    def test_help_exits_zero(self):
        from diffpool_ref import train
        for main in (make_graphs.main, export.main, train.main):
            code, stdout, _ = run_cli(main, ["--help"])
            self.assertEqual(code, 0)
            self.assertIn("usage:", stdout)


class MutagGraphs(unittest.TestCase):
    def test_tu_fold_graphs_with_labels(self):
        path = tu_dir("MUTAG")
        if path is None:
            self.skipTest(SKIP_NO_DATA.format(name="MUTAG"))
        config = small_config(clusters=(7, 2), num_features=7, num_outputs=2, max_nodes=28)
        config["output_names"] = ["0", "2"]
        config["feature_spec"]["tag_values"] = list(range(7))
        with tempfile.TemporaryDirectory() as tmp:
            export.write_model_dir(DiffPool(config).state_dict(), config, tmp)
            out = os.path.join(tmp, "g.json")
            code, _, err = run_cli(make_graphs.main, [
                "--model-dir", tmp, "--tu", path, "--tu-fold", "1", "--tu-limit", "5",
                "--out", out])
            self.assertEqual(code, 0, err)
            graphs = read_graphs(out)
        self.assertEqual(len(graphs), 5)
        self.assertTrue(all(g["name"].startswith("MUTAG/") for g in graphs))
        self.assertTrue(all(g["label"] in (0, 1) for g in graphs))


if __name__ == "__main__":
    unittest.main()
