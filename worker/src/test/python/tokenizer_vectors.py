#!/usr/bin/env python3
"""Writes the tokenizer test vectors under worker/src/test/resources/tokenizer/ from llama.cpp.

The vectors are committed; rerun this script only to add inputs or to follow a new llama.cpp.
It needs the llama-cpp-python binding (the tests' venv: ~/.cache/gantry/llamacpp-venv) and the
models the tests use: ../shared/models beside the repository and SmolLM2-135M-Instruct Q4_1 in
~/.cache/gantry/models ($GANTRY_CACHE/models).

usage: tokenizer_vectors.py [OUT_DIR]

Files written (the .inp/.out layout of llama.cpp's own vocab tests):
  inputs.inp             the texts, separated by lines "__ggml_vocab_test__"
  <vocab>.out            one line of ids per input: tokenize(add_bos=False, special=False)
  <vocab>-special.out    the same with special=True (control tokens written in the text parse)
  facts.txt              per vocabulary: bos, eos, end-of-generation ids, control ids, add_bos,
                         and a SHA-256 over every token's piece (token_to_piece, special off/on)
Vocabularies: llama-spm and stories260k (SentencePiece), smollm2 (byte-level BPE, pre-tokenizer
"smollm"), and bpe-<pre>: the SmolLM2 vocabulary relabelled with another pre-tokenizer, so that
each pre-tokenizer's splitting is checked against llama.cpp on a real merge list.
"""
import hashlib
import os
import struct
import sys
import tempfile

import llama_cpp

SEP = "\n__ggml_vocab_test__\n"

INPUTS = [
    "",
    " ",
    "  ",
    "\n",
    "\n\n\n",
    "\t",
    "Hello world",
    " Hello world",
    "Hello World!",
    "Hello, world! How are you?",
    "Once upon a time",
    "hello\nworld",
    "  two leading spaces",
    "trailing spaces   ",
    "multiple   spaces   inside",
    "\t\ttabs\tand\nnew\n\nlines\n\n\n",
    "windows\r\nline\r\nendings\r\n",
    "                                                  fifty spaces",
    "12345",
    "3.14159 and 1,000,000 and 2024-01-31",
    "1234567890123",
    "don't",
    "I'm sure we'll see they've said you'd come, she's here",
    "DON'T I'M WE'LL THEY'VE",
    "'s 'S 'll 'LL 're 'Re ''",
    "emoji \U0001F999\U0001F680 and family \U0001F468\u200D\U0001F469\u200D\U0001F467 ok",
    "\U0001F999",
    "\u4e2d\u6587\u6d4b\u8bd5\uff1a\u4f60\u597d\uff0c\u4e16\u754c\uff01",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u00c7a va? \u00c9l\u00e8ve, na\u00efve caf\u00e9 r\u00e9sum\u00e9",
    "e\u0301 combining accent",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "<html><body class=\"x\">text</body></html>",
    "a\u00a0b non-breaking, ideographic\u3000space",
    "zero\u200bwidth and soft\u00adhyphen",
    "\u216b \u00bd \u00b2 \u0663 numbers",
    "\u2211\u222b\u221a\u03c0\u2248 \ufb01 ligature",
    "!!!???... ---- ****",
    "Hello 123abc ABC123 x=1+2; y_z",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ied 4 \u00bd months",
    "\u0001 control \u0007 chars \u007f",
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
    "text<|endoftext|>more text",
    "<|im_start|><|im_end|>",
    "<s> hello </s>",
    "<s>hello",
    "<unk> and <0x41>",
]


