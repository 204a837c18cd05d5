#!/usr/bin/env bash
# Builds the CUDA kernels two ways, called by the worker's Maven build (generate-resources):
#   1. with nvcc, for the device: PTX for sm_80 (any newer GPU's driver JIT-compiles it) and cubin
#      for sm_90 (H100/H200), into <classes>/dev/gantry/worker/cuda/ and so into the worker's jar,
#      with MODULES (the .cu files' names) and BUILD (the nvcc version) beside them.
#      A compile error fails the build. Without nvcc (a laptop) nothing is written and the CUDA
#      backend reports that it has no kernels. nvcc: $GANTRY_NVCC, else the pinned CUDA 13.0 set
#      that .ci/run installs from PyPI into ~/.cache/gantry/cuda-13.0, else nvcc on the PATH.
#   2. with g++ and emu/cuda_emu.h, for the tests: <target>/cuda-emu/libgantry_cuda_emu.so, whose
#      kernels (and the emulation's own test kernels, src/test/cuda) run on the CPU (the Java tests load it through FFM and check every kernel against
#      the reference backend).
# Usage: build.sh <classes dir> <target dir>
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
classes="$1"
target="$2"
kernels=("$src"/*.cu)

nvcc="${GANTRY_NVCC:-}"
if [ -z "$nvcc" ]; then
  cached="${GANTRY_CACHE:-$HOME/.cache/gantry}/cuda-13.0/nvidia/cu13/bin/nvcc"
  if [ -x "$cached" ]; then nvcc="$cached"; elif command -v nvcc >/dev/null; then nvcc="$(command -v nvcc)"; fi
fi
out="$classes/dev/gantry/worker/cuda"
if [ -n "$nvcc" ]; then
  mkdir -p "$out"
  version="$("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  flags=(-std=c++17 -O3 -lineinfo -Xptxas=-warn-spills --threads 0 -I"$src")
  for cu in "${kernels[@]}"; do
    name="$(basename "$cu" .cu)"
    if [ "$out/$name.sm_90.cubin" -nt "$cu" ] && [ "$out/$name.sm_90.cubin" -nt "$src/gantry.cuh" ] \
        && [ "$out/$name.sm_90.cubin" -nt "$src/quant.cuh" ]; then
      continue
    fi
    "$nvcc" "${flags[@]}" -ptx -arch=compute_80 -o "$out/$name.sm_80.ptx" "$cu"
    "$nvcc" "${flags[@]}" -cubin -arch=sm_90 -o "$out/$name.sm_90.cubin" "$cu"
  done
  printf 'nvcc %s\n' "$version" > "$out/BUILD"
  for cu in "${kernels[@]}"; do basename "$cu" .cu; done > "$out/MODULES"
  echo "cuda: ${#kernels[@]} kernel files compiled by nvcc $version (PTX sm_80, cubin sm_90) into $out"
else
  rm -rf "$out"
  echo "cuda: no nvcc (set GANTRY_NVCC, or install nvidia-cuda-nvcc 13.0 as .ci/run does): the worker is built without CUDA kernels"
fi

emu="$target/cuda-emu"
mkdir -p "$emu"
lib="$emu/libgantry_cuda_emu.so"
# Test-only kernels (the emulation's own tests) go into this library, never into the jar.
selftests=("$src"/../../test/cuda/*.cu)
newest="$(ls -t "${kernels[@]}" "${selftests[@]}" "$src"/*.cuh "$src"/emu/* | head -1)"
if [ ! -f "$lib" ] || [ "$newest" -nt "$lib" ]; then
  # -ffp-contract=off: the _rn intrinsics promise unfused float operations, as on the device.
  g++ -std=c++17 -O1 -g -fPIC -shared -ffp-contract=off -DGANTRY_EMU -Wall -Wno-unused-function \
    -I"$src" -x c++ "${kernels[@]}" "${selftests[@]}" "$src/emu/cuda_emu.cpp" -o "$lib"
  echo "cuda: kernels built for CPU execution into $lib"
fi
