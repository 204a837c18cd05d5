#!/usr/bin/env python3
"""Writes a copy of a GGUF model with every tensor dequantized to F32 (ggml's gguf-py package).

LlamaCppParityIT runs llama.cpp and the worker on this copy too: without quantized weights,
llama.cpp computes in F32 throughout, so any difference left is a real difference of the math.

usage: dequantize_to_f32.py IN.gguf OUT.gguf
"""
import sys, numpy as np
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType
from gguf.quants import dequantize
r = GGUFReader(sys.argv[1])
arch = r.fields['general.architecture'].contents()
w = GGUFWriter(sys.argv[2], arch)
for name, f in r.fields.items():
    if name.startswith('GGUF.') or name == 'general.architecture': continue
    t = f.types[0]
    if t == 9:  # array
        w.add_key_value(name, f.contents(), t, sub_type=f.types[-1])
    else:
        w.add_key_value(name, f.contents(), t)
for t in r.tensors:
    data = dequantize(t.data, t.tensor_type).astype(np.float32)
    w.add_tensor(t.name, data.reshape([int(x) for x in reversed(t.shape)]))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
