#!/usr/bin/env bash
# Builds the native CPU kernels (gantry_cpu*.c) with the machine's C compiler, called by the
# worker's Maven build (generate-resources), into
# <classes>/dev/gantry/worker/native/linux-<arch>/libgantry_cpu.so and so into the worker's jar
# (on x86-64 also linux-aarch64's, where the cross compiler is installed).
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
# build <compiler> <arch>: the library for linux-<arch>, unless it is newer than every source.
build() {
  local compiler="$1" target="$2"
  local out="$classes/dev/gantry/worker/native/linux-$target"
  local lib="$out/libgantry_cpu.so"
  mkdir -p "$out"
  if [ -f "$lib" ] && [ -z "$(find "$src" -newer "$lib" \( -name '*.c' -o -name '*.h' \))" ]; then
    return 0
  fi
  # -ffp-contract=off: the K-quant kernels fix their float arithmetic (gantry_cpu_k.c, ACCUMULATE).
  # No -march=native: the jar must run on any CPU of the architecture; the SIMD code paths carry
  # their own target attributes and are chosen at run time.
  "$compiler" -O3 -std=c11 -fPIC -shared -Wall -Wextra -Werror -fno-math-errno -ffp-contract=off -o "$lib" "$src"/gantry_cpu.c "$src"/gantry_cpu_k.c "$src"/gantry_cpu_amx.c "$src"/gantry_cpu_packed.c "$src"/gantry_cpu_packed_k.c "$src"/gantry_cpu_packed_q6k.c "$src"/gantry_cpu_quant.c "$src"/gantry_cpu_attn.c "$src"/gantry_cpu_attn_vec.c -lm
  echo "native: $("$compiler" --version | head -1) built $lib"
}
build "$cc" "$arch"
# On x86-64 with Debian's cross compiler (gcc-aarch64-linux-gnu), the jar carries the aarch64
# library too; NativeCrossArchIT runs its kernels under qemu-user.
cross="${CC_AARCH64:-aarch64-linux-gnu-gcc}"
if [ "$arch" = x86_64 ] && command -v "$cross" >/dev/null; then
  build "$cross" aarch64
fi
