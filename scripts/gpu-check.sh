#!/usr/bin/env bash
# Every GPU check of the CUDA backend in one short run on a lent GPU machine (the device tool;
# DEVELOPERS.md says how GPUs are lent: 15 minutes of GPU time for all tries, so this aims at 8).
# That machine has CUDA 13 (driver 580), PyTorch and Python, and no Java: the bundle carries a
# jlink'd JDK 25, the worker's jars, its test classes and the small models, within 64 MiB.
#
#   scripts/gpu-check.sh bundle      here: builds the worker and packs .gpu-check/ (git-ignored)
#   scripts/gpu-check.sh run OUT     there: device run with command "scripts/gpu-check.sh run $OUT",
#                                    carry [".gpu-check"], timeout_s 570
#
# What run does (GPU_CHECK_SHAPES overrides the shapes of step 2, e.g. smollm2-135m for a dry run):
#   1. nvidia-smi; the kernel contract tests on the GPU against the reference backend
#      (CudaBackendDeviceIT: every kernel and weight type) and whole models against llama.cpp's
#      tokens and the CPU's logits (CudaDeviceParityIT), decode steps replayed as CUDA graphs
#      against the same launched one by one (CudaGraphsDeviceIT), through JUnit's console launcher.
#   2. gantry bench-model --device cuda on synthetic Llama 3.2 1B and Llama 3.1 8B (Q4_K and F16,
#      made there by gantry synth): prefill 512, decode at batch 1, 16, 64, 256; 1B Q4_K again
#      with --enforce-eager, for what the decode steps' CUDA graphs are worth.
#   3. The same shapes in PyTorch (scripts/gpu_peer_pytorch.py), the side-by-side peer.
#   4. gpu-check.md: the table (scripts/gpu_check_table.py), for docs/ and the README; it, the
#      test log and gpu-check-results.tar.gz (everything) land in OUT.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bundle="$root/.gpu-check"   # what travels: bundle.tar.xz (git-ignored)
unpacked=/tmp/gpu-check-bundle # where run unpacks it
# Modules the worker's CLI and the tests use (jdeps over the bundle's jars, kept by hand: jdeps
# cannot see reflection).
modules=java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,jdk.incubator.vector,jdk.unsupported,jdk.zipfs,jdk.crypto.ec

