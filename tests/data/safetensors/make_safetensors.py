#!/usr/bin/python3
"""Writes the safetensors files of tests/test_safetensors.cpp from torch tensors:

    cd tests/data/safetensors && /usr/bin/python3 make_safetensors.py
    /usr/bin/python3 make_safetensors.py check FILE...   # loads files (e.g. tapegrad's) and prints them

Debian 12 ships no python `safetensors`, so `save` below writes the format by hand the way the
reference writer does (safetensors/src/tensor.rs `prepare`: tensors sorted by dtype, largest
alignment first, then by name; compact JSON; the header padded with spaces to a multiple of 8), and
`load` reads it back checking the format's rules. The test checks both directions: tapegrad reads
these files, and writes the same bytes as reference.safetensors and names.safetensors."""
import json
import struct
import sys

import torch

# The reference's dtypes, in its order of increasing alignment (the writer sorts by it, descending).
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
         "I64", "U64"]
NAMES = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.float16: "F16",
         torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32", torch.float64: "F64",
         torch.int64: "I64"}
TYPES = {name: dtype for dtype, name in NAMES.items()}


def data_of(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save(path, tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda item: (-ORDER.index(NAMES[item[1].dtype]), item[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in items:
        data = data_of(t)
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    assert load(path)[0].keys() == tensors.keys()


def load(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n <= 100_000_000 and 8 + n <= len(data)
    text = data[8:8 + n].decode("utf-8")
    assert text.startswith("{")
    pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
    assert len({k for k, _ in pairs}) == len(pairs), "duplicate names"
    metadata, entries = {}, []
    for name, value in pairs:
        if name == "__metadata__":
            metadata = dict(value)
            assert all(isinstance(v, str) for v in metadata.values())
        else:
            entries.append((name, dict(value)))
    entries.sort(key=lambda e: e[1]["data_offsets"])
    tensors, end = {}, 0
    buffer = data[8 + n:]
    for name, info in entries:
        begin, stop = info["data_offsets"]
        assert begin == end and stop >= begin, name
        dtype = TYPES[info["dtype"]]
        numel = 1
        for size in info["shape"]:
            assert size >= 0
            numel *= size
        assert stop - begin == numel * torch.empty(0, dtype=dtype).element_size(), name
        raw = bytearray(buffer[begin:stop])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
        end = stop
    assert 8 + n + end == len(data), "trailing bytes"
    return tensors, metadata


def bits(values, dtype):
    return torch.tensor(values, dtype=torch.int16).view(dtype)


def main():
    if sys.argv[1:2] == ["check"]:
        for path in sys.argv[2:]:
            tensors, metadata = load(path)
            print(path, metadata)
            for name, t in tensors.items():
                print(" ", repr(name), t.dtype, list(t.shape), t.flatten()[:8].tolist())
        return

    # dtypes.safetensors: every dtype tapegrad reads, with torch's own float32 widening of BF16 and F16
    # beside them ("<name>.as_f32") for the test to compare with bit for bit.
    bf16 = bits([0x0000, -0x8000, 0x3F80, -0x3D09, 0x0001, 0x007F, 0x0080, 0x7F7F, 0x7F80, -0x0080, 0x7FC0,
                 0x7FA1], torch.bfloat16)  # 0, -0, 1, -123.5, subnormals, min normal, max, inf, -inf, NaNs
    f16 = bits([0x0000, -0x8000, 0x3C00, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, -0x0400, 0x7E00, 0x7D00,
                -0x4C00], torch.float16)  # 0, -0, 1, 2^-24, max subnormal, min normal, 65504, inf, -inf, NaNs, -1
    save("dtypes.safetensors", {
        "f32": (torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2.5) / 4,
        "f64": torch.tensor([0.1, -1e300, 5e-324, float("inf")], dtype=torch.float64),
        "i64": torch.tensor([-(2**63), 2**63 - 1, 0, -1, 7, 1 << 40], dtype=torch.int64).reshape(3, 1, 2),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "bf16": bf16.reshape(3, 4),
        "bf16.as_f32": bf16.float().reshape(3, 4),
        "f16": f16.reshape(2, 6),
        "f16.as_f32": f16.float().reshape(2, 6),
    }, {"format": "pt"})

    # reference.safetensors: what the reference writer writes for these tensors; tapegrad, given them in
    # the writer's order, writes the same bytes.
    save("reference.safetensors", {
        "fc.weight": (torch.arange(6, dtype=torch.float32).reshape(2, 3) - 2.5) / 4,
        "fc.bias": torch.tensor([1.5, -2.0], dtype=torch.float32),
        "double": torch.tensor([[0.1, 0.2], [0.3, 0.4]], dtype=torch.float64),
        "steps": torch.tensor(7, dtype=torch.int64),
        "nothing": torch.zeros(2, 0, dtype=torch.float32),
    }, {"format": "pt"})

    # names.safetensors: names JSON must escape (quotes, backslash, control characters) and unicode.
    save("names.safetensors", {
        'say "hi"': torch.tensor([1.0]),
        "back\\slash": torch.tensor([2.0]),
        "tab\tnewline\n\x01": torch.tensor([3.0]),
        "gr\u00fc\u00dfe \u4e16\u754c \U0001F600": torch.tensor([4.0]),
    }, {"note": "caf\u00e9 \"quoted\""})

    # other_dtypes.safetensors: valid, but dtypes tapegrad does not read.
    save("other_dtypes.safetensors", {"ints": torch.tensor([1, 2], dtype=torch.int32),
                                      "flags": torch.tensor([True, False])})


if __name__ == "__main__":
    main()
