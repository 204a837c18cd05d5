"""Structured outputs through the official OpenAI Python SDK, and batch invariance, printed as JSON
for StructuredOutputsIT to check:

    python structured_outputs.py BASE_URL MODEL
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openai

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer"},
        "colour": {"enum": ["red", "green", "blue"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
    },
    "required": ["name", "age", "colour", "tags"],
    "additionalProperties": False,
}
PERSON = [{"role": "user", "content": "Describe a person as JSON with a name, an age, a favourite colour and tags."}]


def main(base_url, model):
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    chat = client.chat.completions.create
    out = {}
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}
    out["schema_seeds"] = [
        {"seed": s, "content": (r := chat(model=model, messages=PERSON, response_format=fmt, temperature=0.8, seed=s,
                                          max_tokens=160)).choices[0].message.content,
         "finish_reason": r.choices[0].finish_reason}
        for s in range(20)]
    text = ""
    for chunk in chat(model=model, messages=PERSON, response_format={"type": "json_object"}, temperature=0.7, seed=3,
                      max_tokens=160, stream=True):
        for c in chunk.choices:
            text += c.delta.content or ""
    out["json_object_stream"] = text
    ask = [{"role": "user", "content": "Is the sky blue?"}]
    out["choice"] = chat(model=model, messages=ask, temperature=0, max_tokens=10,
                         extra_body={"guided_choice": ["yes", "no", "maybe"]}).choices[0].message.content
    out["regex"] = client.completions.create(model=model, prompt="My phone number is", temperature=0.9, seed=1,
                                             max_tokens=20, extra_body={"guided_regex": r"\d{3}-\d{4}"}).choices[0].text
    out["grammar"] = chat(model=model, messages=ask, temperature=0, max_tokens=10,
                          extra_body={"guided_grammar": 'root ::= "Yes, " ("it is" | "it is not") "."'}
                          ).choices[0].message.content
    try:
        chat(model=model, messages=ask, max_tokens=5, response_format={"type": "json_schema", "json_schema": {
            "name": "x", "schema": {"type": "object", "patternProperties": {"a": {}}}}})
        out["bad_schema"] = {"status": 200}
    except openai.BadRequestError as e:
        out["bad_schema"] = {"status": 400, "param": e.body.get("param"), "message": e.body.get("message")}

    # Batch invariance: 16 greedy requests, constrained, with logprobs and plain, alone then all at once.
    def request(i):
        kwargs = dict(model=model, messages=[{"role": "user", "content": "Tell me about the number %d." % i}],
                      temperature=0, max_tokens=24)
        if i % 3 == 0:
            kwargs["response_format"] = fmt
        if i % 3 == 1:
            kwargs.update(logprobs=True, top_logprobs=2)
        r = chat(**kwargs)
        lp = r.choices[0].logprobs
        return {"content": r.choices[0].message.content,
                "logprobs": None if lp is None else [e.logprob for e in lp.content]}
    alone = [request(i) for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(request, range(16)))
    out["invariance"] = {"alone": alone, "together": together}

    # The grammar's cost: decode throughput of 1 and 16 concurrent greedy requests, free and constrained.
    def timed(n, constrained):
        def one(i):
            kwargs = dict(model=model, messages=PERSON + [{"role": "user", "content": "Person %d." % i}],
                          temperature=0, max_tokens=64, extra_body={"ignore_eos": True, "min_tokens": 64})
            if constrained:
                # A schema whose string cannot end within 64 tokens: both kinds decode all 64.
                kwargs["response_format"] = {"type": "json_schema", "json_schema": {"name": "long", "schema": {
                    "type": "object", "properties": {"text": {"type": "string", "minLength": 1000}},
                    "required": ["text"]}}}
            r = chat(**kwargs)
            return r.usage.completion_tokens
        start = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            tokens = sum(pool.map(one, range(n)))
        return {"requests": n, "tokens": tokens, "seconds": time.monotonic() - start}
    out["cost"] = [timed(1, False), timed(1, True), timed(16, False), timed(16, True)]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
