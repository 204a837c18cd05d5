#!/usr/bin/env python3
"""The side-by-side peer of scripts/gpu-check.sh: a Llama-shaped decoder in plain PyTorch (eager,
fp16 or bf16 weights, F.scaled_dot_product_attention, a preallocated KV cache) with random
weights of a named shape, timed as `gantry bench-model` times Gantry: prefill of one prompt, then
decode steps at each batch size. Also measures the GPU's copy bandwidth (the roofline's HBM figure).
Prints one JSON object."""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

SHAPES = {  # dim, layers, heads, kv heads, ffn, vocab (the models' config.json; gantry's ModelShape)
    "smollm2-135m": (576, 30, 9, 3, 1536, 49152),
    "llama-3.2-1b": (2048, 16, 32, 8, 8192, 128256),
    "llama-3.1-8b": (4096, 32, 32, 8, 14336, 128256),
}


def copy_bandwidth(gib=4):
    """Bytes read plus bytes written per second by a device-to-device copy of `gib` GiB."""
    n = gib << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    b.copy_(a)
    torch.cuda.synchronize()
    reps = 10
    start = time.perf_counter()
    for _ in range(reps):
        b.copy_(a)
    torch.cuda.synchronize()
    secs = (time.perf_counter() - start) / reps
    del a, b
    return 2 * n / secs


class Model:
    def __init__(self, shape, dtype, max_tokens):
        dim, layers, heads, kv_heads, ffn, vocab = SHAPES[shape]
        self.dim, self.layers, self.heads, self.kv_heads = dim, layers, heads, kv_heads
        self.head_dim = dim // heads
        g = torch.Generator(device="cuda").manual_seed(1)

        def w(*s):
            return (torch.randn(*s, device="cuda", generator=g, dtype=torch.float32) * 0.02).to(dtype)

        kv = kv_heads * self.head_dim
        self.embed = w(vocab, dim)
        self.blocks = [dict(qkv=w(dim + 2 * kv, dim), o=w(dim, dim), gate_up=w(2 * ffn, dim), down=w(dim, ffn),
                            n1=torch.ones(dim, device="cuda", dtype=dtype), n2=torch.ones(dim, device="cuda", dtype=dtype))
                       for _ in range(layers)]
        self.norm = torch.ones(dim, device="cuda", dtype=dtype)
        self.head = w(vocab, dim)
        self.k = torch.zeros(layers, max_tokens, kv_heads, self.head_dim, device="cuda", dtype=dtype)
        self.v = torch.zeros_like(self.k)
        self.weight_bytes = sum(t.numel() * t.element_size() for b in self.blocks for t in b.values()) \
            + self.head.numel() * self.head.element_size()
        inv = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2, device="cuda").float() / self.head_dim))
        self.inv_freq = inv

    def rope(self, x, pos):  # x: [t, h, d], pos: [t]
        ang = pos[:, None].float() * self.inv_freq[None, :]
        cos, sin = ang.cos()[:, None, :].to(x.dtype), ang.sin()[:, None, :].to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)

    @torch.inference_mode()
    def forward(self, tokens, seq_slots, pos, decode):
        """tokens, pos: [t]; seq_slots: the cache rows of each sequence ([b][ctx]) for decode, or one prompt."""
        x = self.embed[tokens]
        kv = self.kv_heads * self.head_dim
        for i, b in enumerate(self.blocks):
            h = F.rms_norm(x, (self.dim,), b["n1"], 1e-5)
            q, k, v = (h @ b["qkv"].T).split([self.dim, kv, kv], dim=-1)
            q = self.rope(q.view(-1, self.heads, self.head_dim), pos)
            k = self.rope(k.view(-1, self.kv_heads, self.head_dim), pos)
            self.k[i, pos] = k
            self.v[i, pos] = v.view(-1, self.kv_heads, self.head_dim)
            if decode:  # one token per sequence, each sequence's context in its own rows of the cache
                kk = self.k[i][seq_slots].transpose(1, 2)  # [b, kvh, ctx, d]
                vv = self.v[i][seq_slots].transpose(1, 2)
                a = F.scaled_dot_product_attention(q[:, :, None, :], kk, vv, enable_gqa=True)[:, :, 0, :]
            else:
                a = F.scaled_dot_product_attention(q.transpose(0, 1)[None], self.k[i, pos].transpose(0, 1)[None],
                                                   self.v[i, pos].transpose(0, 1)[None], is_causal=True,
                                                   enable_gqa=True)[0].transpose(0, 1)
            x = x + a.reshape(-1, self.dim) @ b["o"].T
            h = F.rms_norm(x, (self.dim,), b["n2"], 1e-5)
            gate, up = (h @ b["gate_up"].T).chunk(2, dim=-1)
            x = x + (F.silu(gate) * up) @ b["down"].T
        x = F.rms_norm(x if not decode else x, (self.dim,), self.norm, 1e-5)
        return (x[-1:] if not decode else x) @ self.head.T


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--shape", required=True, choices=sorted(SHAPES))
    p.add_argument("--dtype", default="f16", choices=["f16", "bf16"])
    p.add_argument("--prompt-tokens", type=int, default=512)
    p.add_argument("--gen-tokens", type=int, default=32)
    p.add_argument("--batch", default="1,16,64,256")
    a = p.parse_args()
    dtype = torch.float16 if a.dtype == "f16" else torch.bfloat16
    batches = [int(b) for b in a.batch.split(",")]
    ctx = a.prompt_tokens + a.gen_tokens
    m = Model(a.shape, dtype, max(batches) * ctx)
    out = {"peer": "pytorch " + torch.__version__, "shape": a.shape, "dtype": a.dtype,
           "weight_bytes_per_token": m.weight_bytes, "copy_bandwidth_gbps": round(copy_bandwidth() / 1e9, 1)}

    prompt = torch.randint(0, 32000, (a.prompt_tokens,), device="cuda")
    pos = torch.arange(a.prompt_tokens, device="cuda")
    m.forward(prompt, None, pos, False)
    torch.cuda.synchronize()
    start = time.perf_counter()
    m.forward(prompt, None, pos, False)
    torch.cuda.synchronize()
    out["prefill_tps"] = round(a.prompt_tokens / (time.perf_counter() - start), 1)

    decode = {}
    for b in batches:
        # b sequences, each with a prompt's worth of context already in its own rows.
        base = torch.arange(b, device="cuda") * ctx
        steps = a.gen_tokens
        tok = torch.randint(0, 32000, (b,), device="cuda")
        times = []
        for s in range(steps):
            length = a.prompt_tokens + s + 1
            slots = base[:, None] + torch.arange(length, device="cuda")[None, :]
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            logits = m.forward(tok, slots, base + length - 1, True)
            tok = logits.argmax(-1)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        per_step = sum(times[2:]) / max(1, len(times) - 2)  # the first steps warm the allocator
        decode[str(b)] = round(b / per_step, 1)
    out["decode_tps"] = decode
    print(json.dumps(out))


if __name__ == "__main__":
    main()
