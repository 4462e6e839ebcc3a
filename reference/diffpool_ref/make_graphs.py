"""CLI: write a graphs.json with float64 reference outputs of a model directory.

Graphs come from a TU dataset (all of it, a fold's test split, or listed
indices) and/or from seeded random graphs (1 node, no edges, isolated nodes,
exactly max_nodes, random sizes). Outputs are computed per graph by the
float64 model loaded from config.json + model.safetensors.

    PYTHONPATH=reference /usr/bin/python3 -m diffpool_ref.make_graphs \\
        --model-dir examples/mutag --tu ../shared/data/tu/MUTAG --tu-fold 1 \\
        --random 8 --seed 1 --assignments --out /tmp/graphs.json
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence

from .config import ConfigError
from .export import load_model_dir
from .graphset import (GraphRecord, graphs_document, random_records,
                       reference_outputs, tu_records, write_graphs)
from .safetensors import SafetensorsError
from .tu import TUFormatError, load_dataset


def parse_index_list(text: str) -> List[int]:
    """'0,3,10-12' -> [0, 3, 10, 11, 12]."""
    indices = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                first, last = (int(p) for p in part.split("-", 1))
                if last < first:
                    raise ValueError
                indices.extend(range(first, last + 1))
            else:
                indices.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad index list {text!r} (expected e.g. 0,3,10-12)") from None
    return indices


def add_graph_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The options selecting graphs (shared with diffpool_ref.export)."""
    group = parser.add_argument_group("graphs")
    group.add_argument("--tu", metavar="DIR",
                       help="TU dataset folder (e.g. ../shared/data/tu/MUTAG)")
    group.add_argument("--tu-fold", type=int, metavar="K",
                       help="take the test split of 10-fold split K (1..10), in "
                            "index order (as the trainer's graphs.json)")
    group.add_argument("--tu-indices", type=parse_index_list, metavar="LIST",
                       help="take these graph indices, e.g. 0,3,10-12")
    group.add_argument("--tu-limit", type=int, metavar="N",
                       help="keep only the first N selected TU graphs")
    group.add_argument("--random", type=int, default=0, metavar="N",
                       help="add N seeded random graphs (default 0)")
    group.add_argument("--seed", type=int, default=0,
                       help="seed of the random graphs (default 0)")
    group.add_argument("--assignments", action="store_true",
                       help="also write expected_assignments (S per level)")


def collect_records(args: argparse.Namespace,
                    config: Dict[str, Any]) -> List[GraphRecord]:
    """The graphs the options of add_graph_source_arguments select."""
    if args.tu is None and (args.tu_fold is not None or args.tu_indices is not None
                            or args.tu_limit is not None):
        raise ValueError("--tu-fold, --tu-indices and --tu-limit need --tu")
    if args.tu_fold is not None and args.tu_indices is not None:
        raise ValueError("give --tu-fold or --tu-indices, not both")
    if args.random < 0 or (args.tu_limit is not None and args.tu_limit < 1):
        raise ValueError("--random must be >= 0 and --tu-limit >= 1")
    records: List[GraphRecord] = []
    if args.tu is not None:
        dataset = load_dataset(args.tu)
        if args.tu_fold is not None:
            indices = sorted(dataset.fold(args.tu_fold)[1])
        elif args.tu_indices is not None:
            indices = args.tu_indices
            bad = [i for i in indices if not 0 <= i < len(dataset)]
            if bad:
                raise ValueError(f"--tu-indices: graph {bad[0]} outside "
                                 f"0..{len(dataset) - 1}")
        else:
            indices = list(range(len(dataset)))
        if args.tu_limit is not None:
            indices = indices[:args.tu_limit]
        records += tu_records(dataset, indices, config)
    records += random_records(args.random, args.seed, config)
    return records


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.make_graphs",
        description="Write graphs.json (docs/formats.md) with float64 reference "
                    "outputs of a model directory.")
    parser.add_argument("--model-dir", required=True,
                        help="folder with config.json and model.safetensors")
    parser.add_argument("--out", required=True, help="graphs.json to write")
    add_graph_source_arguments(parser)
    args = parser.parse_args(argv)
    if args.tu is None and args.random == 0:
        parser.error("select graphs with --tu and/or --random N")
    try:
        model = load_model_dir(args.model_dir)
        records = collect_records(args, model.config)
        outputs = reference_outputs(model, records, args.assignments)
        write_graphs(graphs_document(records, model.config["num_features"], outputs),
                     args.out)
    except (ConfigError, SafetensorsError, TUFormatError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(records)} graphs to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
