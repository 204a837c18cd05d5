#!/usr/bin/env python3
"""Intermediate tensors of llama.cpp's forward pass over given token ids, through its graph-eval callback.

Used by LlamaCppMatmulParityIT to feed this worker's kernels exactly the inputs llama.cpp's own
kernels saw, op by op. llama.cpp calls the callback (llama_context_params.cb_eval) after computing
each node of its graph; nodes are named like "attn_norm-3", "Qcur-3", "ffn_out-3", "result_output".
The first F32, contiguous node of each name in KEPT is kept (later ones are reshapes and views of it).

usage: llamacpp_tensors.py MODEL.gguf REQUEST.json OUT_PREFIX
  REQUEST.json: {"tokens": [ids...]}
writes OUT_PREFIX.json: {"tensors": {name: [rows, cols], ...}} (rows of the last dimension, as ggml's ne[0])
and OUT_PREFIX.<name>.f32: the values, little-endian float32, row-major.
"""
import ctypes
import json
import re
import sys

import numpy as np
import llama_cpp as L

GGML_TYPE_F32 = 0
# The nodes kept: each layer's sub-layer inputs and outputs, and the final norm and logits.
KEPT = re.compile(r"(inp_embd|(attn_norm|Qcur|Kcur|Vcur|kqv_out|attn_out|ffn_inp|ffn_norm|ffn_gate|ffn_up|ffn_swiglu|ffn_out|l_out)-\d+"
                  r"|result_norm|result_output)")


class GgmlTensor(ctypes.Structure):
    """struct ggml_tensor of the ggml version llama-cpp-python 0.3.16 vendors (ggml/include/ggml.h)."""
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4),
                ("nb", ctypes.c_size_t * 4), ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16),
                ("flags", ctypes.c_int32), ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p),
                ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64),
                ("extra", ctypes.c_void_p), ("padding", ctypes.c_char * 8)]


def main():
    model_path, request_path, out_prefix = sys.argv[1:4]
    with open(request_path) as f:
        tokens = json.load(f)["tokens"]
    kept = {}

    def on_node(pointer, ask, user_data):
        if ask:
            return True  # yes, call again once this node is computed
        t = GgmlTensor.from_address(pointer)
        name = t.name.decode()
        ne = list(t.ne)
        contiguous = t.nb[0] == 4 and t.nb[1] == 4 * ne[0] and t.nb[2] == t.nb[1] * ne[1] and t.nb[3] == t.nb[2] * ne[2]
        if t.type == GGML_TYPE_F32 and t.data and contiguous and name not in kept and KEPT.fullmatch(name):
            n = ne[0] * ne[1] * ne[2] * ne[3]
            values = np.ctypeslib.as_array((ctypes.c_float * n).from_address(t.data)).copy()
            kept[name] = values.reshape(-1, ne[0])
        return True

    callback = L.ggml_backend_sched_eval_callback(on_node)
    L.llama_backend_init()
    model = L.llama_model_load_from_file(model_path.encode(), L.llama_model_default_params())
    params = L.llama_context_default_params()
    params.n_ctx = len(tokens) + 8
    params.n_batch = params.n_ubatch = max(512, len(tokens))
    params.n_threads = params.n_threads_batch = 2
    params.cb_eval = callback
    params.flash_attn = False
    params.type_k = params.type_v = GGML_TYPE_F32
    ctx = L.llama_init_from_model(model, params)
    ids = (L.llama_token * len(tokens))(*tokens)
    if L.llama_decode(ctx, L.llama_batch_get_one(ids, len(tokens))) != 0:
        sys.exit("llama_decode failed")
    index = {}
    for name, values in kept.items():
        values.astype("<f4").tofile(f"{out_prefix}.{name}.f32")
        index[name] = {"file": f"{out_prefix}.{name}.f32", "rows": values.shape[0], "cols": values.shape[1]}
    with open(out_prefix + ".json", "w") as f:
        json.dump({"llama_cpp_version": L.__version__, "tensors": index}, f)
    L.llama_free(ctx)
    L.llama_model_free(model)


if __name__ == "__main__":
    main()
