"""diffpool_ref.tu: the TU text format, on a hand-made file and on MUTAG."""

import os
import tempfile
import unittest

import numpy as np

from diffpool_ref.tu import TUFormatError, load_tu, one_hot_tags

from .support import SKIP_NO_DATA, tu_dir

TOY = """3
3 5
7 1 1
2 2 0 2
7 1 1

1 9
4 0
2 -1
4 1 1
4 1 0
"""


def write_dataset(root, name, text, folds=None):
    folder = os.path.join(root, name)
    os.makedirs(os.path.join(folder, "10fold_idx"))
    with open(os.path.join(folder, f"{name}.txt"), "w") as f:
        f.write(text)
    for k, (train, test) in (folds or {}).items():
        for split, indices in (("train", train), ("test", test)):
            with open(os.path.join(folder, "10fold_idx", f"{split}_idx-{k}.txt"), "w") as f:
                f.write("".join(f"{i}\n" for i in indices))
    return folder


class ToyDataset(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_parses_graphs_tags_labels_and_edges(self):
        ds = load_tu(write_dataset(self.tmp.name, "TOY", TOY, {1: ([0, 2], [1])}))
        self.assertEqual((ds.name, len(ds), ds.max_nodes), ("TOY", 3, 3))
        self.assertEqual(ds.tag_values, [2, 4, 7])
        self.assertEqual(ds.label_values, [-1, 5, 9])
        self.assertEqual([ds.label_index(i) for i in range(3)], [1, 2, 0])
        # node 1 lists neighbours 0 and 2: edges (src=0, dst=1), (src=2, dst=1)
        np.testing.assert_array_equal(ds.graphs[0].edge_index,
                                      [[1, 0, 2, 1], [0, 1, 1, 2]])
        np.testing.assert_array_equal(ds.features(0), [[0, 0, 1], [1, 0, 0], [0, 0, 1]])
        self.assertEqual(ds.graphs[1].edge_index.shape, (2, 0))
        self.assertEqual(ds.fold(1), ([0, 2], [1]))

    def test_errors_name_file_and_line(self):
        bad = TOY.replace("2 2 0 2", "2 2 0 3")
        ds_dir = write_dataset(self.tmp.name, "BAD", bad)
        with self.assertRaisesRegex(TUFormatError, r"BAD\.txt:4: neighbour 3 outside 0\.\.2"):
            load_tu(ds_dir)
        with self.assertRaisesRegex(TUFormatError, "unexpected end of file"):
            load_tu(write_dataset(self.tmp.name, "SHORT", TOY[:-6]))
        with self.assertRaisesRegex(TUFormatError, "No such file"):
            load_tu(os.path.join(self.tmp.name, "MISSING"))

    def test_fold_checks(self):
        ds = load_tu(write_dataset(self.tmp.name, "F", TOY,
                                   {1: ([0, 1], [1]), 2: ([0, 5], [1])}))
        with self.assertRaisesRegex(TUFormatError, "in both train and test"):
            ds.fold(1)
        with self.assertRaisesRegex(TUFormatError, "graph index 5 outside"):
            ds.fold(2)
        with self.assertRaisesRegex(TUFormatError, "fold must be 1..10"):
            ds.fold(11)

    def test_one_hot_rejects_unknown_tags(self):
        with self.assertRaisesRegex(ValueError, "node 1: tag 3"):
            one_hot_tags([0, 3], [0, 1])


class Mutag(unittest.TestCase):
    def setUp(self):
        path = tu_dir("MUTAG")
        if path is None:
            self.skipTest(SKIP_NO_DATA.format(name="MUTAG"))
        self.ds = load_tu(path)

    def test_counts(self):
        ds = self.ds
        self.assertEqual(len(ds), 188)
        self.assertEqual(ds.num_features, 7)
        self.assertEqual(ds.num_classes, 2)
        self.assertEqual(ds.label_values, [0, 2])
        self.assertEqual(ds.max_nodes, 28)
        self.assertEqual(min(g.num_nodes for g in ds.graphs), 10)
        for g in ds.graphs:  # undirected, listed from both ends, no self-loops
            edges = set(zip(g.src, g.dst))
            self.assertEqual(edges, {(d, s) for s, d in edges})
            self.assertFalse(any(s == d for s, d in edges))

    def test_ten_folds(self):
        seen = []
        for k in range(1, 11):
            train, test = self.ds.fold(k)
            self.assertEqual((len(train), len(test)), (170, 18))
            self.assertEqual(sorted(train + test), list(range(188)))
            seen += test
        # The published splits test 10 x 18 = 180 distinct graphs: graphs
        # 0, 13, 37, 114, 161, 163, 169 and 187 are never in a test fold.
        self.assertEqual(len(set(seen)), 180)
        self.assertEqual(sorted(set(range(188)) - set(seen)),
                         [0, 13, 37, 114, 161, 163, 169, 187])


if __name__ == "__main__":
    unittest.main()
