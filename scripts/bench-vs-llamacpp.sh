#!/usr/bin/env bash
# Gantry vs llama.cpp on the same GGUF files, the same threads, in one run.
#
#   scripts/bench-vs-llamacpp.sh [--shape llama-3.2-1b] [--types q8_0,q4_0,q4_k_m] [--threads 2]
#                                [--batch 1,4,16] [--prompt-tokens 128] [--gen-tokens 128]
#                                [--repetitions 1] [--activations auto|f32|q8] [--quiet-wait 1200]
#                                [--rounds 1] [--scaling] [--build-only]
#   Raw outputs of every tool and summary.json go to $BENCH_DIR (default: <cache>/bench-results/SHAPE-TIME);
#   BENCH_JSON=file.json writes the summary there instead.
#
# The peer is llama.cpp as vendored in the PyPI sdist of llama-cpp-python 0.3.16, the same
# sources the parity tests build, so "llama.cpp" means one fixed version. Its llama-bench and
# llama-batched-bench are built once (-DGGML_NATIVE=ON: tuned to this CPU, as a user would build
# it) and cached with the synthesized models outside the repository, under
# ${GANTRY_CACHE:-~/.cache/gantry} (llama-bench/, models/synth/). Models are random-weight GGUFs
# of the real shape written by `gantry synth`: speed does not depend on weight values, and both
# programs read the same file. Both keep the KV cache in f16: llama.cpp's default, and Gantry's
# given as --kv-cache-dtype f16 (its `auto` is f32; runs before 2026-12-07 had Gantry's in f32,
# those of that day at 7af99f6 in f16 through `auto`).
#
# Rows: prefill (pp: the prompt in one batch) from llama-bench; decode at batch 1 from llama-bench
# (tg: from an empty context); decode at batch B from llama-batched-bench (B sequences behind one
# shared prompt decoding together: aggregate tokens/s of its generation phase, S_TG), which is
# what `gantry bench-model` measures for every B. llama-bench itself has no batched decode.
# Timed runs wait for a quiet machine (1-minute load average < 1.0) up to --quiet-wait seconds
# (120 s once a wait has run out: the machine is busy anyway), and the table shows the load each
# run started under. --scaling also runs both on 1 thread (prefill, decode B=1) and prints the
# speed-up from 1 to --threads threads of each.
# --rounds N runs every measurement N times, Gantry and llama.cpp taking turns (Gantry, llama-bench,
# batched-bench, Gantry, ...), and compares the best of each program's N figures, printing the
# range beside it: on a shared (virtual) machine, neighbours' work slowed runs here to as little as
# half their speed for minutes at a time, so one run each can compare a slowed run with an unslowed one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GANTRY_CACHE:-$HOME/.cache/gantry}"
peer_pkg="llama-cpp-python==0.3.16"
peer_dir="$cache/llama-bench"

shape=llama-3.2-1b types=q8_0,q4_0,q4_k_m threads=2 batch=1,4,16 pp=128 tg=128 reps=1 activations=auto
quiet_wait=1200 build_only=0 scaling=0 rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape="$2"; shift 2 ;;
    --types) types="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --prompt-tokens) pp="$2"; shift 2 ;;
    --gen-tokens) tg="$2"; shift 2 ;;
    --repetitions) reps="$2"; shift 2 ;;
    --activations) activations="$2"; shift 2 ;;
    --quiet-wait) quiet_wait="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --scaling) scaling=1; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "bench-vs-llamacpp: $*" >&2; }

