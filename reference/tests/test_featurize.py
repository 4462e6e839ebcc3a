"""diffpool_ref.featurize: RDKit featurization with the model file's spec."""

import io
import unittest

import numpy as np

try:
    import rdkit  # noqa: F401
    HAVE_RDKIT = True
except ImportError:
    HAVE_RDKIT = False


@unittest.skipUnless(HAVE_RDKIT, "python3-rdkit is not installed (scripts/bootstrap.sh)")
class FeaturizeTest(unittest.TestCase):
    def setUp(self):
        from diffpool_ref import featurize
        self.f = featurize

    def hot(self, x, row):
        return list(np.nonzero(x[row])[0])

    def test_phenol_default_spec(self):
        x, edge_index = self.f.featurize("c1ccccc1O")
        self.assertEqual(x.shape, (7, 37))
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(self.f.num_features(self.f.DEFAULT_SPEC), 37)
        # Columns: element 0..13, degree 14..20, charge 21..26, H 27..32,
        # aromatic 33..34, in_ring 35..36 (the runtime's smiles_test agrees).
        self.assertEqual(self.hot(x, 0), [2, 16, 23, 28, 34, 36])
        self.assertEqual(self.hot(x, 5), [2, 17, 23, 27, 34, 36])
        self.assertEqual(self.hot(x, 6), [4, 15, 23, 28, 33, 35])
        self.assertTrue(np.all(x.sum(axis=1) == 6))
        pairs = list(zip(edge_index[0].tolist(), edge_index[1].tolist()))
        self.assertEqual(pairs, [(0, 1), (0, 5), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2), (3, 4),
                                 (4, 3), (4, 5), (5, 0), (5, 4), (5, 6), (6, 5)])
        self.assertEqual(edge_index.dtype, np.int64)

    def test_other_columns_and_single_atoms(self):
        x, edge_index = self.f.featurize("[Sn+4]")
        self.assertEqual(self.hot(x, 0), [13, 14, 26, 27, 33, 35])
        self.assertEqual(edge_index.shape, (2, 0))
        spec = {"atom_features": [{"kind": "element", "values": ["C"], "other": False}]}
        x, _ = self.f.featurize("CO", spec)
        self.assertEqual(x.tolist(), [[1.0], [0.0]])

    def test_rdkit_perception_is_the_reference(self):
        # Kekulé input is re-perceived as aromatic; [H] atoms fold away.
        spec = {"atom_features": [{"kind": "aromatic", "values": [1]},
                                  {"kind": "total_hydrogens", "values": [0, 1]}]}
        x, _ = self.f.featurize("[H]N1C=CC=C1", spec)
        self.assertEqual(x.shape, (5, 3))
        self.assertEqual(x[0].tolist(), [1.0, 0.0, 1.0])  # pyrrole N: aromatic, one H

    def test_errors(self):
        with self.assertRaises(self.f.SmilesError):
            self.f.featurize("C1CC")
        bad_specs = [
            {"atom_features": []},
            {"atom_features": [{"kind": "colour", "values": [1]}]},
            {"atom_features": [{"kind": "element", "values": ["Xx"]}]},
            {"atom_features": [{"kind": "element", "values": ["c"]}]},
            {"atom_features": [{"kind": "degree", "values": [1, 1]}]},
            {"atom_features": [{"kind": "aromatic", "values": [2]}]},
            {"atom_features": [{"kind": "degree", "values": [True]}]},
            {"atom_features": [{"kind": "degree", "values": [1]}], "edges": "none"},
        ]
        for spec in bad_specs:
            with self.subTest(spec=spec), self.assertRaises(self.f.SpecError):
                self.f.featurize("C", spec)

    def test_names_and_reference_file(self):
        names = self.f.feature_names(self.f.DEFAULT_SPEC)
        self.assertEqual(len(names), 37)
        self.assertEqual(names[2], "element=C")
        self.assertEqual(names[13], "element=other")
        out = io.StringIO()
        counts = self.f.write_reference(["CO", "C1CC", "O"], self.f.DEFAULT_SPEC, out)
        self.assertEqual(counts, {"molecules": 3, "rdkit_parsed": 2})
        lines = out.getvalue().splitlines()
        self.assertIn('"format": "diffpool-smiles-reference"', lines[0])
        self.assertEqual(lines[1], "CO\t2\t2,15,23,30,33,35;4,15,23,28,33,35\t0-1,1-0")
        self.assertEqual(lines[2], "C1CC\t-1\t\t")
        self.assertEqual(lines[3], "O\t1\t4,14,23,29,33,35\t")


if __name__ == "__main__":
    unittest.main()
