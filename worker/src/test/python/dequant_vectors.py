#!/usr/bin/env python3
"""Writes the dequantization fixtures DequantTest checks the Java kernels against.

The reference is ggml's own Python package gguf (gguf-py, on PyPI): gguf.quants.dequantize
implements every ggml type in numpy, independently of the Java code. For each type this makes a
few random but valid blocks (fixed seed; f16 scales of sensible magnitude; random quant bytes)
and writes their bytes and gguf's dequantized float32 values, as text, to
worker/src/test/resources/dequant/<TYPE>.json:

  {"type": "Q4_K", "gguf": "0.19.0", "blockSize": 256, "typeSize": 144, "cols": 256,
   "bytes": "<hex of all blocks>", "values": ["3f800000", ...]}

Values are the IEEE bit patterns of the float32 results, so infinities and -0.0 survive and the
Java test can compare bit for bit. "cols" is the row length the Java test uses for embed.

usage (from the repository root):
  python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf numpy
  /tmp/gguf-venv/bin/python worker/src/test/python/dequant_vectors.py
"""
import json
import pathlib
from importlib.metadata import version

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

OUT = pathlib.Path(__file__).resolve().parents[1] / "resources" / "dequant"


def f16_scales(rng, n, lo=1e-4, hi=0.05, signed=True):
    """n finite float16 scales with magnitudes spread over [lo, hi) on a log scale, as bytes."""
    mag = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    sign = rng.choice([-1.0, 1.0], n) if signed else np.ones(n)
    return (mag * sign).astype(np.float16)


def quant_blocks(rng, qtype, nblocks):
    """nblocks random valid blocks of a quantized type, laid out as ggml's block structs."""
    blocks = []
    for _ in range(nblocks):
        if qtype == T.Q8_0:  # f16 d, i8 qs[32]
            b = f16_scales(rng, 1).tobytes() + rng.integers(0, 256, 32, dtype=np.uint8).tobytes()
        elif qtype == T.Q4_0:  # f16 d, u8 qs[16]
            b = f16_scales(rng, 1).tobytes() + rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        elif qtype == T.Q4_1:  # f16 d, f16 m, u8 qs[16]
            b = (f16_scales(rng, 1, signed=False).tobytes() + f16_scales(rng, 1, 1e-3, 0.5).tobytes()
                 + rng.integers(0, 256, 16, dtype=np.uint8).tobytes())
        elif qtype == T.Q5_0:  # f16 d, u8 qh[4], u8 qs[16]
            b = f16_scales(rng, 1).tobytes() + rng.integers(0, 256, 4 + 16, dtype=np.uint8).tobytes()
        elif qtype == T.Q5_1:  # f16 d, f16 m, u8 qh[4], u8 qs[16]
            b = (f16_scales(rng, 1, signed=False).tobytes() + f16_scales(rng, 1, 1e-3, 0.5).tobytes()
                 + rng.integers(0, 256, 4 + 16, dtype=np.uint8).tobytes())
        elif qtype == T.Q5_K:  # f16 d, f16 dmin, u8 scales[12], u8 qh[32], u8 qs[128]
            b = (f16_scales(rng, 2, 1e-4, 0.01, signed=False).tobytes()
                 + rng.integers(0, 256, 12 + 32 + 128, dtype=np.uint8).tobytes())
        elif qtype == T.Q4_K:  # f16 d, f16 dmin, u8 scales[12], u8 qs[128]
            b = (f16_scales(rng, 2, 1e-4, 0.01, signed=False).tobytes()
                 + rng.integers(0, 256, 12 + 128, dtype=np.uint8).tobytes())
        elif qtype == T.Q6_K:  # u8 ql[128], u8 qh[64], i8 scales[16], f16 d
            b = (rng.integers(0, 256, 128 + 64 + 16, dtype=np.uint8).tobytes()
                 + f16_scales(rng, 1, 1e-4, 0.01, signed=False).tobytes())
        else:
            raise ValueError(qtype)
        blocks.append(b)
    return b"".join(blocks)


def float_values(rng, qtype, n):
    """n values of a plain float type with edge cases first (signed zeros, subnormals, extremes, infinities)."""
    if qtype == T.F16:
        edge = np.array([0x0000, 0x8000, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x3c00],
                        dtype=np.uint16)
        rand = rng.integers(0, 0x10000, n - len(edge), dtype=np.uint16)
        rand = rand[(rand & 0x7c00) != 0x7c00]  # no NaN or infinity among the random ones
        vals = np.concatenate([edge, rand, rng.integers(0, 0x7c00, n, dtype=np.uint16)])[:n]
        return vals.astype("<u2").tobytes()
    if qtype == T.BF16:
        edge = np.array([0x0000, 0x8000, 0x0001, 0x807f, 0x0080, 0x7f7f, 0xff7f, 0x7f80, 0xff80, 0x3f80],
                        dtype=np.uint16)
        rand = rng.integers(0, 0x10000, 4 * n, dtype=np.uint16)
        rand = rand[(rand & 0x7f80) != 0x7f80]
        return np.concatenate([edge, rand])[:n].astype("<u2").tobytes()
    if qtype == T.F32:
        edge = np.array([0.0, -0.0, 1e-45, -1e-40, 3.4028235e38, np.inf, -np.inf, 1.0], dtype=np.float32)
        rand = (rng.standard_normal(n - len(edge)) * np.exp(rng.uniform(-20, 20, n - len(edge)))).astype(np.float32)
        return np.concatenate([edge, rand]).astype("<f4").tobytes()
    raise ValueError(qtype)


# type -> (number of values or blocks, row length the Java test uses for embed)
PLAN = {
    T.F32: (63, 21),
    T.F16: (63, 21),
    T.BF16: (63, 21),
    T.Q8_0: (4, 64),
    T.Q4_0: (4, 64),
    T.Q4_1: (4, 64),
    T.Q4_K: (2, 256),
    T.Q6_K: (2, 256),
    # added later, after the others so that their random draws (and fixtures) stay as they were
    T.Q5_0: (4, 64),
    T.Q5_1: (4, 64),
    T.Q5_K: (2, 256),
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    for qtype, (count, cols) in PLAN.items():
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        if block_size == 1:
            data = float_values(rng, qtype, count)
        else:
            data = quant_blocks(rng, qtype, count)
        raw = np.frombuffer(data, dtype=np.uint8)
        values = dequantize(raw, qtype).astype(np.float32).reshape(-1)
        assert values.size * type_size == raw.size * block_size, qtype
        fixture = {
            "type": qtype.name,
            "gguf": version("gguf"),
            "blockSize": block_size,
            "typeSize": type_size,
            "cols": cols,
            "bytes": data.hex(),
            "values": [format(int(v), "08x") for v in values.view(np.uint32)],
        }
        path = OUT / f"{qtype.name}.json"
        path.write_text(json.dumps(fixture, indent=1) + "\n")
        print(f"{path}: {values.size} values")


if __name__ == "__main__":
    main()