# llama.cpp's sources from the sdist (also the source of the vocab GGUFs), then its two bench tools.
build_peer() {
  local src="$peer_dir/src/llama_cpp_python-0.3.16/vendor/llama.cpp"
  if [ -x "$peer_dir/bin/llama-bench" ] && [ -x "$peer_dir/bin/llama-batched-bench" ]; then
    echo "$src"; return
  fi
  mkdir -p "$peer_dir/src" "$peer_dir/bin"
  if [ ! -d "$src" ]; then
    log "downloading the $peer_pkg sdist"
    ${PYTHON:-python3} -m pip download -q "$peer_pkg" --no-deps --no-binary :all: -d "$peer_dir/src" >&2
    tar -xzf "$peer_dir/src/llama_cpp_python-0.3.16.tar.gz" -C "$peer_dir/src"
  fi
  log "building llama-bench and llama-batched-bench (GGML_NATIVE=ON; several minutes on 2 cores)"
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$src" -B "$peer_dir/build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
  cmake --build "$peer_dir/build" --target llama-bench llama-batched-bench -j "$(nproc)" >&2
  cp "$peer_dir/build/bin/llama-bench" "$peer_dir/build/bin/llama-batched-bench" "$peer_dir/bin/"
  echo "$src"
}

llama_src="$(build_peer)"
[ "$build_only" = 1 ] && { log "built: $peer_dir/bin"; exit 0; }

# The vocabulary GGUF of each shape's tokenizer family: llama.cpp ships those of Llama 3 and Qwen2
# with its sources; SmolLM2's is the real SmolLM2 file the tests fetch (TestModels.smolLm2()).
vocab_for() {
  case "$1" in
    llama-3.*) echo "$llama_src/models/ggml-vocab-llama-bpe.gguf" ;;
    qwen2.5-*) echo "$llama_src/models/ggml-vocab-qwen2.gguf" ;;
    smollm2-*) echo "$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
    *) echo "no vocabulary known for shape $1" >&2; return 1 ;;
  esac
}

# Waits for the 1-minute load average to drop below 1.0: a timed run on a busy machine measures
# the other work as much as ours. Leaves the load it starts under in $load.
wait_quiet() {
  local waited=0
  while :; do
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if awk -v l="$load" 'BEGIN { exit !(l < 1.0) }'; then return; fi
    if [ "$waited" -ge "$quiet_wait" ]; then
      log "machine still busy after ${waited}s (load $load): measuring anyway; the table shows the load"
      quiet_wait=120
      return
    fi
    [ $((waited % 60)) -eq 0 ] && log "waiting for a quiet machine (1-minute load $load)"
    sleep 10; waited=$((waited + 10))
  done
}

models="$cache/models/synth"
mkdir -p "$models"
# Every tool's own output stays here, to check a figure or a failure afterwards.
results="${BENCH_DIR:-$cache/bench-results/$shape-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$results"
log "raw outputs in $results"
max_batch="$(echo "$batch" | tr ',' '\n' | sort -n | tail -1)"
ctx=$((pp + max_batch * tg + 16))

# timed NAME COMMAND...: waits for quiet, runs COMMAND with stdout to NAME.out and stderr to
# NAME.err, and records the 1-minute load before and after in NAME.load ("before after"; a run of
# ours on N threads adds about N to the load by its end, so more than that means other work ran).
timed() {
  local name="$1"; shift
  wait_quiet
  local before="$load"
  log "$name (load $before)"
  "$@" > "$results/$name.out" 2> "$results/$name.err" || log "$name failed (exit $?): see $results/$name.err"
  echo "$before $(cut -d' ' -f1 /proc/loadavg)" > "$results/$name.load"
}