bundle() {
  set -e
  cd "$root"
  ./mvnw -q -B -pl worker -am package -DskipTests -Dgantry.image.skip=true
  local app=worker/target/quarkus-app
  [ -d worker/target/classes/dev/gantry/worker/cuda ] || { echo "gpu-check: the worker was built without nvcc: no kernels to check" >&2; exit 1; }
  local stage="$root/worker/target/gpu-check"
  rm -rf "$bundle" "$stage"
  mkdir -p "$bundle"
  local final_bundle="$bundle"
  bundle="$stage"
  mkdir -p "$bundle/lib" "$bundle/models/vocab"
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --strip-native-debug-symbols=objcopy="$(command -v objcopy)" --compress=zip-0 --output "$bundle/jdk"
  cp "$app"/app/*.jar "$bundle/lib/"
  # The worker's runtime jars, less the HTTP server's (Quarkus, Vert.x, Netty): the CLI's
  # bench-model, synth and the tests never load them.
  for j in "$app"/lib/main/*.jar; do
    case "$(basename "$j")" in
      io.quarkus.*|io.vertx.*|io.netty.*|io.smallrye.*|com.aayushatharva.*|io.micrometer.*|org.jboss.*|org.graalvm.*) ;;
      org.jcuda.jcuda-natives-*)
        # Only the driver API's library: the jar's PTX compiler, NVRTC and runtime libraries are
        # never loaded and would not fit.
        local tmp; tmp="$(mktemp -d)"
        (cd "$tmp" && unzip -q "$root/$j" 'lib/libJCudaDriver-*' 'META-INF/MANIFEST.MF' \
          && "$JAVA_HOME/bin/jar" cfm "$bundle/lib/$(basename "$j")" META-INF/MANIFEST.MF lib)
        rm -rf "$tmp" ;;
      *) cp "$j" "$bundle/lib/" ;;
    esac
  done
  (cd worker/target/test-classes && "$JAVA_HOME/bin/jar" cf "$bundle/lib/gantry-worker-tests.jar" dev)
  local m2="${MAVEN_REPO:-$HOME/.m2/repository}"
  ./mvnw -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 -DoutputDirectory="$bundle/lib"
  ./mvnw -q -B dependency:copy -Dartifact=org.assertj:assertj-core:3.27.3 -DoutputDirectory="$bundle/lib"
  shared="$root/../shared/models"
  cp "$shared/stories260K.gguf" "$bundle/models/"
  cp "$shared/vocab/ggml-vocab-llama-spm.gguf" "$bundle/models/vocab/"
  cp "$shared/README.md" "$bundle/models/"
  # xz of an uncompressed jlink image is about half the size of jlink's own zip: the JVM's
  # libjvm.so alone is 29 MiB, and 64 MiB is all that travels.
  tar cf - -C "$bundle" . | xz -T0 -6 > "$final_bundle/bundle.tar.xz"
  local size; size="$(du -sm "$final_bundle/bundle.tar.xz" | cut -f1)"
  echo "gpu-check: $final_bundle/bundle.tar.xz is $size MiB (with the working tree, 64 MiB travel)"
  [ "$size" -lt 56 ] || { echo "gpu-check: the bundle is too large to travel" >&2; exit 1; }
}

run() {
  # Results gather in a work folder; OUT gets the table, the test log and one archive of the rest
  # (the device tool returns at most 8 files).
  local final="$1"
  local out=/tmp/gpu-check-results
  rm -rf "$out"
  mkdir -p "$out" "$final"
  [ -f "$bundle/bundle.tar.xz" ] || { echo "gpu-check: no $bundle/bundle.tar.xz: run 'scripts/gpu-check.sh bundle' here first and carry .gpu-check" >&2; exit 1; }
  rm -rf "$unpacked"
  mkdir -p "$unpacked"
  xz -dc "$bundle/bundle.tar.xz" | tar xf - -C "$unpacked"
  bundle="$unpacked"
  local java="$bundle/jdk/bin/java"
  local cp="$bundle/lib/*"
  local flags=(--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m)
  local start=$SECONDS
  nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "gpu-check: no nvidia-smi" | tee -a "$out/nvidia-smi.txt"

  echo "== 1. kernel contract and model parity on the GPU"
  "$java" "${flags[@]}" -Dgantry.shared.models="$bundle/models" -jar "$bundle/lib/junit-platform-console-standalone-1.13.4.jar" \
    execute --class-path "$(ls "$bundle"/lib/*.jar | tr '\n' ':')" --disable-banner --details=summary \
    --select-class dev.gantry.worker.backend.cuda.CudaBackendDeviceIT \
    --select-class dev.gantry.worker.model.llama.CudaDeviceParityIT \
    --select-class dev.gantry.worker.backend.cuda.CudaGraphsDeviceIT \
    --reports-dir "$out/junit" 2>&1 | grep -v '^WARNING: Using incubator' | tee "$out/tests.log" | tail -40
  echo "   ($((SECONDS - start)) s so far)"

  echo "== 2. gantry bench-model --device cuda, 3. PyTorch beside it"
  local models=/tmp/gpu-check-models
  mkdir -p "$models"
  local gantry=("$java" "${flags[@]}" -cp "$cp" dev.gantry.worker.cli.GantryCli)
  for shape in ${GPU_CHECK_SHAPES:-llama-3.2-1b llama-3.1-8b}; do
    for type in q4_k f16; do
      local file="$models/$shape-$type.gguf"
      "${gantry[@]}" synth --shape "$shape" --type "$type" --vocab "$bundle/models/vocab/ggml-vocab-llama-spm.gguf" \
        --out "$file" > "$out/synth-$shape-$type.log" 2>&1 || { echo "   synth $shape $type failed"; tail -3 "$out/synth-$shape-$type.log"; continue; }
      timeout 120 "${gantry[@]}" bench-model --device cuda --model "$file" --prompt-tokens 512 --gen-tokens 16 \
        --batch 1,16,64,256 --bandwidth-mb 0 --no-flops-test --json > "$out/gantry-$shape-$type.json" 2> "$out/bench-$shape-$type.log" \
        || { echo "   bench-model $shape $type failed"; tail -5 "$out/bench-$shape-$type.log"; }
      if [ "$shape-$type" = llama-3.2-1b-q4_k ]; then # what the CUDA graphs of decode steps are worth
        timeout 120 "${gantry[@]}" bench-model --device cuda --enforce-eager --model "$file" --prompt-tokens 512 \
          --gen-tokens 16 --batch 1,16,64,256 --bandwidth-mb 0 --no-flops-test --json > "$out/gantry-$shape-$type+eager.json" \
          2> "$out/bench-$shape-$type+eager.log" || { echo "   bench-model $shape $type --enforce-eager failed"; }
      fi
      rm -f "$file"
      echo "   $shape $type done ($((SECONDS - start)) s so far)"
    done
    timeout 120 python3 "$root/scripts/gpu_peer_pytorch.py" --shape "$shape" --dtype f16 --prompt-tokens 512 \
      --gen-tokens 16 --batch 1,16,64,256 > "$out/pytorch-$shape-f16.json" 2> "$out/pytorch-$shape.log" \
      || { echo "   pytorch $shape failed"; tail -5 "$out/pytorch-$shape.log"; }
  done

  echo "== 4. the table"
  python3 "$root/scripts/gpu_check_table.py" "$out" | tee "$out/gpu-check.md"
  cp "$out/gpu-check.md" "$out/tests.log" "$final/"
  tar czf "$final/gpu-check-results.tar.gz" -C "$out" .
  echo "gpu-check: done in $((SECONDS - start)) s; results in $final"
}

case "${1:-}" in
  bundle) bundle ;;
  run) [ -n "${2:-}" ] || { echo "usage: scripts/gpu-check.sh run OUT" >&2; exit 2; }; run "$2" ;;
  *) echo "usage: scripts/gpu-check.sh bundle | run OUT   (see the comment at the top)" >&2; exit 2 ;;
esac
