#!/usr/bin/env python3
"""Greedy continuation of given prompt token ids with llama.cpp (the llama-cpp-python binding).

Used by LlamaCppParityIT as the reference the worker's forward pass is compared with. Input and
output are token ids, so that tokenization (tested on its own) cannot blur the comparison.

usage: llamacpp_reference.py MODEL.gguf REQUEST.json OUT_PREFIX
  REQUEST.json: {"prompts": [[ids...], ...], "max_tokens": 32}
writes OUT_PREFIX.json: {"llama_cpp_version": ..., "results": [{"tokens": [...]}, ...]}
and OUT_PREFIX.<i>.f32: the logits (little-endian float32, [max_tokens][n_vocab]) that chose each token,
and OUT_PREFIX.<i>.batch.f32: the logits llama.cpp gives at the same positions when it runs the prompt
and the chosen tokens in one batch instead of one token at a time. Mathematically the same, they show
how far llama.cpp's results move with the batching alone (on quantized models, where activations are
quantized to 8 bits, by whole quantization steps).
"""
import json
import sys

import numpy as np
import llama_cpp


def main():
    model_path, request_path, out_prefix = sys.argv[1:4]
    with open(request_path) as f:
        request = json.load(f)
    n_gen = int(request["max_tokens"])
    longest = max(len(p) for p in request["prompts"])
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=longest + n_gen + 8, n_batch=512, n_threads=2,
                          logits_all=True, verbose=False, seed=0,
                          flash_attn=False, type_k=0, type_v=0)
    results = []
    for i, prompt in enumerate(request["prompts"]):
        llm.reset()
        llm.eval(prompt)
        tokens, rows = [], []
        for _ in range(n_gen):
            logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            token = int(np.argmax(logits))
            tokens.append(token)
            rows.append(logits)
            llm.eval([token])
        np.stack(rows).astype("<f4").tofile(f"{out_prefix}.{i}.f32")
        llm.reset()
        llm.eval(list(prompt) + tokens[:-1])
        batch = [np.array(llm.scores[len(prompt) - 1 + t], dtype=np.float32) for t in range(n_gen)]
        np.stack(batch).astype("<f4").tofile(f"{out_prefix}.{i}.batch.f32")
        results.append({"tokens": tokens})
    with open(out_prefix + ".json", "w") as f:
        json.dump({"llama_cpp_version": llama_cpp.__version__, "n_vocab": llm.n_vocab(), "results": results}, f)


if __name__ == "__main__":
    main()
