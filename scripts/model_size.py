#!/usr/bin/python3
"""What a .dpm model file consists of, in bytes, by part.

    scripts/model_size.py MODEL.dpm [MODEL.dpm ...]

Decodes each file with flatc (Debian's flatbuffers-compiler) and
schema/diffpool_model.fbs, and counts the payload of each part: int8 / fp32
GEMM weights, int32 biases, other fp32 constants (BatchNorm affines, ...),
per-channel weight scales, per-tensor activation quantizations, tensor names,
embedded test vectors (features, edges, expected outputs), metadata strings.
Each vector is counted with its 4-byte length; "structure" is the rest of the
file: FlatBuffers tables, vtables, offsets and alignment padding (constant
buffers are 32-byte aligned).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(REPO, "schema", "diffpool_model.fbs")


def decode(path: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["flatc", "--json", "--strict-json", "--raw-binary", "--defaults-json",
                        "-o", tmp, SCHEMA, "--", path], check=True)
        name = os.path.splitext(os.path.basename(path))[0] + ".json"
        with open(os.path.join(tmp, name), encoding="utf-8") as f:
            return json.load(f)


def string_bytes(s) -> int:
    return 0 if s is None else 4 + len(s.encode("utf-8")) + 1


def vector_bytes(v, width: int) -> int:
    return 0 if v is None else 4 + width * len(v)


def breakdown(path: str) -> "OrderedDict[str, int]":
    model = decode(path)
    parts = OrderedDict((k, 0) for k in (
        "int8 weights", "fp32 weights", "int32 biases", "fp32 vectors", "per-channel scales",
        "per-tensor quant", "tensor names", "test vectors", "metadata", "structure"))
    buffers = model.get("buffers", [])
    gemm_weights = set()
    for op in model.get("operators", []):
        inputs = op.get("inputs", [])
        if op.get("opcode") == "GRAPH_CONV" and len(inputs) > 2:
            gemm_weights.add(inputs[2])
        elif op.get("opcode") == "LINEAR" and len(inputs) > 1:
            gemm_weights.add(inputs[1])
    for i, t in enumerate(model.get("tensors", [])):
        parts["tensor names"] += string_bytes(t.get("name"))
        q = t.get("quantization_type", "NONE")
        if q == "PerChannelQuant":
            parts["per-channel scales"] += vector_bytes(t["quantization"].get("scales"), 4)
        elif q == "PerTensorQuant":
            parts["per-tensor quant"] += 8
        b = t.get("buffer", -1)
        if b is None or b < 0:
            continue
        size = vector_bytes(buffers[b].get("data"), 1)
        kind = t.get("type", "FLOAT32")
        if kind == "INT8":
            parts["int8 weights"] += size
        elif kind == "INT32":
            parts["int32 biases"] += size
        elif i in gemm_weights:
            parts["fp32 weights"] += size
        else:
            parts["fp32 vectors"] += size
    tv = model.get("test_vectors") or {}
    for g in tv.get("graphs", []) or []:
        parts["test vectors"] += (vector_bytes(g.get("features"), 4) +
                                  vector_bytes(g.get("features_bits"), 1) +
                                  vector_bytes(g.get("edge_src"), 4) +
                                  vector_bytes(g.get("edge_dst"), 4) +
                                  vector_bytes(g.get("edges_packed"), 1) +
                                  vector_bytes(g.get("expected"), 4))
    meta = model.get("metadata") or {}
    meta_bytes = 0
    for key in ("producer", "producer_version", "description"):
        meta_bytes += string_bytes(meta.get(key))
    for name in meta.get("output_names", []) or []:
        meta_bytes += string_bytes(name)
    for kv in meta.get("properties", []) or []:
        meta_bytes += string_bytes(kv.get("key")) + string_bytes(kv.get("value"))
    spec = meta.get("input") or {}
    meta_bytes += string_bytes(spec.get("encoding"))
    for name in spec.get("names", []) or []:
        meta_bytes += string_bytes(name)
    meta_bytes += vector_bytes(spec.get("tag_values"), 4)
    parts["metadata"] = meta_bytes
    total = os.path.getsize(path)
    parts["structure"] = total - sum(v for k, v in parts.items() if k != "structure")
    parts["total"] = total
    parts["tensors"] = len(model.get("tensors", []))
    parts["buffers"] = len(buffers)
    parts["test graphs"] = len(tv.get("graphs", []) or [])
    return parts


def main(argv) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    rows = [(p, breakdown(p)) for p in argv]
    keys = list(rows[0][1].keys())
    print("| part | " + " | ".join(os.path.basename(p) for p, _ in rows) + " |")
    print("|---|" + "--:|" * len(rows))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{r[k]:,}" for _, r in rows) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
