#!/usr/bin/env python3
"""Quantizes a GGUF model with llama.cpp's own quantizer (llama-cpp-python's llama_model_quantize).

The parity tests use it to get files in the mixtures users download (Q4_K_M, Q5_K_M) from a
model that ships only as Q4_1: quantized from its F32 copy, as llama-quantize would.

usage: quantize_model.py IN.gguf OUT.gguf FTYPE   (FTYPE: llama.cpp's LLAMA_FTYPE_*, 15 Q4_K_M, 17 Q5_K_M)
"""
import sys

import llama_cpp

src, dst, ftype = sys.argv[1], sys.argv[2], int(sys.argv[3])
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = ftype
params.nthread = 2
rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params)
sys.exit(0 if rc == 0 else 1)
