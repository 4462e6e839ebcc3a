"""SMILES -> (x, edge_index) with RDKit: the reference of the runtime's
featurizer (runtime/include/diffpool/smiles.h, docs/smiles.md).

    x, edge_index = featurize("c1ccccc1O", DEFAULT_SPEC)

A spec is the JSON-able form of the model file's FeatureSpec.molecule:

    {"atom_features": [{"kind": "element", "values": ["C", "N", ...], "other": true},
                       {"kind": "degree", "values": [0, 1, 2, 3, 4, 5], "other": true},
                       ...],
     "edges": "bonds_both_directions"}

Kinds: element (symbols), degree, formal_charge, total_hydrogens, aromatic
and in_ring (values among 0, 1). Each block is one-hot: a column per value in
order, then an "other" column if "other" is true; an atom whose value is not
listed sets "other" (or nothing). Atoms are RDKit's MolFromSmiles atoms (in
SMILES order, [H] atoms folded away); every bond gives two edges, u->v and
v->u, sorted by (src, dst).

CLI (used by the parity test, tests/integration/smiles_parity_test.cc):

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.featurize \\
        --csv ../shared/data/moleculenet/BBBP.csv --out bbbp.ref
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import sys
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

KINDS = ("element", "degree", "formal_charge", "total_hydrogens", "aromatic", "in_ring")
EDGES = ("bonds_both_directions",)

DEFAULT_SPEC: Dict[str, Any] = {
    "atom_features": [
        {"kind": "element",
         "values": ["H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Se", "Br", "I"],
         "other": True},
        {"kind": "degree", "values": [0, 1, 2, 3, 4, 5], "other": True},
        {"kind": "formal_charge", "values": [-2, -1, 0, 1, 2], "other": True},
        {"kind": "total_hydrogens", "values": [0, 1, 2, 3, 4], "other": True},
        {"kind": "aromatic", "values": [0, 1], "other": False},
        {"kind": "in_ring", "values": [0, 1], "other": False},
    ],
    "edges": "bonds_both_directions",
}


class SpecError(ValueError):
    """A featurizer spec does not follow the format above."""


class SmilesError(ValueError):
    """RDKit does not accept the SMILES."""


def _chem():
    from rdkit import Chem, RDLogger  # imported lazily: only this module needs RDKit
    RDLogger.DisableLog("rdApp.*")
    return Chem


def validate_spec(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Checks a spec (the runtime's rules) and returns it with element symbols
    resolved to atomic numbers under "atomic_numbers"."""
    chem = _chem()
    blocks = spec.get("atom_features")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 16:
        raise SpecError("atom_features must list 1..16 blocks")
    if spec.get("edges", EDGES[0]) not in EDGES:
        raise SpecError(f"edges must be one of {EDGES}")
    resolved = copy.deepcopy(spec)
    table = chem.GetPeriodicTable()
    for i, block in enumerate(resolved["atom_features"]):
        kind = block.get("kind")
        values = block.get("values")
        if kind not in KINDS:
            raise SpecError(f"block {i}: kind {kind!r} not in {KINDS}")
        if not isinstance(values, list) or not 1 <= len(values) <= 256:
            raise SpecError(f"block {i}: need 1..256 values")
        if kind == "element":
            numbers = []
            for symbol in values:
                try:
                    z = table.GetAtomicNumber(symbol)
                except RuntimeError:
                    z = 0
                if not isinstance(symbol, str) or not 1 <= z <= 118 or \
                        table.GetElementSymbol(z) != symbol:
                    raise SpecError(f"block {i}: {symbol!r} is not an element symbol")
                numbers.append(z)
            block["atomic_numbers"] = numbers
        else:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise SpecError(f"block {i}: values must be integers")
            if kind in ("aromatic", "in_ring") and not set(values) <= {0, 1}:
                raise SpecError(f"block {i}: {kind} values are 0 and 1")
            if kind == "formal_charge" and not all(-128 <= v <= 127 for v in values):
                raise SpecError(f"block {i}: formal charges must lie in [-128, 127]")
            if kind in ("degree", "total_hydrogens") and not all(0 <= v <= 255 for v in values):
                raise SpecError(f"block {i}: {kind} values must lie in [0, 255]")
        if len(set(values)) != len(values):
            raise SpecError(f"block {i}: values repeat")
        block["other"] = bool(block.get("other", False))
    return resolved


def num_features(spec: Dict[str, Any]) -> int:
    """Width of the feature row."""
    return sum(len(b["values"]) + (1 if b.get("other", False) else 0)
               for b in spec["atom_features"])


def feature_names(spec: Dict[str, Any]) -> List[str]:
    """One name per column, e.g. "element=C", "degree=other"."""
    names = []
    for block in spec["atom_features"]:
        names += [f"{block['kind']}={v}" for v in block["values"]]
        if block.get("other", False):
            names.append(f"{block['kind']}=other")
    return names


def atom_values(atom) -> Dict[str, int]:
    """The raw value of every kind for one RDKit atom."""
    return {"element": atom.GetAtomicNum(), "degree": atom.GetDegree(),
            "formal_charge": atom.GetFormalCharge(), "total_hydrogens": atom.GetTotalNumHs(),
            "aromatic": int(atom.GetIsAromatic()), "in_ring": int(atom.IsInRing())}


def _hot_columns(values: Dict[str, int], spec: Dict[str, Any]) -> List[int]:
    columns, offset = [], 0
    for block in spec["atom_features"]:
        vocabulary = block["atomic_numbers"] if block["kind"] == "element" else block["values"]
        value = values[block["kind"]]
        if value in vocabulary:
            columns.append(offset + vocabulary.index(value))
        elif block["other"]:
            columns.append(offset + len(vocabulary))
        offset += len(vocabulary) + (1 if block["other"] else 0)
    return columns


