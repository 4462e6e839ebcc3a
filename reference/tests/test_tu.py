"""diffpool_ref.tu: the TU text format, on a hand-made file and on MUTAG."""

import os
import tempfile
import unittest

import numpy as np

from diffpool_ref.graphset import encode_features
from diffpool_ref.tu import (TUFormatError, in_degrees, load_dataset, load_tu, load_tu_raw,
                             one_hot_degrees, one_hot_tags, stratified_folds)

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

    def test_degree_features_follow_the_tags_and_are_off_by_default(self):
        ds = load_tu(write_dataset(self.tmp.name, "DEG", TOY))
        plain = [ds.features(i) for i in range(len(ds))]
        self.assertEqual((ds.num_features, ds.feature_spec()),
                         (3, {"encoding": "one_hot_tag", "tag_values": [2, 4, 7]}))
        ds.use_degree_features(1)   # columns degree=0, degree>=1
        self.assertEqual(ds.num_features, 5)
        self.assertEqual(ds.feature_names,
                         ["tag=2", "tag=4", "tag=7", "degree=0", "degree>=1"])
        self.assertEqual(ds.feature_spec(), {
            "encoding": "one_hot_tag_degree", "tag_values": [2, 4, 7], "max_degree": 1,
            "names": ds.feature_names})
        # graph 0: path 0-1-2, in-degrees 1, 2, 1 (2 is clipped into ">= 1")
        np.testing.assert_array_equal(ds.features(0), [[0, 0, 1, 0, 1], [1, 0, 0, 0, 1],
                                                       [0, 0, 1, 0, 1]])
        np.testing.assert_array_equal(ds.features(1), [[0, 1, 0, 1, 0]])  # 1 node, no edge
        ds.use_degree_features(2)
        np.testing.assert_array_equal(ds.features(0)[:, 3:], [[0, 1, 0], [0, 0, 1], [0, 1, 0]])
        for i in range(len(ds)):   # the spec's encoding gives the same rows
            np.testing.assert_array_equal(
                encode_features(ds.graphs[i], ds.feature_spec()), ds.features(i))
        ds.use_degree_features(None)
        for i in range(len(ds)):
            np.testing.assert_array_equal(ds.features(i), plain[i])
        for bad in (-1, 1025, 2.0, True):
            with self.assertRaisesRegex(ValueError, "max degree"):
                ds.use_degree_features(bad)

    def test_in_degree_counts_every_listed_edge(self):
        # duplicates and self-loops count as listed; sources do not count
        np.testing.assert_array_equal(in_degrees(4, [1, 1, 2, 0]), [1, 2, 1, 0])
        np.testing.assert_array_equal(in_degrees(3, []), [0, 0, 0])
        np.testing.assert_array_equal(one_hot_degrees(3, [1, 1, 1, 2], 2),
                                      [[1, 0, 0], [0, 0, 1], [0, 1, 0]])


def write_raw(root, name, files):
    """Writes DS/DS_<part>.txt for each part -> list of lines."""
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    for part, lines in files.items():
        with open(os.path.join(folder, f"{name}_{part}.txt"), "w") as f:
            f.write("".join(f"{line}\n" for line in lines))
    return folder


# Three graphs: a triangle (nodes 1-3), a single node (4), a path 5-6 with an
# isolated node 7. Edges are listed from both ends, as TU files do.
RAW = {
    "A": ["1, 2", "2, 1", "2, 3", "3, 2", "1, 3", "3, 1", "5, 6", "6, 5"],
    "graph_indicator": ["1", "1", "1", "2", "3", "3", "3"],
    "graph_labels": ["1", "-1", "1"],
    "node_labels": ["0", "2", "2", "5", "0", "0", "2"],
}
ATTRIBUTES = ["0.5, -1.0", "1.5, 2.0", "0.0, 0.25", "3.0, 3.0",
              "-2.0, 1.0", "0.125, 0.0", "7.0, -7.0"]

# The same three graphs in the text format.
RAW_AS_TEXT = """3
3 1
0 2 1 2
2 2 0 2
2 2 1 0
1 -1
5 0
3 1
0 1 1
0 1 0
2 0
"""


