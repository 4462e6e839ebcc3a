"""Checkpoints written by this machine's torch.save, for diffpool-convert's
.pt reader test (tests/integration/torch_files_test.cc).

python -m diffpool_ref.torch_files --out DIR writes DIR/<case>.pt, for the
readable ones DIR/<case>.expected.safetensors (every tensor contiguous, as
float64 or int64, exactly the .pt's values), and DIR/manifest.json:

  [{"file": "views.pt", "expect": "views.expected.safetensors",
    "dtypes": {"t": "F32", ...}, "notes": ["..."]},
   {"file": "module.pt", "error": "refuses global"}, ...]

The cases: a module's state_dict; non-contiguous views sharing a storage
(transpose, row, column, strided, stride 0, offset slice); every storage
dtype; nn.Parameters; a training checkpoint dict; a DataParallel prefix;
pickle protocol 4; 0-dim and empty tensors. Refused: a pickled module, the
legacy format, TorchScript, a DEFLATE re-zip, a truncated file, a dict
holding a string.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import zipfile
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .safetensors import save_file

DTYPE_NAMES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
               torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
               torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def _expected(state: Dict[str, torch.Tensor]) -> Dict[str, np.ndarray]:
    """The values as the reader widens them: floats to float64, integers to int64."""
    result = {}
    for name, t in state.items():
        t = t.detach()
        if t.is_floating_point():
            result[name] = t.to(torch.float64).contiguous().numpy()
        else:
            result[name] = t.to(torch.int64).contiguous().numpy()
    return result


def _small_module() -> nn.Module:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    m[1].running_mean.uniform_(-1, 1)
    m[1].running_var.uniform_(0.5, 2)
    m[1].num_batches_tracked.fill_(17)
    return m


def readable_cases() -> Dict[str, Dict[str, Any]]:
    """name -> {"state": what is saved, "tensors": the expected state_dict,
    "notes": substrings of the reader's notes, "protocol": pickle protocol}."""
    torch.manual_seed(1)
    module = _small_module()
    state = module.state_dict()
    m = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
    v = torch.tensor([0.5, -1.25, 3.0, 4.5])
    views = {"t": m.t(), "row": m[1], "col": m[:, 2], "strided": m[::2, 1::2],
             "expand": v[1:2].expand(3, 4), "slice": m.view(-1)[3:9], "whole": m}
    values = [0.5, -1.25, 3.0, 0.0078125]
    dtypes = {f"{DTYPE_NAMES[d].lower()}": torch.tensor(values, dtype=d)
              for d in (torch.float64, torch.float16, torch.bfloat16)}
    dtypes.update({"i64": torch.tensor([-2 ** 40, 7]), "i32": torch.tensor([-7, 70000], dtype=torch.int32),
                   "i16": torch.tensor([-300, 5], dtype=torch.int16),
                   "i8": torch.tensor([-100, 5], dtype=torch.int8),
                   "u8": torch.tensor([200, 5], dtype=torch.uint8),
                   "flags": torch.tensor([True, False, True])})
    params = {k: nn.Parameter(t.clone()) for k, t in state.items() if t.is_floating_point()}
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    module(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    state_after = module.state_dict()
    cases = {
        "module_state_dict": {"state": state, "tensors": state},
        "views": {"state": views, "tensors": views},
        "dtypes": {"state": dtypes, "tensors": dtypes},
        "parameters": {"state": params, "tensors": params},
        "training_checkpoint": {
            "state": {"epoch": 3, "model_state_dict": state_after,
                      "optimizer_state_dict": optimizer.state_dict(), "loss": 0.25},
            "tensors": state_after, "notes": ["\"model_state_dict\""]},
        "data_parallel": {"state": {"module." + k: t for k, t in state.items()},
                          "tensors": state, "notes": ["module."]},
        "protocol4": {"state": state, "tensors": state, "protocol": 4},
        "scalars_and_empty": {"state": {"s": torch.tensor(2.5), "n": torch.tensor(9),
                                        "e": torch.zeros(0, 3)},
                              "tensors": {"s": torch.tensor(2.5), "n": torch.tensor(9),
                                          "e": torch.zeros(0, 3)}},
    }
    return cases


def write_files(out: str) -> List[Dict[str, Any]]:
    os.makedirs(out, exist_ok=True)
    manifest: List[Dict[str, Any]] = []
    for name, case in readable_cases().items():
        path = os.path.join(out, name + ".pt")
        torch.save(case["state"], path, pickle_protocol=case.get("protocol", 2))
        save_file(_expected(case["tensors"]), os.path.join(out, name + ".expected.safetensors"))
        manifest.append({"file": name + ".pt", "expect": name + ".expected.safetensors",
                         "dtypes": {k: DTYPE_NAMES[t.dtype] for k, t in case["tensors"].items()},
                         "notes": case.get("notes", [])})

    module = _small_module()
    refused = []
    torch.save(module, os.path.join(out, "pickled_module.pt"))
    refused.append(("pickled_module.pt", "torch.save(model.state_dict(), path)"))
    torch.save(module.state_dict(), os.path.join(out, "legacy.pt"),
               _use_new_zipfile_serialization=False)
    refused.append(("legacy.pt", "legacy checkpoint format"))
    torch.jit.save(torch.jit.script(nn.Linear(3, 2)), os.path.join(out, "torchscript.pt"))
    refused.append(("torchscript.pt", "TorchScript"))
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, \
            zipfile.ZipFile(os.path.join(out, "deflated.pt"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    refused.append(("deflated.pt", "DEFLATE"))
    with open(os.path.join(out, "truncated.pt"), "wb") as f:
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    refused.append(("truncated.pt", "zip"))
    torch.save({"w": torch.ones(2), "note": "hello"}, os.path.join(out, "with_string.pt"))
    refused.append(("with_string.pt", "not a state_dict"))
    manifest += [{"file": f, "error": e} for f, e in refused]
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    manifest = write_files(args.out)
    print(f"{len(manifest)} checkpoints in {args.out} (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