def mol_from_smiles(smiles: str):
    """RDKit's molecule for `smiles`; SmilesError if RDKit refuses it."""
    mol = _chem().MolFromSmiles(smiles)
    if mol is None:
        raise SmilesError(f"RDKit cannot parse {smiles!r}")
    return mol


def edge_list(mol) -> List[Tuple[int, int]]:
    """Both directions of every bond, sorted by (src, dst)."""
    edges = []
    for bond in mol.GetBonds():
        u, v = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        edges += [(u, v), (v, u)]
    return sorted(edges)


def featurize(smiles: str, spec: Dict[str, Any] = DEFAULT_SPEC) -> Tuple[np.ndarray, np.ndarray]:
    """x: float32 [num_atoms, num_features(spec)]; edge_index: int64 [2, E]
    (sources, destinations). Raises SmilesError or SpecError."""
    resolved = validate_spec(spec)
    mol = mol_from_smiles(smiles)
    x = np.zeros((mol.GetNumAtoms(), num_features(spec)), dtype=np.float32)
    for atom in mol.GetAtoms():
        x[atom.GetIdx(), _hot_columns(atom_values(atom), resolved)] = 1.0
    edges = edge_list(mol)
    edge_index = np.array(edges, dtype=np.int64).T.reshape(2, len(edges))
    return x, edge_index


def read_smiles_column(path: str, column: str = "smiles") -> List[str]:
    with open(path, newline="") as f:
        return [row[column] for row in csv.DictReader(f)]


def write_reference(smiles_list: Sequence[str], spec: Dict[str, Any], out) -> Dict[str, int]:
    """The parity test's reference file: a JSON header line with the spec,
    then per molecule "smiles<TAB>atoms<TAB>hot columns<TAB>edges", where hot
    columns are comma lists joined by ';' per atom, edges "u-v" comma-joined,
    and atoms is -1 when RDKit refuses the SMILES."""
    resolved = validate_spec(spec)
    out.write(json.dumps({"format": "diffpool-smiles-reference", "version": 1,
                          "rdkit": __import__("rdkit").__version__, "spec": spec}) + "\n")
    counts = {"molecules": 0, "rdkit_parsed": 0}
    for smiles in smiles_list:
        if "\t" in smiles or "\n" in smiles:
            raise ValueError(f"SMILES with a tab or newline: {smiles!r}")
        counts["molecules"] += 1
        mol = _chem().MolFromSmiles(smiles)
        if mol is None:
            out.write(f"{smiles}\t-1\t\t\n")
            continue
        counts["rdkit_parsed"] += 1
        hot = ";".join(",".join(str(c) for c in _hot_columns(atom_values(a), resolved))
                       for a in mol.GetAtoms())
        edges = ",".join(f"{u}-{v}" for u, v in edge_list(mol))
        out.write(f"{smiles}\t{mol.GetNumAtoms()}\t{hot}\t{edges}\n")
    return counts


FORMS = ("original", "canonical", "kekule", "random", "explicit_h")


def rewrite(smiles_list: Sequence[str], forms: Sequence[str], seed: int = 0) -> List[str]:
    """The SMILES as written ("original") and/or rewritten by RDKit: canonical,
    Kekulé, random atom order, hydrogens as [H] atoms. Rewrites skip SMILES
    RDKit refuses. Used to exercise the runtime's parser beyond one writing."""
    chem = _chem()
    out = []
    for i, smiles in enumerate(smiles_list):
        mol = chem.MolFromSmiles(smiles) if set(forms) - {"original"} else None
        for form in forms:
            if form == "original":
                out.append(smiles)
            elif mol is None:
                continue
            elif form == "canonical":
                out.append(chem.MolToSmiles(mol))
            elif form == "kekule":
                kekule = chem.Mol(mol)
                chem.Kekulize(kekule, clearAromaticFlags=True)
                out.append(chem.MolToSmiles(kekule, kekuleSmiles=True))
            elif form == "random":
                random_mol = chem.Mol(mol)
                out.append(chem.MolToRandomSmilesVect(random_mol, 1, randomSeed=seed + i)[0])
            elif form == "explicit_h":
                out.append(chem.MolToSmiles(chem.AddHs(mol)))
            else:
                raise ValueError(f"form {form!r} not in {FORMS}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", required=True, help="CSV file with a SMILES column")
    parser.add_argument("--column", default="smiles")
    parser.add_argument("--spec", help="spec JSON file (default: DEFAULT_SPEC)")
    parser.add_argument("--out", required=True, help="reference file to write")
    parser.add_argument("--forms", default="original",
                        help="comma list of " + ", ".join(FORMS) + " (default original)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="exit 77 with a message when the CSV is absent")
    args = parser.parse_args(argv)
    if not os.path.exists(args.csv):
        if args.skip_missing:
            print(f"SKIP: {args.csv} absent (../shared/data is not here)")
            return 77
        parser.error(f"{args.csv} does not exist")
    spec = DEFAULT_SPEC
    if args.spec:
        with open(args.spec) as f:
            spec = json.load(f)
    with open(args.out, "w") as out:
        smiles = rewrite(read_smiles_column(args.csv, args.column), args.forms.split(","))
        counts = write_reference(smiles, spec, out)
    print(f"{args.csv}: {counts['molecules']} molecules, RDKit parsed {counts['rdkit_parsed']}"
          f" -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
