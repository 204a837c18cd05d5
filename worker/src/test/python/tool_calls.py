"""Tool calling through the official OpenAI Python SDK, printed as JSON for StructuredOutputsIT:

    python tool_calls.py BASE_URL MODEL
"""
import json
import sys

import openai

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 40},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}},
                   "required": ["city"]}}}
ASK = [{"role": "user", "content": "What is the weather like in Paris today?"}]


def calls(message):
    return [{"id": c.id, "type": c.type, "name": c.function.name, "arguments": c.function.arguments}
            for c in (message.tool_calls or [])]


def main(base_url, model):
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    chat = client.chat.completions.create
    out = {"named": [], "required_stream": []}
    named = {"type": "function", "function": {"name": "get_weather"}}
    for seed in range(10):
        r = chat(model=model, messages=ASK, tools=[WEATHER, TIME], tool_choice=named, temperature=0.9, seed=seed,
                 max_tokens=120)
        c = r.choices[0]
        out["named"].append({"finish_reason": c.finish_reason, "content": c.message.content, "calls": calls(c.message)})
    for seed in range(3):
        pieces, finish, ids = {}, None, {}
        for chunk in chat(model=model, messages=ASK, tools=[WEATHER, TIME], tool_choice="required", temperature=0.9,
                          seed=seed, max_tokens=200, stream=True, parallel_tool_calls=False):
            for c in chunk.choices:
                finish = c.finish_reason or finish
                for d in c.delta.tool_calls or []:
                    if d.id:
                        ids[d.index] = d.id
                    if d.function and d.function.name:
                        pieces.setdefault(d.index, {"name": d.function.name, "arguments": ""})
                    if d.function and d.function.arguments:
                        pieces[d.index]["arguments"] += d.function.arguments
        out["required_stream"].append({"finish_reason": finish, "calls": [dict(v, id=ids.get(k)) for k, v in
                                                                          sorted(pieces.items())]})
    r = chat(model=model, messages=ASK, tools=[WEATHER], tool_choice="auto", temperature=0, max_tokens=60)
    out["auto"] = {"finish_reason": r.choices[0].finish_reason, "content": r.choices[0].message.content,
                   "calls": calls(r.choices[0].message)}
    first = out["named"][0]["calls"][0]
    history = ASK + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": first["id"], "type": "function", "function": {
            "name": first["name"], "arguments": first["arguments"]}}]},
        {"role": "tool", "tool_call_id": first["id"], "content": "18 degrees and sunny"}]
    r = chat(model=model, messages=history, tools=[WEATHER], temperature=0, max_tokens=40)
    out["after_result"] = {"finish_reason": r.choices[0].finish_reason, "content": r.choices[0].message.content}
    try:
        client.completions.create(model=model, prompt="x", max_tokens=2, extra_body={"tools": [WEATHER]})
        out["completions_tools"] = {"status": 200}
    except openai.BadRequestError as e:
        out["completions_tools"] = {"status": 400, "param": e.body.get("param")}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
