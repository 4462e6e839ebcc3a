"""diffpool_ref.safetensors: layout, round trip and rejection of bad files."""

import json
import os
import struct
import tempfile
import unittest

import numpy as np
import torch

from diffpool_ref import safetensors as st


class RoundTrip(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        self.tensors = {
            "weight": rng.normal(size=(3, 5)).astype(np.float32),
            "double": rng.normal(size=(7,)),
            "steps": np.array(12, dtype=np.int64),        # shape [] (scalar)
            "empty": np.zeros((0, 4), dtype=np.float32),
            "ints": np.arange(-3, 3, dtype=np.int64).reshape(2, 3),
        }

    def test_file_round_trip_keeps_values_dtypes_shapes_metadata(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.safetensors")
            st.save_file(self.tensors, path, metadata={"format": "pt", "k": "v"})
            loaded, metadata = st.load_file(path)
        self.assertEqual(metadata, {"format": "pt", "k": "v"})
        self.assertEqual(list(loaded), list(self.tensors))
        for name, want in self.tensors.items():
            with self.subTest(name=name):
                self.assertEqual(loaded[name].dtype, want.dtype)
                self.assertEqual(loaded[name].shape, want.shape)
                np.testing.assert_array_equal(loaded[name], want)

    def test_layout_follows_the_public_format(self):
        data = st.serialize(self.tensors, {"a": "b"})
        (header_len,) = struct.unpack("<Q", data[:8])
        self.assertEqual(header_len % 8, 0)
        header = json.loads(data[8:8 + header_len])
        self.assertEqual(header["__metadata__"], {"a": "b"})
        self.assertEqual(header["weight"], {"dtype": "F32", "shape": [3, 5],
                                            "data_offsets": [0, 60]})
        self.assertEqual(header["double"]["dtype"], "F64")
        self.assertEqual(header["steps"], {"dtype": "I64", "shape": [],
                                           "data_offsets": [116, 124]})
        body = data[8 + header_len:]
        begin, end = header["weight"]["data_offsets"]
        np.testing.assert_array_equal(
            np.frombuffer(body[begin:end], dtype="<f4").reshape(3, 5), self.tensors["weight"])
        self.assertEqual(len(body), header["ints"]["data_offsets"][1])

    def test_torch_tensors_and_big_endian_arrays_are_accepted(self):
        data = st.serialize({"t": torch.arange(4, dtype=torch.float32),
                             "be": np.arange(3, dtype=">f8")})
        loaded, _ = st.deserialize(data)
        np.testing.assert_array_equal(loaded["t"], np.arange(4, dtype=np.float32))
        np.testing.assert_array_equal(loaded["be"], np.arange(3, dtype=np.float64))

    def test_unsupported_input_is_refused(self):
        with self.assertRaises(st.SafetensorsError):
            st.serialize({"c": np.zeros(2, dtype=np.complex64)})
        with self.assertRaises(st.SafetensorsError):
            st.serialize({"__metadata__": np.zeros(2)})
        with self.assertRaises(st.SafetensorsError):
            st.serialize({"x": np.zeros(2)}, metadata={"n": 1})


class Corruption(unittest.TestCase):
    def build(self, header, body=b"", raw_len=None):
        text = json.dumps(header).encode()
        return struct.pack("<Q", len(text) if raw_len is None else raw_len) + text + body

    def assert_refused(self, data, pattern):
        with self.assertRaisesRegex(st.SafetensorsError, pattern):
            st.deserialize(data)

    def test_bad_files_are_refused_with_a_reason(self):
        entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
        self.assertEqual(st.deserialize(self.build({"a": entry}, bytes(8)))[0]["a"].shape, (2,))
        self.assert_refused(b"\x01\x02", "no header size")
        self.assert_refused(self.build({"a": entry}, bytes(8), raw_len=10 ** 6), "does not fit")
        self.assert_refused(struct.pack("<Q", 3) + b"{x}", "not UTF-8 JSON")
        self.assert_refused(self.build({"a": entry}, bytes(4)), "outside")
        self.assert_refused(self.build({"a": dict(entry, dtype="Q7")}, bytes(8)), "unknown dtype")
        self.assert_refused(self.build({"a": dict(entry, shape=[3])}, bytes(8)), "needs 12")
        self.assert_refused(self.build({"a": dict(entry, shape=[-2])}, bytes(8)), "bad shape")
        self.assert_refused(self.build({"a": entry, "b": entry}, bytes(8)), "overlap or gap")
        self.assert_refused(self.build({"a": entry}, bytes(12)), "trailing")
        self.assert_refused(self.build({"a": entry, "__metadata__": {"k": 1}}, bytes(8)),
                            "__metadata__")

    def test_missing_file_is_named(self):
        with self.assertRaisesRegex(st.SafetensorsError, "nope.safetensors"):
            st.load_file("/nonexistent/nope.safetensors")


if __name__ == "__main__":
    unittest.main()
