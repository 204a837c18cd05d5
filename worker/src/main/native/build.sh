#!/usr/bin/env bash
# Builds the native CPU kernels (gantry_cpu.c, gantry_cpu_k.c) with the machine's C compiler, called by the
# worker's Maven build (generate-resources), into
# <classes>/dev/gantry/worker/native/linux-<arch>/libgantry_cpu.so and so into the worker's jar.
# Every SIMD variant is compiled into the one library (function target attributes); the library
# picks the best one the CPU runs when it loads. Without a C compiler nothing is written and the
# worker computes with the Vector API alone (as with GANTRY_NATIVE=off).
# Usage: build.sh <classes dir>
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
classes="$1"
cc="${CC:-gcc}"
if ! command -v "$cc" >/dev/null; then
  echo "native: no C compiler ($cc): the CPU backend uses the Vector API only"
  exit 0
fi
case "$(uname -m)" in
  x86_64) arch=x86_64 ;;
  aarch64) arch=aarch64 ;;
  *) echo "native: $(uname -m) is not a supported architecture: the CPU backend uses the Vector API only"; exit 0 ;;
esac
out="$classes/dev/gantry/worker/native/linux-$arch"
mkdir -p "$out"
lib="$out/libgantry_cpu.so"
if [ -f "$lib" ] && [ -z "$(find "$src" -newer "$lib" \( -name '*.c' -o -name '*.h' \))" ]; then
  exit 0
fi
# -ffp-contract=off: the K-quant kernels fix their float arithmetic (gantry_cpu_k.c, ACCUMULATE).
# No -march=native: the jar must run on any CPU of the architecture; the SIMD code paths carry
# their own target attributes and are chosen at run time.
"$cc" -O3 -std=c11 -fPIC -shared -Wall -Wextra -Werror -fno-math-errno -ffp-contract=off -o "$lib" "$src"/gantry_cpu.c "$src"/gantry_cpu_k.c "$src"/gantry_cpu_amx.c "$src"/gantry_cpu_packed.c "$src"/gantry_cpu_packed_k.c "$src"/gantry_cpu_quant.c -lm
echo "native: $("$cc" --version | head -1) built $lib"
