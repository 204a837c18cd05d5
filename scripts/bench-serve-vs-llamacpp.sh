#!/usr/bin/env bash
# Gantry's server beside llama.cpp's own server (llama-server with parallel slots) on the same GGUF
# and the same threads, one after the other, under the same `gantry bench serve` load.
#
#   scripts/bench-serve-vs-llamacpp.sh [--model GGUF] [--threads 2] [--concurrency 1,8,32]
#                                      [--num-requests 64] [--slots 32] [--out docs/bench-serve-vs-llama-server]
#                                      [--rounds 1] [--build-only]
#
# The peer is llama-server as vendored in the PyPI sdist of llama-cpp-python 0.3.16 (the sources
# scripts/bench-vs-llamacpp.sh builds llama-bench from), built once with GGML_NATIVE=ON into
# ${GANTRY_CACHE:-~/.cache/gantry}/llama-bench/bin. It runs with --parallel SLOTS (continuous
# batching over that many sequences) and a context of SLOTS * 512 tokens, so every slot holds a
# request. Both servers listen on loopback only; the load is bounded by --num-requests per level.
# Writes OUT-gantry.json, OUT-llama-server.json, OUT-runs.md (both runs' rows) and prints the table;
# the servers' logs go to $cache/bench-results/. --rounds N repeats both runs N times, the servers
# taking turns (Gantry, llama-server, Gantry, ...; OUT-gantry-rK.json and so on), and the table
# compares each level's best round of each server, with the range of its rounds beside it: on a
# shared machine a neighbour's work can slow one run to half its speed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${GANTRY_CACHE:-$HOME/.cache/gantry}"
peer_dir="$cache/llama-bench"
model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf" threads=2 conc=1,8,32 requests=64 slots=32
out="$root/docs/bench-serve-vs-llama-server" build_only=0 rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --concurrency) conc="$2"; shift 2 ;;
    --num-requests) requests="$2"; shift 2 ;;
    --slots) slots="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
log() { echo "bench-serve-vs-llamacpp: $*" >&2; }

if [ ! -x "$peer_dir/bin/llama-server" ]; then
  "$root/scripts/bench-vs-llamacpp.sh" --build-only >&2  # the sdist, and a configured build directory
  log "building llama-server (GGML_NATIVE=ON; a few minutes on 2 cores)"
  cmake -S "$peer_dir/src/llama_cpp_python-0.3.16/vendor/llama.cpp" -B "$peer_dir/build" -DLLAMA_BUILD_SERVER=ON >&2
  cmake --build "$peer_dir/build" --target llama-server -j "$(nproc)" >&2
  cp "$peer_dir/build/bin/llama-server" "$peer_dir/bin/"
fi
[ "$build_only" = 1 ] && { log "built: $peer_dir/bin/llama-server"; exit 0; }
[ -f "$model" ] || { log "no model at $model (the tests fetch SmolLM2; or pass --model)"; exit 1; }

name="$(basename "$model" .gguf)"
logs="$cache/bench-results"; mkdir -p "$logs"
bench=(--model "$name" --concurrency "$conc" --num-requests "$requests" --input-len 100 --output-len 64
       --no-calibrate --seed 1 --timeout 300s)
pid=""
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=""; }
trap stop EXIT
wait_up() {  # the server's /v1/models answers within 300 s
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$1/v1/models" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { log "server on port $1 exited"; return 1; }
    sleep 1
  done
  log "server on port $1 did not come up"; return 1
}

rm -f "$out-runs.md"
for round in $(seq 1 "$rounds"); do
  sfx=""; [ "$rounds" -gt 1 ] && sfx="-r$round"
  log "round $round of $rounds: gantry serve ($threads threads)"
  "$root/gantry" serve --model "$model" --served-model-name "$name" --host 127.0.0.1 --port 8041 --threads "$threads" \
    --max-model-len 2048 > "$logs/gantry-serve$sfx.log" 2>&1 & pid=$!
  wait_up 8041
  # A level with failed requests makes bench serve exit non-zero; the table below shows the failures.
  "$root/gantry" bench serve --url http://127.0.0.1:8041 "${bench[@]}" --label "gantry$sfx" --json "$out-gantry$sfx.json" \
    --markdown "$out-runs.md" || log "gantry's run had failures (exit $?)"
  stop

  log "round $round of $rounds: llama-server --parallel $slots ($threads threads)"
  "$peer_dir/bin/llama-server" -m "$model" --alias "$name" --host 127.0.0.1 --port 8042 -t "$threads" \
    --parallel "$slots" -c $((slots * 512)) > "$logs/llama-server$sfx.log" 2>&1 & pid=$!
  wait_up 8042
  "$root/gantry" bench serve --url http://127.0.0.1:8042 "${bench[@]}" --label "llama-server$sfx" \
    --json "$out-llama-server$sfx.json" --markdown "$out-runs.md" || log "llama-server's run had failures (exit $?)"
  stop
done

python3 - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def runs(server):
    files = [f"{out}-{server}.json"] if rounds == 1 else [f"{out}-{server}-r{k}.json" for k in range(1, rounds + 1)]
    return [{str(x["concurrency"]): x for x in json.load(open(p))["levels"]} for p in files]
g_runs, l_runs = runs("gantry"), runs("llama-server")
def best(rs, c):
    """The round with the most output tokens/s at level c, and the range over the rounds."""
    got = [r[c] for r in rs if c in r and r[c].get("output_throughput")]
    if not got: return {}, ""
    top = max(got, key=lambda x: x["output_throughput"])
    lo = min(x["output_throughput"] for x in got)
    return top, (f" ({lo:.1f}–{top['output_throughput']:.1f})" if len(got) > 1 else "")
if rounds > 1: print(f"best of {rounds} rounds each (range in brackets); TTFT and failures of that round\n")
print("| concurrency | Gantry output tok/s | llama-server output tok/s | Gantry / llama-server | TTFT p50 / p95 Gantry (ms) | TTFT p50 / p95 llama-server (ms) | failed (Gantry / llama-server) |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for c in g_runs[0]:
    (a, ra), (b, rb) = best(g_runs, c), best(l_runs, c)
    ga, gb = a.get("output_throughput"), b.get("output_throughput")
    ratio = f"{ga / gb:.2f}x" if ga and gb else "-"
    ttft = lambda x: f"{x['ttft_ms']['p50']:.0f} / {x['ttft_ms']['p95']:.0f}" if x.get("ttft_ms", {}).get("count") else "-"
    f = lambda v: f"{v:.1f}" if v else "-"
    fails = lambda rs: "+".join(str(r.get(c, {}).get("failed", "-")) for r in rs)
    print(f"| {c} | {f(ga)}{ra} | {f(gb)}{rb} | {ratio} | {ttft(a)} | {ttft(b)} | {fails(g_runs)} / {fails(l_runs)} |")
PY