for type in ${types//,/ }; do
  model="$models/$shape-$type.gguf"
  if [ ! -f "$model" ]; then
    "$root/gantry" synth --shape "$shape" --type "$type" --vocab "$(vocab_for "$shape")" --out "$model" --seed 1
  fi
  for round in $(seq 1 "$rounds"); do
    timed "$type.gantry.$round" "$root/gantry" bench-model --model "$model" --threads "$threads" --batch "$batch" \
      --prompt-tokens "$pp" --gen-tokens "$tg" --repetitions "$reps" --activations "$activations" --kv-cache-dtype f16 --json
    timed "$type.llama-bench.$round" "$peer_dir/bin/llama-bench" -m "$model" -t "$threads" -p "$pp" -n "$tg" -r "$reps" -o json
    # -kvu: one KV pool for all sequences, holding the shared prompt once, as Gantry's paged cache
    # does (without it each sequence gets a fixed 1/B of the context and B=16 does not fit).
    timed "$type.batched.$round" "$peer_dir/bin/llama-batched-bench" -m "$model" -t "$threads" -c "$ctx" -npp "$pp" \
      -ntg "$tg" -npl "$batch" -pps -kvu --output-format jsonl
  done
  if [ "$scaling" = 1 ] && [ "$threads" -gt 1 ]; then  # the same figures on 1 thread: the speed-up from 1 to N
    timed "$type.gantry-t1" "$root/gantry" bench-model --model "$model" --threads 1 --batch 1 \
      --prompt-tokens "$pp" --gen-tokens "$tg" --repetitions "$reps" --activations "$activations" --kv-cache-dtype f16 --json \
      --bandwidth-mb 0 --no-flops-test
    timed "$type.llama-bench-t1" "$peer_dir/bin/llama-bench" -m "$model" -t 1 -p "$pp" -n "$tg" -r "$reps" -o json
  fi
done

# The table: one row per figure, Gantry / llama.cpp.
python3 - "$results" "$shape" "$types" "$threads" "$pp" "$tg" "$rounds" <<'PY'
import json, sys, os
res, shape, types, threads, pp, tg, rounds = sys.argv[1:]
rounds = int(rounds)
def load(p):
    try: return "→".join(open(os.path.join(res, p)).read().split())
    except OSError: return "?"
def read_json(p):
    try: return json.load(open(os.path.join(res, p)))
    except (OSError, ValueError): return None
def read_jsonl(p):
    try: return [json.loads(l) for l in open(os.path.join(res, p)) if l.startswith('{')]
    except OSError: return []
def best(values):
    """The best (largest) of a figure's rounds with the round it came from, and the range as text."""
    got = [(v, k) for k, v in enumerate(values) if v]
    if not got: return None, None, ""
    top = max(got)
    spread = f" ({min(got)[0]:.2f}–{top[0]:.2f})" if len(got) > 1 else ""
    return top[0], top[1], spread
n = f"best of {rounds} rounds each, taking turns; range in brackets; " if rounds > 1 else ""
print(f"\n{shape}, {threads} threads; prompt {pp} tokens, decode {tg} tokens; {n}[1-minute load average at start→end of the run]\n")
print(f"| type | figure | Gantry tok/s | llama.cpp tok/s | Gantry/llama.cpp |")
print(f"|---|---|---:|---:|---:|")
summary = {}
for t in types.split(','):
    r = range(1, rounds + 1)
    gs = [read_json(f"{t}.gantry.{k}.out") or {"decode_tps": {}} for k in r]
    lbs = [read_json(f"{t}.llama-bench.{k}.out") or [] for k in r]
    bbs = [read_jsonl(f"{t}.batched.{k}.out") for k in r]
    lg = [load(f"{t}.gantry.{k}.load") for k in r]
    ll = [load(f"{t}.llama-bench.{k}.load") for k in r]
    lbt = [load(f"{t}.batched.{k}.load") for k in r]
    def lb_ts(runs, prompt):
        return [next((x["avg_ts"] for x in lb if (x["n_prompt"] > 0) == prompt and (x["n_gen"] > 0) != prompt), None) for lb in runs]
    def bb_ts(b):
        return [next((x["speed_tg"] for x in bb if str(x["pl"]) == b), None) for bb in bbs]
    rows = [(f"prefill pp{pp} (llama-bench)", [g.get("prefill_tps") for g in gs], lb_ts(lbs, True), ll),
            (f"decode B=1 (llama-bench tg{tg}, from empty context)", [g["decode_tps"].get("1") for g in gs], lb_ts(lbs, False), ll)]
    for b in sorted({str(x["pl"]) for bb in bbs for x in bb}, key=int):
        rows.append((f"decode B={b} (batched-bench S_TG, after {pp}-token shared prompt)", [g["decode_tps"].get(b) for g in gs], bb_ts(b), lbt))
    figures = {}
    for name, ours_all, theirs_all, lpeer in rows:
        ours, ko, so = best(ours_all)
        theirs, kt, st = best(theirs_all)
        ratio = f"{ours / theirs:.2f}x" if ours and theirs else "-"
        o = f"{ours:.2f}{so} [{lg[ko]}]" if ours else "-"
        th = f"{theirs:.2f}{st} [{lpeer[kt]}]" if theirs else "-"
        print(f"| {t} | {name} | {o} | {th} | {ratio} |")
        figures[name] = {"gantry": ours, "llama_cpp": theirs, "gantry_rounds": ours_all, "llama_cpp_rounds": theirs_all}
    # Gantry's own figures: the best round of each
    decode = {}
    for g in gs:
        for b, v in g["decode_tps"].items():
            decode[b] = max(decode.get(b, 0), v or 0)
    if "1" in decode:
        top = max(int(b) for b in decode)
        if top > 1:
            print(f"| {t} | Gantry decode B={top} / Gantry decode B=1 | {decode[str(top)] / decode['1']:.2f}x | | |")
    g0 = next((g for g in gs if g.get("weight_bytes_per_token")), {})  # the model's fixed figures
    bw = max((x.get("memory_bandwidth_gbps") or 0 for x in gs), default=0) or None
    wb = g0.get("weight_bytes_per_token")
    gpp, lpp = figures[rows[0][0]]["gantry"], figures[rows[0][0]]["llama_cpp"]
    ltg = figures[rows[1][0]]["llama_cpp"]
    # decode B=1 reading every weight byte once a token, over the fastest copy any round measured
    share = f"{wb * decode['1'] / 1e9 / bw:.3f}" if bw and wb and decode.get("1") else "-"
    peer_share = f"{wb * ltg / 1e9 / bw:.3f}" if bw and wb and ltg else "-"
    rss = max((x.get("peak_rss_mb") or 0 for x in gs), default=0)
    heap = max((x.get("peak_heap_mb") or 0 for x in gs), default=0)
    print(f"| {t} | memory read bandwidth {bw} GB/s; decode B=1 reads weights at {share} of it (llama.cpp: {peer_share}); "
          f"peak RSS {rss} MB, heap {heap} MB | | | |")
    peak = g0.get("arithmetic_peak_gflops")
    if peak:
        ds = g0.get("decode_arithmetic_share", {})
        print(f"| {t} | float FMA peak {peak} GFLOP/s ({threads} threads); share of it in matrix products: prefill "
              f"{g0.get('prefill_arithmetic_share')}, " + ", ".join(f"decode B={b} {v}" for b, v in ds.items()) + " | | | |")
    g1, lb1 = read_json(f"{t}.gantry-t1.out"), read_json(f"{t}.llama-bench-t1.out")
    if g1 and lb1:
        def up(n, one): return f"{n / one:.2f}x" if n and one else "-"
        lpp1, ltg1 = lb_ts([lb1], True)[0], lb_ts([lb1], False)[0]
        print(f"| {t} | speed-up from 1 to {threads} threads: prefill, decode B=1 (1 thread: Gantry {g1['prefill_tps']}, "
              f"{g1['decode_tps'].get('1')}; llama.cpp {lpp1 and round(lpp1, 2)}, {ltg1 and round(ltg1, 2)} tok/s) "
              f"| {up(gpp, g1['prefill_tps'])}, {up(decode.get('1'), g1['decode_tps'].get('1'))} "
              f"| {up(lpp, lpp1)}, {up(ltg, ltg1)} | |")
    summary[t] = {"rounds": rounds, "figures": figures, "memory_bandwidth_gbps": bw, "decode_1_bandwidth_share": share,
                  "llama_cpp_decode_1_bandwidth_share": peer_share, "gantry": gs, "gantry_1_thread": g1,
                  "llama_bench": lbs, "llama_bench_1_thread": lb1, "llama_batched_bench": bbs,
                  "load": {"gantry": lg, "llama_bench": ll, "batched": lbt}}
out = os.environ.get("BENCH_JSON") or os.path.join(res, "summary.json")
if out:
    json.dump(summary, open(out, "w"), indent=1)
    print(f"\nraw results: {out}")
PY
