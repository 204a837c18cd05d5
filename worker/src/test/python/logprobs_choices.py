"""Drives a server with the official OpenAI Python SDK through log-probabilities, echo and several
choices, streamed and not, and prints what it got as JSON for OpenAiLogprobsIT to check:

    python logprobs_choices.py BASE_URL MODEL REQUEST.json

REQUEST.json: {"greedy_prompt": [ids], "steps": 40, "passage": [ids], "chat": "a user message"}
"""
import json
import sys

import openai


def completion_logprobs(lp):
    return {"tokens": lp.tokens, "token_logprobs": lp.token_logprobs, "top_logprobs": lp.top_logprobs,
            "text_offset": lp.text_offset}


def main(base_url, model, request_path):
    with open(request_path) as f:
        req = json.load(f)
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    out = {}

    # Greedy completion with the top 5 at every step, buffered and streamed.
    r = client.completions.create(model=model, prompt=req["greedy_prompt"], max_tokens=req["steps"], temperature=0,
                                  logprobs=5, extra_body={"ignore_eos": True})
    out["greedy"] = {"text": r.choices[0].text, "logprobs": completion_logprobs(r.choices[0].logprobs),
                     "usage": r.usage.model_dump()}
    tokens, lps, tops, text = [], [], [], ""
    for chunk in client.completions.create(model=model, prompt=req["greedy_prompt"], max_tokens=req["steps"],
                                           temperature=0, logprobs=5, stream=True, extra_body={"ignore_eos": True}):
        for c in chunk.choices:
            text += c.text
            if c.logprobs is not None:
                tokens += c.logprobs.tokens
                lps += c.logprobs.token_logprobs
                tops += c.logprobs.top_logprobs
    out["greedy_stream"] = {"text": text, "tokens": tokens, "token_logprobs": lps, "top_logprobs": tops}

    # A passage's log-likelihood, as evaluation harnesses read it: echo, logprobs, one token (and none).
    r = client.completions.create(model=model, prompt=req["passage"], max_tokens=1, temperature=0, echo=True,
                                  logprobs=0)
    out["passage"] = {"text": r.choices[0].text, "logprobs": completion_logprobs(r.choices[0].logprobs)}
    r = client.completions.create(model=model, prompt=req["passage"], max_tokens=0, echo=True, logprobs=1)
    out["passage_prompt_only"] = {"text": r.choices[0].text, "finish_reason": r.choices[0].finish_reason,
                                  "logprobs": completion_logprobs(r.choices[0].logprobs),
                                  "usage": r.usage.model_dump()}

    # Chat log-probabilities, buffered and streamed.
    messages = [{"role": "user", "content": req["chat"]}]
    r = client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0, logprobs=True,
                                       top_logprobs=3)
    out["chat"] = {"content": r.choices[0].message.content,
                   "logprobs": [e.model_dump() for e in r.choices[0].logprobs.content]}
    entries, content = [], ""
    for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=12, temperature=0,
                                                logprobs=True, top_logprobs=3, stream=True):
        for c in chunk.choices:
            content += c.delta.content or ""
            if c.logprobs is not None and c.logprobs.content:
                entries += [e.model_dump() for e in c.logprobs.content]
    out["chat_stream"] = {"content": content, "logprobs": entries}

    # n = 3 with a seed, twice (the same three), buffered and streamed; best_of.
    def three(stream):
        kwargs = dict(model=model, messages=messages, max_tokens=16, temperature=1.0, seed=11, n=3)
        if not stream:
            r = client.chat.completions.create(**kwargs)
            return {"texts": [c.message.content for c in sorted(r.choices, key=lambda c: c.index)],
                    "indexes": sorted(c.index for c in r.choices), "usage": r.usage.model_dump()}
        texts, finishes = ["", "", ""], [None, None, None]
        for chunk in client.chat.completions.create(stream=True, **kwargs):
            for c in chunk.choices:
                texts[c.index] += c.delta.content or ""
                finishes[c.index] = c.finish_reason or finishes[c.index]
        return {"texts": texts, "finish_reasons": finishes}
    out["n3"] = three(False)
    out["n3_again"] = three(False)
    out["n3_stream"] = three(True)
    r = client.completions.create(model=model, prompt="Once upon a time", max_tokens=8, temperature=1.0, seed=5,
                                  n=2, best_of=4, logprobs=0)
    out["best_of"] = {"texts": [c.text for c in r.choices],
                      "sums": [sum(c.logprobs.token_logprobs) for c in r.choices], "usage": r.usage.model_dump()}
    alone = []
    for i in range(4):
        a = client.completions.create(model=model, prompt="Once upon a time", max_tokens=8, temperature=1.0,
                                      seed=5 + i, logprobs=0)
        alone.append({"text": a.choices[0].text, "sum": sum(a.choices[0].logprobs.token_logprobs)})
    out["best_of_candidates"] = alone
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
