"""/v1/embeddings through the official OpenAI Python SDK, printed as JSON for EmbeddingsIT:

    python embeddings.py BASE_URL MODEL TEXTS.json
"""
import json
import sys

import openai


def main(base_url, model, texts_path):
    with open(texts_path) as f:
        texts = json.load(f)
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    out = {}
    r = client.embeddings.create(model=model, input=texts, encoding_format="float")
    out["float"] = [d.embedding for d in sorted(r.data, key=lambda d: d.index)]
    out["usage"] = r.usage.model_dump()
    # The SDK's default asks for base64 and decodes it itself (numpy-free path: struct).
    r = client.embeddings.create(model=model, input=texts)
    out["base64"] = [d.embedding for d in sorted(r.data, key=lambda d: d.index)]
    r = client.embeddings.create(model=model, input=texts[0])
    out["single"] = r.data[0].embedding
    tokens = client.post("/../tokenize", body={"prompt": texts[0]}, cast_to=object)["tokens"]
    r = client.embeddings.create(model=model, input=tokens, encoding_format="float")
    out["tokens"] = r.data[0].embedding
    try:
        client.embeddings.create(model=model, input="")
        out["empty"] = {"status": 200}
    except openai.BadRequestError as e:
        out["empty"] = {"status": 400, "param": e.body.get("param"), "message": e.body.get("message")}
    try:
        client.embeddings.create(model=model, input="x", dimensions=7)
        out["dimensions"] = {"status": 200}
    except openai.BadRequestError as e:
        out["dimensions"] = {"status": 400, "param": e.body.get("param")}
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
