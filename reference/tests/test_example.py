"""examples/mutag is self-consistent: its graphs.json outputs are what the
float64 reference computes from its model.safetensors, and model.pt holds
the same weights."""

import os
import unittest

import numpy as np
import torch

from diffpool_ref import safetensors
from diffpool_ref.export import load_model_dir
from diffpool_ref.graphset import read_graphs

from .support import REPO_ROOT

EXAMPLE = os.path.join(REPO_ROOT, "examples", "mutag")


@unittest.skipUnless(os.path.isfile(os.path.join(EXAMPLE, "model.safetensors")),
                     "examples/mutag/model.safetensors not present")
class MutagExample(unittest.TestCase):
    def test_graphs_json_matches_the_weights(self):
        model = load_model_dir(EXAMPLE)
        self.assertEqual(model.config["clusters"], [7, 2])
        graphs = read_graphs(os.path.join(EXAMPLE, "graphs.json"))
        self.assertGreaterEqual(len(graphs), 10)
        with torch.no_grad():
            for graph in graphs:
                out = model.forward_graph(graph["x"], graph["edge_index"])
                np.testing.assert_allclose(out.out[0].numpy(), graph["expected"],
                                           rtol=0, atol=1e-12, err_msg=graph["name"])
                for got, want in zip(out.assignments, graph.get("expected_assignments", [])):
                    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=1e-12)

    def test_checkpoint_and_safetensors_agree(self):
        tensors, _ = safetensors.load_file(os.path.join(EXAMPLE, "model.safetensors"))
        state = torch.load(os.path.join(EXAMPLE, "model.pt"), weights_only=True)
        self.assertEqual(list(state), list(tensors))
        for name, value in state.items():
            np.testing.assert_array_equal(value.numpy(), tensors[name], err_msg=name)


if __name__ == "__main__":
    unittest.main()
