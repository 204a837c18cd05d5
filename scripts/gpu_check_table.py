#!/usr/bin/env python3
"""Turns the JSON results of scripts/gpu-check.sh (gantry-<shape>-<type>.json from `gantry
bench-model --json`, pytorch-<shape>-f16.json from gpu_peer_pytorch.py) into one markdown table:
tok/s of prefill and of decode at each batch size, Gantry beside PyTorch, the ratio, and the share
of the HBM roofline at batch 1 (weight bytes per token x tokens/s / measured copy bandwidth)."""
import glob
import json
import os
import sys


def load(path):
    """The JSON object in the file, or None where the step failed (an empty or partial file)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main(out):
    peers = {}
    bandwidth = None
    for p in glob.glob(os.path.join(out, "pytorch-*.json")):
        r = load(p)
        if r is None:
            continue
        peers[r["shape"]] = r
        bandwidth = r.get("copy_bandwidth_gbps", bandwidth)
    rows = ["| model | weights | what | Gantry tok/s | PyTorch (f16, eager) tok/s | Gantry / PyTorch | HBM roofline share |",
            "|---|---|---|---:|---:|---:|---:|"]
    for p in sorted(glob.glob(os.path.join(out, "gantry-*.json"))):
        name = os.path.basename(p)[len("gantry-"):-len(".json")]
        shape, wtype = name.rsplit("-", 1)
        # gantry-<shape>-<type>+eager.json: the same run with --enforce-eager (no CUDA graphs).
        wtype = wtype.replace("+eager", " (--enforce-eager)")
        r = load(p)
        if r is None:
            rows.append(f"| {shape} | {wtype} | (failed: see bench-{shape}-{wtype}.log) | - | - | - | - |")
            continue
        peer = peers.get(shape, {})
        cells = [("prefill " + str(r["prompt_tokens"]), r.get("prefill_tps"), peer.get("prefill_tps"))]
        for b, tps in r.get("decode_tps", {}).items():
            cells.append(("decode batch " + b, tps, peer.get("decode_tps", {}).get(b)))
        for what, g, t in cells:
            ratio = f"{g / t:.2f}" if g and t else "-"
            share = "-"
            if what == "decode batch 1" and bandwidth and g:
                share = f"{r['weight_bytes_per_token'] * g / (bandwidth * 1e9):.0%}"
            rows.append(f"| {shape} | {wtype} | {what} | {g if g is not None else '-'} | {t if t is not None else '-'} "
                        f"| {ratio} | {share} |")
    text = "\n".join(rows) + "\n"
    if bandwidth:
        text += f"\nMeasured device-to-device copy bandwidth: {bandwidth} GB/s (read + write).\n"
    sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1])
