#!/usr/bin/env python3
"""llama.cpp's log-probabilities (through llama-cpp-python's own create_completion) for
OpenAiLogprobsIT: the top 5 at each of a greedy continuation's steps, and a passage's prompt
log-probabilities (what evaluation harnesses sum into a log-likelihood).

usage: llamacpp_logprobs.py MODEL.gguf REQUEST.json   (REQUEST.json as logprobs_choices.py's)
prints {"greedy": {"text", "tokens", "token_logprobs", "top_logprobs"}, "passage": {"token_logprobs"}}
"""
import json
import sys

import numpy as np
import llama_cpp


def main():
    model_path, request_path = sys.argv[1:3]
    with open(request_path) as f:
        req = json.load(f)
    n_ctx = max(len(req["greedy_prompt"]) + req["steps"], len(req["passage"]) + 1) + 8
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, n_batch=512, n_threads=2, logits_all=True,
                          verbose=False, seed=0, flash_attn=False, type_k=0, type_v=0)  # F32 KV, as ours
    out = {"llama_cpp_version": llama_cpp.__version__}
    llm.reset()
    r = llm.create_completion(prompt=req["greedy_prompt"], max_tokens=req["steps"], logprobs=5, temperature=0.0,
                              top_k=1, repeat_penalty=1.0)
    c = r["choices"][0]
    out["greedy"] = {"text": c["text"], "tokens": c["logprobs"]["tokens"],
                     "token_logprobs": c["logprobs"]["token_logprobs"], "top_logprobs": c["logprobs"]["top_logprobs"]}
    # create_completion's echo fails on a prompt of token ids (0.3.16 concatenates them to text), so
    # the passage goes through the same steps by hand: llama.cpp's logits of every prompt row
    # (logits_all), turned into log-probabilities by the binding's own logits_to_logprobs.
    passage = req["passage"]
    llm.reset()
    llm.eval(passage)
    token_logprobs = [None]
    for i in range(1, len(passage)):
        row = llama_cpp.Llama.logits_to_logprobs(np.array(llm.scores[i - 1], dtype=np.float32))
        token_logprobs.append(float(row[passage[i]]))
    out["passage"] = {"token_logprobs": token_logprobs}
    print(json.dumps(out, default=float))  # the binding hands out numpy floats


if __name__ == "__main__":
    main()
