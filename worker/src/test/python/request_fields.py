"""Walks every request field of the official OpenAI Python SDK's chat and completions schemas
against a server, with a value that asks for something, and prints what became of each as JSON:
{"chat": {field: {"status": 200 | 400 | ..., "param": ..., "message": ...}}, "completions": ...,
"missing": [fields of the schema this script has no sample value for]}.

The field lists come from the installed SDK (its TypedDicts), not from this script, so a newer SDK
with a new field shows up in "missing" until a value is added here. Used by OpenAiPythonSdkIT:

    python request_fields.py BASE_URL MODEL
"""
import json
import sys
import typing

import openai
from openai.types import completion_create_params as completions_params
from openai.types.chat import completion_create_params as chat_params

FUNCTION = {"name": "f", "parameters": {"type": "object", "properties": {}}}

# A value for each field that asks for something beyond the server's default behaviour.
CHAT_VALUES = {
    "audio": {"voice": "alloy", "format": "wav"},
    "frequency_penalty": 0.5,
    "function_call": "auto",
    "functions": [FUNCTION],
    "logit_bias": {"1": -1},
    "logprobs": True,
    "max_completion_tokens": 3,
    "max_tokens": 3,
    "metadata": {"k": "v"},
    "modalities": ["text", "audio"],
    "moderation": {"model": "omni-moderation-latest"},
    "n": 2,
    "parallel_tool_calls": False,
    "prediction": {"type": "content", "content": "x"},
    "presence_penalty": 0.5,
    "prompt_cache_key": "k",
    "prompt_cache_options": {"mode": "explicit", "ttl": "30m"},
    "prompt_cache_retention": "24h",
    "reasoning_effort": "low",
    "response_format": {"type": "json_object"},
    "safety_identifier": "u-1",
    "seed": 7,
    "service_tier": "flex",
    "stop": ["\n"],
    "store": True,
    "stream_options": {"include_usage": True},
    "temperature": 0.5,
    "tool_choice": "required",
    "tools": [{"type": "function", "function": FUNCTION}],
    "top_logprobs": 2,
    "top_p": 0.5,
    "user": "u-1",
    "verbosity": "low",
    "web_search_options": {},
}
COMPLETION_VALUES = {
    "best_of": 2,
    "echo": True,
    "frequency_penalty": 0.5,
    "logit_bias": {"1": -1},
    "logprobs": 1,
    "max_tokens": 3,
    "n": 2,
    "presence_penalty": 0.5,
    "seed": 7,
    "stop": ["\n"],
    "stream_options": {"include_usage": True},
    "suffix": "The end.",
    "temperature": 0.5,
    "top_p": 0.5,
    "user": "u-1",
}
# Sent with every request of the endpoint (the walk checks them through these requests).
BASE = {"chat": {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
        "completions": {"prompt": "Once upon a time", "max_tokens": 2}}


def schema_fields(module):
    """Every field of the endpoint's create() parameters, streamed or not, as the SDK declares them."""
    fields = set()
    for cls in (module.CompletionCreateParamsNonStreaming, module.CompletionCreateParamsStreaming):
        fields.update(typing.get_type_hints(cls).keys())
    return sorted(fields)


def call(client, endpoint, model, field, value):
    kwargs = dict(BASE[endpoint], model=model)
    kwargs[field] = value
    if field == "stream_options":
        kwargs["stream"] = True
    create = client.chat.completions.create if endpoint == "chat" else client.completions.create
    try:
        result = create(**kwargs)
        if kwargs.get("stream"):
            for _ in result:  # read the whole stream: an error event must not pass for a 200
                pass
        return {"status": 200}
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        error = body.get("error", body) if isinstance(body, dict) else {}
        return {"status": e.status_code, "param": error.get("param"), "message": error.get("message")}


def main(base_url, model):
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)
    out = {"sdk_version": openai.__version__, "missing": []}
    for endpoint, module, values in (("chat", chat_params, CHAT_VALUES),
                                     ("completions", completions_params, COMPLETION_VALUES)):
        results = {}
        for field in schema_fields(module):
            if field in ("model",) or field in BASE[endpoint]:
                results[field] = call(client, endpoint, model, "user", "base")  # the base request alone
                continue
            if field == "stream":
                results[field] = call(client, endpoint, model, "stream", True)
                continue
            if field not in values:
                out["missing"].append(endpoint + "." + field)
                continue
            results[field] = call(client, endpoint, model, field, values[field])
        out[endpoint] = results
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
