#!/usr/bin/env python3
"""llama.cpp's embeddings (llama-cpp-python's Llama.embed, mean pooling, normalised) of texts, for
EmbeddingsIT:

usage: llamacpp_embeddings.py MODEL.gguf TEXTS.json     prints {"embeddings": [[...], ...]}
"""
import json
import sys

import llama_cpp


def main():
    model_path, texts_path = sys.argv[1:3]
    with open(texts_path) as f:
        texts = json.load(f)
    llm = llama_cpp.Llama(model_path=model_path, embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                          n_ctx=512, n_batch=512, n_ubatch=512, n_threads=2, verbose=False, flash_attn=False,
                          type_k=0, type_v=0)
    out = [llm.embed(t, normalize=True) for t in texts]
    print(json.dumps({"embeddings": out}, default=float))


if __name__ == "__main__":
    main()
