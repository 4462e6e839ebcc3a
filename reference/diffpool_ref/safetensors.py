"""A minimal reader and writer for the safetensors format (numpy based).

Layout (https://github.com/huggingface/safetensors):

    8 bytes    N, unsigned little-endian 64-bit: size of the JSON header
    N bytes    JSON object {name: {"dtype": "F32", "shape": [..],
               "data_offsets": [begin, end]}, "__metadata__": {str: str}},
               padded with spaces so that N is a multiple of 8
    rest       the tensors' raw little-endian bytes, row-major; offsets are
               relative to the start of this section

The writer stores tensors back to back in the order given, without gaps. The
reader checks every field before it touches the data: a header that lies
about sizes or offsets raises SafetensorsError rather than returning garbage.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

# safetensors dtype name -> numpy little-endian dtype.
_DTYPES: Dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {dt: name for name, dt in _DTYPES.items()}

# Refuse absurd headers before reading them (the reference library uses 100 MB).
_MAX_HEADER_BYTES = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A file or a tensor cannot be represented in or read as safetensors."""


def _to_numpy(value) -> np.ndarray:
    """Accepts numpy arrays and torch tensors (without importing torch)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def serialize(tensors: Mapping[str, object],
              metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Returns the safetensors bytes for `tensors` (name -> array or tensor).

    Each array keeps its dtype (F64, F32, F16, I64, I32, I16, I8, U8, BOOL);
    cast before calling to choose another. Raises SafetensorsError on an
    unsupported dtype, a reserved or empty name, or non-string metadata.
    """
    header: Dict[str, object] = {}
    if metadata:
        for key, val in metadata.items():
            if not isinstance(key, str) or not isinstance(val, str):
                raise SafetensorsError(
                    f"metadata must map str to str, got {key!r}: {val!r}")
        header["__metadata__"] = dict(metadata)
    chunks = []
    offset = 0
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise SafetensorsError(f"invalid tensor name {name!r}")
        array = _to_numpy(value)
        name_of_dtype = _NAMES.get(array.dtype.newbyteorder("<"))
        if name_of_dtype is None:
            raise SafetensorsError(
                f"tensor {name!r}: unsupported dtype {array.dtype}")
        data = np.ascontiguousarray(array, dtype=_DTYPES[name_of_dtype]).tobytes()
        header[name] = {"dtype": name_of_dtype,
                        "shape": [int(d) for d in array.shape],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_file(tensors: Mapping[str, object], path: str,
              metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes `tensors` to `path` (see serialize)."""
    data = serialize(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def deserialize(data: bytes) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Parses safetensors bytes into ({name: array}, metadata).

    Arrays are copies in native byte order, in header order. Raises
    SafetensorsError on any inconsistency: short file, bad JSON, unknown
    dtype, negative or non-integer shape, offsets that overlap, leave gaps,
    run past the end or disagree with shape x dtype size.
    """
    if len(data) < 8:
        raise SafetensorsError(f"file of {len(data)} bytes has no header size")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > _MAX_HEADER_BYTES or 8 + header_len > len(data):
        raise SafetensorsError(
            f"header size {header_len} does not fit a {len(data)}-byte file")
    try:
        header = json.loads(data[8:8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SafetensorsError(f"header is not UTF-8 JSON: {err}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafetensorsError("__metadata__ must map str to str")
    body = memoryview(data)[8 + header_len:]

    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"tensor {name!r}: malformed entry {info!r}")
        dtype = _DTYPES.get(info["dtype"]) if isinstance(info["dtype"], str) else None
        if dtype is None:
            raise SafetensorsError(f"tensor {name!r}: unknown dtype {info['dtype']!r}")
        shape, offsets = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise SafetensorsError(f"tensor {name!r}: bad shape {shape!r}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                isinstance(o, int) and not isinstance(o, bool) for o in offsets):
            raise SafetensorsError(f"tensor {name!r}: bad data_offsets {offsets!r}")
        begin, end = offsets
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if not 0 <= begin <= end <= len(body):
            raise SafetensorsError(
                f"tensor {name!r}: offsets [{begin}, {end}] outside the "
                f"{len(body)}-byte data section")
        if end - begin != expected:
            raise SafetensorsError(
                f"tensor {name!r}: {end - begin} bytes for shape {shape} "
                f"{info['dtype']} (needs {expected})")
        entries.append((begin, end, name, dtype, shape))

    # The data section must be covered exactly: no overlaps, no holes.
    position = 0
    for begin, end, name, _, _ in sorted(entries, key=lambda e: (e[0], e[1])):
        if begin != position:
            raise SafetensorsError(
                f"tensor {name!r}: starts at {begin}, expected {position} "
                "(overlap or gap)")
        position = end
    if position != len(body):
        raise SafetensorsError(
            f"data section has {len(body) - position} trailing bytes")

    tensors = {}
    for begin, end, name, dtype, shape in entries:
        array = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape)
        tensors[name] = array.astype(dtype.newbyteorder("="), copy=True)
    return tensors, dict(metadata)


def load_file(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Reads a safetensors file: returns ({name: numpy array}, metadata)."""
    if not os.path.isfile(path):
        raise SafetensorsError(f"{path}: no such file")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return deserialize(data)
    except SafetensorsError as err:
        raise SafetensorsError(f"{path}: {err}") from None
