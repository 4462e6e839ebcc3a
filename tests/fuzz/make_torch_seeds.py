"""Seeds for fuzz_torch_checkpoint and fuzz_torch_pickle: small torch.save
archives of state_dicts (float, double, half, bfloat16, integer counters,
parameters, non-contiguous and offset views, a training-checkpoint wrapper
with DataParallel's "module." prefix), their data.pkl records, and plain
pickles of every protocol. Empties both targets' corpus folders.

    python3 make_torch_seeds.py --out <fuzz build folder>
"""
import argparse
import collections
import pathlib
import pickle
import shutil
import zipfile

import torch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=pathlib.Path)
    out = parser.parse_args().out
    for kind in ("seeds", "corpus"):
        for target in ("torch_checkpoint", "torch_pickle"):
            shutil.rmtree(out / kind / target, ignore_errors=True)
            (out / kind / target).mkdir(parents=True)
    checkpoints = out / "seeds" / "torch_checkpoint"
    pickles = out / "seeds" / "torch_pickle"

    torch.manual_seed(0)
    sd = collections.OrderedDict()
    sd["gnn1_pool.conv1.lin_rel.weight"] = torch.randn(4, 3)
    sd["gnn1_pool.conv1.lin_root.bias"] = torch.randn(4, dtype=torch.float64)
    sd["gnn1_pool.bn1.num_batches_tracked"] = torch.tensor(7)
    sd["half"] = torch.randn(2, 2).half()
    sd["bf16"] = torch.randn(3).bfloat16()
    sd["transposed"] = torch.randn(3, 5).t()
    sd["offset_view"] = sd["gnn1_pool.conv1.lin_rel.weight"][1:]
    sd["parameter"] = torch.nn.Parameter(torch.randn(2))
    sd["int8"] = torch.arange(6, dtype=torch.int8).reshape(2, 3)
    sd["flag"] = torch.tensor([True, False])
    sd["scalar"] = torch.tensor(1.5)
    torch.save(sd, checkpoints / "plain.pt")
    wrapped = {"model_state_dict": {"module." + k: v for k, v in sd.items()}, "epoch": 3}
    torch.save(wrapped, checkpoints / "wrapped.pt")
    torch.save({"w": torch.randn(2, 2)}, checkpoints / "tiny.pt")

    for pt in sorted(checkpoints.glob("*.pt")):
        with zipfile.ZipFile(pt) as archive:
            name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
            (pickles / (pt.stem + ".pkl")).write_bytes(archive.read(name))
    plain = {"a": [1, 2.5, None, True, "text", b"bytes", (1, 2)], "b": {"nested": -(2**40)}}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        (pickles / f"plain_protocol{protocol}.pkl").write_bytes(pickle.dumps(plain, protocol))
    print(f"make_torch_seeds: {len(list(checkpoints.iterdir()))} checkpoints, "
          f"{len(list(pickles.iterdir()))} pickles")


if __name__ == "__main__":
    main()