class RawFormat(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_parses_graphs_tags_labels_and_edges(self):
        ds = load_tu_raw(write_raw(self.tmp.name, "RAW", RAW))
        self.assertEqual((ds.name, len(ds), ds.format), ("RAW", 3, "raw"))
        self.assertEqual([g.num_nodes for g in ds.graphs], [3, 1, 3])
        self.assertEqual(ds.tag_values, [0, 2, 5])
        self.assertEqual(ds.label_values, [-1, 1])
        self.assertEqual(ds.labels().tolist(), [1, 0, 1])
        self.assertEqual((ds.num_attributes, ds.num_features, ds.max_nodes), (0, 3, 3))
        # "row, col" is the edge row -> col, 1-based and global: local 0-based here.
        np.testing.assert_array_equal(ds.graphs[2].edge_index, [[0, 1], [1, 0]])
        np.testing.assert_array_equal(ds.graphs[0].edge_index,
                                      [[0, 1, 1, 2, 0, 2], [1, 0, 2, 1, 2, 0]])
        self.assertEqual(ds.graphs[1].edge_index.shape, (2, 0))
        np.testing.assert_array_equal(ds.features(2), [[1, 0, 0], [1, 0, 0], [0, 1, 0]])
        self.assertEqual(ds.feature_spec(), {"encoding": "one_hot_tag",
                                             "tag_values": [0, 2, 5]})

    def test_matches_the_text_format(self):
        raw = load_tu_raw(write_raw(self.tmp.name, "SAME", RAW))
        text = load_tu(write_dataset(os.path.join(self.tmp.name, "t"), "SAME", RAW_AS_TEXT))
        self.assertEqual((raw.tag_values, raw.label_values), (text.tag_values, text.label_values))
        for i in range(3):
            a, b = raw.graphs[i], text.graphs[i]
            self.assertEqual((a.num_nodes, a.label, a.tags), (b.num_nodes, b.label, b.tags))
            self.assertEqual(sorted(zip(a.src, a.dst)), sorted(zip(b.src, b.dst)))
            np.testing.assert_array_equal(raw.features(i), text.features(i))

    def test_attributes_are_appended_after_the_one_hot_tags(self):
        ds = load_tu_raw(write_raw(self.tmp.name, "ATTR",
                                   dict(RAW, node_attributes=ATTRIBUTES)))
        self.assertEqual((ds.num_attributes, ds.num_features), (2, 5))
        np.testing.assert_array_equal(ds.features(0), [[1, 0, 0, 0.5, -1.0],
                                                       [0, 1, 0, 1.5, 2.0],
                                                       [0, 1, 0, 0.0, 0.25]])
        np.testing.assert_array_equal(ds.features(1), [[0, 0, 1, 3.0, 3.0]])
        spec = ds.feature_spec()
        self.assertEqual(spec["encoding"], "one_hot_tag_attributes")
        self.assertEqual((spec["tag_columns"], spec["num_attributes"]), ([0, 2, 5], 2))
        self.assertEqual(spec["names"], ["tag=0", "tag=2", "tag=5", "attr0", "attr1"])
        np.testing.assert_array_equal(encode_features(ds.graphs[2], spec), ds.features(2))

    def test_degree_features_refuse_attributes(self):
        ds = load_tu_raw(write_raw(self.tmp.name, "DEGATTR",
                                   dict(RAW, node_attributes=ATTRIBUTES)))
        with self.assertRaisesRegex(ValueError, "without continuous node attributes"):
            ds.use_degree_features(3)

    def test_attributes_without_node_labels(self):
        files = {k: v for k, v in RAW.items() if k != "node_labels"}
        ds = load_tu_raw(write_raw(self.tmp.name, "NOLAB",
                                   dict(files, node_attributes=ATTRIBUTES)))
        self.assertEqual((ds.tag_values, ds.num_features), ([], 2))
        np.testing.assert_array_equal(ds.features(1), [[3.0, 3.0]])

    def test_raw_subfolder_and_format_detection(self):
        folder = os.path.join(self.tmp.name, "SUB")
        write_raw(folder, "raw", {})   # creates SUB/raw
        for part, lines in RAW.items():
            with open(os.path.join(folder, "raw", f"SUB_{part}.txt"), "w") as f:
                f.write("\n".join(lines) + "\n")
        self.assertEqual(load_dataset(folder).format, "raw")
        text = write_dataset(self.tmp.name, "TXT", RAW_AS_TEXT)
        self.assertEqual(load_dataset(text).format, "text")
        with self.assertRaisesRegex(TUFormatError, "neither NONE.txt"):
            load_dataset(os.path.join(self.tmp.name, "NONE"))

    def test_errors_name_file_and_line(self):
        cases = [
            (dict(A=RAW["A"] + ["3, 5"]), r"RAW\d_A\.txt:9: edge 3, 5 joins graphs 1 and 3"),
            (dict(A=RAW["A"] + ["8, 1"]), r"_A\.txt:9: node 8 outside 1\.\.7"),
            (dict(A=["1 2 3"]), r"_A\.txt:1: expected 2 value"),
            (dict(graph_indicator=["1", "1", "1", "3", "2", "2", "2"]),
             r"graph_indicator\.txt:4: graph id 3 after 1"),
            (dict(graph_labels=["1", "1"]), r"indicator\.txt:5: graph id 3, but .* has 2 labels"),
            (dict(graph_labels=["1", "1", "1", "1"]), r"nodes of 3 graphs, .* has 4 labels"),
            (dict(graph_indicator=["2"] * 7), r"indicator\.txt:1: graph id 2 after 0"),
            (dict(node_labels=["0", "1"]), r"node_labels\.txt: 2 lines for 7 nodes"),
            (dict(node_labels=["x"] * 7), r"node_labels\.txt:1: expected integers"),
            (dict(node_attributes=["1.0"] * 6 + ["1.0, 2.0"]), "disagree on the number"),
        ]
        for i, (override, message) in enumerate(cases):
            with self.subTest(message=message):
                folder = write_raw(self.tmp.name, f"RAW{i}", dict(RAW, **override))
                with self.assertRaisesRegex(TUFormatError, message):
                    load_tu_raw(folder)
        missing = write_raw(self.tmp.name, "MISS", {k: v for k, v in RAW.items() if k != "A"})
        with self.assertRaisesRegex(TUFormatError, "MISS_A.txt: No such file"):
            load_tu_raw(missing)
        bare = write_raw(self.tmp.name, "BARE", {k: v for k, v in RAW.items()
                                                 if k != "node_labels"})
        with self.assertRaisesRegex(TUFormatError, "no node features"):
            load_tu_raw(bare)

    def test_generated_folds_when_none_ship(self):
        labels = [0] * 23 + [1] * 14 + [2] * 3
        folds = stratified_folds(labels, 10, seed=0)
        self.assertEqual(sorted(i for f in folds for i in f), list(range(40)))
        self.assertEqual({len(f) for f in folds}, {4})
        for f in folds:  # each class spread as evenly as possible
            counts = np.bincount(np.asarray(labels)[f], minlength=3)
            self.assertTrue(2 <= counts[0] <= 3 and 1 <= counts[1] <= 2, counts)
        self.assertEqual(folds, stratified_folds(labels, 10, seed=0))
        self.assertNotEqual(folds, stratified_folds(labels, 10, seed=1))
        ds = load_tu_raw(write_raw(self.tmp.name, "FOLDS", RAW))
        self.assertIn("generated", ds.fold_source)
        train, test = ds.fold(1)
        self.assertEqual(sorted(train + test), [0, 1, 2])
        self.assertEqual(test, stratified_folds(ds.labels(), 10, 0)[0])


class TextFormatAttributes(unittest.TestCase):
    def test_attributes_after_the_neighbours_are_appended(self):
        text = "2\n2 0\n1 1 1 0.5 2\n3 1 0 -1 4\n1 1\n1 0 9 9\n"
        with tempfile.TemporaryDirectory() as tmp:
            ds = load_tu(write_dataset(tmp, "TA", text))
        self.assertEqual((ds.num_attributes, ds.tag_values), (2, [1, 3]))
        np.testing.assert_array_equal(ds.features(0), [[1, 0, 0.5, 2], [0, 1, -1, 4]])
        np.testing.assert_array_equal(ds.features(1), [[1, 0, 9, 9]])


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
