"""Write and read model directories; CLI to re-export a checkpoint.

A model directory holds:
    config.json         the architecture (docs/formats.md)
    model.safetensors   every state_dict entry: floats as F32, BatchNorm's
                        num_batches_tracked as I64
    model.pt            torch.save of the same float32 state_dict
    graphs.json         optional: graphs with float64 reference outputs

Reference outputs come from a float64 model loaded back from the written
model.safetensors, i.e. from exactly the float32 weights a runtime reads, so
a float32 runtime can match them to 1e-4.

    /usr/bin/python3 -m diffpool_ref.export --checkpoint model.pt \\
        --config config.json --out DIR [graph options of make_graphs]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import torch

from . import __version__
from . import safetensors
from .config import ConfigError, load_config, save_config
from .graphset import (GraphRecord, graphs_document, reference_outputs,
                       write_graphs)
from .model import DiffPool, load_state

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_FILE = "model.pt"
GRAPHS_FILE = "graphs.json"


def export_state(state: Mapping[str, torch.Tensor]) -> Dict[str, np.ndarray]:
    """state_dict -> {name: array}: floating tensors as float32, integer ones
    (num_batches_tracked) as int64, in state_dict order."""
    out = {}
    for name, tensor in state.items():
        tensor = tensor.detach().cpu()
        out[name] = tensor.numpy().astype(
            np.float32 if tensor.is_floating_point() else np.int64)
    return out


def write_model_dir(state: Mapping[str, torch.Tensor], config: Dict[str, Any],
                    out_dir: str) -> Dict[str, np.ndarray]:
    """Writes config.json, model.safetensors and model.pt into `out_dir`
    (created if needed). Returns the exported float32/int64 arrays."""
    arrays = export_state(state)
    # Refuse a state that does not belong to the config before writing.
    load_state(DiffPool(config), arrays)
    os.makedirs(out_dir, exist_ok=True)
    save_config(config, os.path.join(out_dir, CONFIG_FILE))
    safetensors.save_file(arrays, os.path.join(out_dir, WEIGHTS_FILE), metadata={
        "format": "pt", "producer": "diffpool_ref", "producer_version": __version__,
        "variant": config["variant"]})
    torch.save({name: torch.from_numpy(a) for name, a in arrays.items()},
               os.path.join(out_dir, CHECKPOINT_FILE))
    return arrays


def load_model_dir(model_dir: str, dtype: torch.dtype = torch.float64) -> DiffPool:
    """The eval-mode model of config.json + model.safetensors in `model_dir`,
    its floating parameters and buffers cast to `dtype`."""
    config = load_config(os.path.join(model_dir, CONFIG_FILE))
    tensors, _ = safetensors.load_file(os.path.join(model_dir, WEIGHTS_FILE))
    model = DiffPool(config).to(dtype)
    try:
        load_state(model, tensors)
    except ValueError as err:
        raise ValueError(f"{model_dir}/{WEIGHTS_FILE}: {err}") from None
    return model.eval()


def write_graph_set(model_dir: str, records: Sequence[GraphRecord], path: str,
                    assignments: bool = False) -> None:
    """graphs.json for `records` with reference outputs of the float64 model
    loaded from `model_dir`."""
    model = load_model_dir(model_dir, torch.float64)
    outputs = reference_outputs(model, records, assignments)
    write_graphs(graphs_document(records, model.config["num_features"], outputs), path)


def export_model(state: Mapping[str, torch.Tensor], config: Dict[str, Any],
                 out_dir: str, records: Optional[Sequence[GraphRecord]] = None,
                 assignments: bool = False) -> None:
    """write_model_dir, then graphs.json for `records` when given."""
    write_model_dir(state, config, out_dir)
    if records:
        write_graph_set(out_dir, records, os.path.join(out_dir, GRAPHS_FILE),
                        assignments)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from .make_graphs import add_graph_source_arguments, collect_records

    parser = argparse.ArgumentParser(
        prog="python3 -m diffpool_ref.export",
        description="Write a model directory (config.json, model.safetensors, "
                    "model.pt, optional graphs.json) from a state_dict checkpoint.")
    parser.add_argument("--checkpoint", required=True,
                        help="torch.save'd state_dict (e.g. a trainer's model.pt)")
    parser.add_argument("--config", required=True, help="its config.json")
    parser.add_argument("--out", required=True, help="output directory")
    add_graph_source_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise ValueError(f"{args.checkpoint}: not a state_dict")
        write_model_dir(state, config, args.out)
        records = collect_records(args, config)
        if records:
            write_graph_set(args.out, records, os.path.join(args.out, GRAPHS_FILE),
                            args.assignments)
    except (ConfigError, ValueError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/{{{CONFIG_FILE}, {WEIGHTS_FILE}, {CHECKPOINT_FILE}"
          + (f", {GRAPHS_FILE}" if records else "") + "}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