def gguf_kv(path):
    """The metadata of a GGUF file as (key, raw value bytes including the type) pairs."""
    with open(path, "rb") as f:
        data = f.read(64 << 20)
    if data[:4] != b"GGUF":
        raise SystemExit(f"{path} is not GGUF")
    _, _, n_kv = struct.unpack_from("<IQQ", data, 4)
    pos = 24
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def skip(p, t):
        if t in sizes:
            return p + sizes[t]
        if t == 8:
            (n,) = struct.unpack_from("<Q", data, p)
            return p + 8 + n
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, p)
            p += 12
            if et in sizes:
                return p + sizes[et] * n
            for _ in range(n):
                p = skip(p, et)
            return p
        raise SystemExit(f"unknown GGUF type {t}")

    out = []
    for _ in range(n_kv):
        (klen,) = struct.unpack_from("<Q", data, pos)
        key = data[pos + 8:pos + 8 + klen].decode()
        pos += 8 + klen
        (t,) = struct.unpack_from("<I", data, pos)
        end = skip(pos + 4, t)
        out.append((key, data[pos:end]))
        pos = end
    return out


def write_vocab_gguf(kvs, path, overrides):
    """Writes a vocab-only GGUF (no tensors) with the given metadata, string values replaced."""
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)))
        for key, raw in kvs:
            if key in overrides:
                v = overrides[key].encode()
                raw = struct.pack("<IQ", 8, len(v)) + v
            k = key.encode()
            f.write(struct.pack("<Q", len(k)) + k + raw)


def facts(name, llm):
    vocab = llm._model.vocab
    n = llama_cpp.llama_vocab_n_tokens(vocab)
    digests = []
    for special in (False, True):
        h = hashlib.sha256()
        buf = (llama_cpp.ctypes.c_char * 4096)()
        for i in range(n):
            k = llama_cpp.llama_token_to_piece(vocab, i, buf, len(buf), 0, special)
            h.update(struct.pack("<I", k) + bytes(buf[:k]))
        digests.append(h.hexdigest())
    ids = lambda pred: ",".join(str(i) for i in range(n) if pred(vocab, i)) or "-"
    return (f"{name} n_vocab={n} bos={llama_cpp.llama_vocab_bos(vocab)} eos={llama_cpp.llama_vocab_eos(vocab)}"
            f" add_bos={int(llama_cpp.llama_vocab_get_add_bos(vocab))}"
            f" eog={ids(llama_cpp.llama_vocab_is_eog)} control={ids(llama_cpp.llama_vocab_is_control)}"
            f" pieces={digests[0]} pieces_special={digests[1]}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "resources", "tokenizer")
    shared = os.path.join(here, "..", "..", "..", "..", "..", "shared", "models")
    cache = os.environ.get("GANTRY_CACHE") or os.path.expanduser("~/.cache/gantry")
    smollm2 = os.path.join(cache, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "inputs.inp"), "w", encoding="utf-8", newline="") as f:
        f.write("".join(text + SEP for text in INPUTS))

    tmp = tempfile.mkdtemp(prefix="gantry-vocab-")
    vocabs = [("llama-spm", os.path.join(shared, "vocab", "ggml-vocab-llama-spm.gguf"), True),
              ("stories260k", os.path.join(shared, "stories260K.gguf"), True),
              ("smollm2", smollm2, True)]
    smollm2_kv = gguf_kv(smollm2)
    for pre in ("default", "gpt-2", "llama-bpe", "qwen2"):
        path = os.path.join(tmp, f"bpe-{pre}.gguf")
        write_vocab_gguf(smollm2_kv, path, {"tokenizer.ggml.pre": pre})
        vocabs.append((f"bpe-{pre}", path, False))

    lines = [f"# llama-cpp-python {llama_cpp.__version__}"]
    for name, path, with_special in vocabs:
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        for special in (False, True) if with_special else (False,):
            suffix = "-special" if special else ""
            with open(os.path.join(out_dir, f"{name}{suffix}.out"), "w", encoding="utf-8") as f:
                for text in INPUTS:
                    ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=special)
                    f.write("".join(f" {i}" for i in ids) + "\n")
        lines.append(facts(name, llm))
        del llm
    with open(os.path.join(out_dir, "facts.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
