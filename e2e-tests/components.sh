#!/usr/bin/env bash
# Builds what the e2e node runs besides Kubernetes itself, from package registries only, into a
# cache outside the repository (only a machine's first run pays for the builds):
#   bin/   coredns, traefik, helm, prometheus, prometheus-adapter, metrics-server,
#          kube-state-metrics (Go module proxy), pause (gcc), hub (images/hub)
#   images/*.tar  OCI archives of the node's own images, imported into containerd by cluster.sh:
#          pause (the sandbox), coredns, traefik, redis (Debian's redis-server), hub, and the
#          metrics path: prometheus, prometheus-adapter, metrics-server, kube-state-metrics
# Kubernetes (etcd, kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, kubectl)
# comes from .ci/kube-binaries.sh.
#
# Usage: e2e-tests/components.sh    -> progress on stderr; the cache folder as the last stdout line
# Env:   GANTRY_CACHE (default ~/.cache/gantry); Go's GOMODCACHE/GOCACHE/GOPROXY are honoured.
set -euo pipefail

COREDNS_VERSION=1.15.0
TRAEFIK_VERSION=3.6.12
HELM_VERSION=3.19.0
PAUSE_VERSION=3.10
HUB_VERSION=1
REDIS_TAG=7
ADAPTER_VERSION=0.12.0
METRICS_SERVER_VERSION=0.8.0
KSM_VERSION=2.19.1
# Prometheus 3.x is published as the Go module v0.3XX.Y for release 3.XX.Y. (Debian's package,
# 2.42, is built without Kubernetes service discovery.)
PROMETHEUS_MODULE_VERSION=0.316.0
PROMETHEUS_VERSION=3.16.0

here=$(cd "$(dirname "$0")" && pwd)
cache="${GANTRY_CACHE:-$HOME/.cache/gantry}/e2e"
bin="$cache/bin"; images="$cache/images"; build="$cache/build"
mkdir -p "$bin" "$images" "$build"

log() { echo "components: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v go >/dev/null || die "needs Go (1.26 or later: CoreDNS and Traefik require it) on PATH"
command -v gcc >/dev/null || die "needs gcc for the pause binary"
command -v python3 >/dev/null || die "needs python3 to write OCI archives"

exec 9>"$cache/.lock"
command -v flock >/dev/null && flock 9
export GOFLAGS="-mod=mod" CGO_ENABLED=0 GO111MODULE=on

# go_build NAME MODULE@VERSION PACKAGE LDFLAGS [REPLACE...]: builds PACKAGE from a scratch module
# that requires MODULE; the dependency's own replace directives do not apply from outside, so
# those it needs are passed in again.
go_build() {
  local name=$1 modver=$2 pkg=$3 ldflags=$4; shift 4
  local dir="$build/$name-${modver##*@}"
  mkdir -p "$dir"
  {
    echo "module gantry.local/e2e-$name"; echo; echo "go 1.26"; echo
    echo "require ${modver%@*} ${modver##*@}"
    for r in "$@"; do echo "replace $r"; done
  } > "$dir/go.mod"
  log "building $name ${modver##*@} (first run: minutes)"
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name.new" "$pkg") \
    || die "building $name failed (see the go output above)"
  mv "$bin/$name.new" "$bin/$name"
}

start=$SECONDS
# (Version checks read the whole output: grep -q under pipefail would fail on SIGPIPE.)
has_version() { local out; out=$("$@" 2>/dev/null) || return 1; [[ $out == *"$VERSION_WANTED"* ]]; }
VERSION_WANTED="CoreDNS-$COREDNS_VERSION"
if ! has_version "$bin/coredns" -version; then
  go_build coredns "github.com/coredns/coredns@v$COREDNS_VERSION" github.com/coredns/coredns ""
fi

VERSION_WANTED="v$TRAEFIK_VERSION"
if ! has_version "$bin/traefik" version; then
  tdir=$(cd "$build" && go mod download -json "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -f "$tdir/go.mod" ] || die "could not download traefik v$TRAEFIK_VERSION from $(go env GOPROXY)"
  # Traefik's go.mod: one local replace (a sub-module in its own tree) and forks of two libraries.
  mapfile -t treplaces < <(awk '
    /^replace \(/ { block = 1; next }
    block && /^\)/ { block = 0; next }
    block && /=>/ { print; next }
    /^replace .*=>/ { sub(/^replace /, ""); print }' "$tdir/go.mod" \
    | sed "s#=> \./#=> $tdir/#")
  go_build traefik "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION" github.com/traefik/traefik/v3/cmd/traefik \
    "-X github.com/traefik/traefik/v3/pkg/version.Version=v$TRAEFIK_VERSION -X github.com/traefik/traefik/v3/pkg/version.Codename=gantry-e2e" \
    "${treplaces[@]}"
fi

VERSION_WANTED="v$HELM_VERSION"
if ! has_version "$bin/helm" version --short; then
  go_build helm "helm.sh/helm/v3@v$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
    "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
fi

# prometheus-adapter and metrics-server print no version of their own: a stamp says what was built.
built() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
if ! built prometheus-adapter "$ADAPTER_VERSION"; then
  go_build prometheus-adapter "sigs.k8s.io/prometheus-adapter@v$ADAPTER_VERSION" sigs.k8s.io/prometheus-adapter/cmd/adapter \
    "-X k8s.io/component-base/version.gitVersion=v$ADAPTER_VERSION"
  echo "$ADAPTER_VERSION" > "$bin/.prometheus-adapter.version"
fi
if ! built metrics-server "$METRICS_SERVER_VERSION"; then
  go_build metrics-server "sigs.k8s.io/metrics-server@v$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server \
    "-X k8s.io/client-go/pkg/version.gitVersion=v$METRICS_SERVER_VERSION -X k8s.io/component-base/version.gitVersion=v$METRICS_SERVER_VERSION"
  echo "$METRICS_SERVER_VERSION" > "$bin/.metrics-server.version"
fi
if ! built kube-state-metrics "$KSM_VERSION"; then
  go_build kube-state-metrics "k8s.io/kube-state-metrics/v2@v$KSM_VERSION" k8s.io/kube-state-metrics/v2 \
    "-X github.com/prometheus/common/version.Version=v$KSM_VERSION"
  echo "$KSM_VERSION" > "$bin/.kube-state-metrics.version"
fi
if ! built prometheus "$PROMETHEUS_VERSION"; then
  # No built-in web UI (that needs npm): the HTTP API and the scraping are what the tests use.
  go_build prometheus "github.com/prometheus/prometheus@v$PROMETHEUS_MODULE_VERSION" \
    github.com/prometheus/prometheus/cmd/prometheus \
    "-X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION -X github.com/prometheus/common/version.Branch=gantry-e2e"
  echo "$PROMETHEUS_VERSION" > "$bin/.prometheus.version"
fi

# Our own two: rebuilt when their sources change (cheap).
src_hash() { cat "$@" | sha256sum | cut -c1-16; }
pause_hash=$(src_hash "$here/images/pause/pause.c")
if [ "$(cat "$bin/.pause.hash" 2>/dev/null)" != "$pause_hash" ]; then
  log "building pause"
  gcc -static -O2 -Wall -Werror -o "$bin/pause" "$here/images/pause/pause.c" && strip "$bin/pause"
  echo "$pause_hash" > "$bin/.pause.hash"
fi
hub_hash=$(src_hash "$here/images/hub/go.mod" "$here/images/hub/main.go")
if [ "$(cat "$bin/.hub.hash" 2>/dev/null)" != "$hub_hash" ]; then
  log "building hub"
  (cd "$here/images/hub" && GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$bin/hub" .) || die "building the hub failed"
  echo "$hub_hash" > "$bin/.hub.hash"
fi

# --- images ------------------------------------------------------------------------------------
# image NAME TAG USER ROOTFS-SETUP-FUNCTION ARGS... -- OCI-ARCHIVE-ARGS...
oci() { python3 "$here/images/oci-archive.py" "$@" >/dev/null; }
rootfs() { local d="$build/rootfs-$1"; rm -rf "$d"; mkdir -p "$d/etc" "$d/tmp"; chmod 1777 "$d/tmp"; echo "$d"; }
# /etc/passwd and /etc/group naming the numeric user, for programs that look themselves up.
users() { printf 'root:x:0:0:root:/:/nonexistent\n%s:x:%s:%s::/:/nonexistent\n' "$2" "$3" "$3" > "$1/etc/passwd"
          printf 'root:x:0:\n%s:x:%s:\n' "$2" "$3" > "$1/etc/group"; }
stamp_ok() { [ -f "$images/$1.tar" ] && [ "$(cat "$images/.$1.stamp" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" > "$images/.$1.stamp"; }

st="$PAUSE_VERSION $pause_hash"
if ! stamp_ok pause "$st"; then
  d=$(rootfs pause); cp "$bin/pause" "$d/pause"
  oci --name "gantry.local/pause:$PAUSE_VERSION" --rootfs "$d" --out "$images/pause.tar" --entrypoint /pause --user 65535
  stamp pause "$st"
fi
st="$COREDNS_VERSION"
if ! stamp_ok coredns "$st"; then
  d=$(rootfs coredns); cp "$bin/coredns" "$d/coredns"; users "$d" coredns 65532
  oci --name "gantry.local/coredns:$COREDNS_VERSION" --rootfs "$d" --out "$images/coredns.tar" \
    --entrypoint /coredns --user 65532 --port 1053/udp --port 1053/tcp
  stamp coredns "$st"
fi
st="$TRAEFIK_VERSION"
if ! stamp_ok traefik "$st"; then
  d=$(rootfs traefik); cp "$bin/traefik" "$d/traefik"; users "$d" traefik 65532
  oci --name "gantry.local/traefik:$TRAEFIK_VERSION" --rootfs "$d" --out "$images/traefik.tar" \
    --entrypoint /traefik --user 65532 --port 8000 --port 9000
  stamp traefik "$st"
fi
st="$HUB_VERSION $hub_hash"
if ! stamp_ok hub "$st"; then
  d=$(rootfs hub); cp "$bin/hub" "$d/hub"; users "$d" hub 65532
  oci --name "gantry.local/e2e-hub:$HUB_VERSION" --rootfs "$d" --out "$images/hub.tar" --entrypoint /hub --user 65532 --port 8080
  stamp hub "$st"
fi
# with_libs ROOTFS BINARY: the shared libraries BINARY links, copied into ROOTFS (for a Debian
# program, dynamically linked, on an empty base).
with_libs() {
  local lib
  for lib in $(ldd "$2" | awk '/=>/ { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
    mkdir -p "$1$(dirname "$lib")"; cp -L "$lib" "$1$lib"
  done
}
# Redis: Debian's server binary and the shared libraries it links, on an empty base.
redis=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$redis" ] || die "needs Debian's redis-server (apt-get install redis-server) for the Redis image"
st="$REDIS_TAG $(sha256sum "$redis" | cut -c1-16)"
if ! stamp_ok redis "$st"; then
  d=$(rootfs redis); mkdir -p "$d/usr/bin" "$d/data"; cp "$redis" "$d/usr/bin/redis-server"; users "$d" redis 999
  chmod 0777 "$d/data"
  with_libs "$d" "$redis"
  oci --name "gantry.local/redis:$REDIS_TAG" --rootfs "$d" --out "$images/redis.tar" \
    --entrypoint /usr/bin/redis-server --cmd=--save --cmd= --cmd=--appendonly --cmd=no \
    --cmd=--protected-mode --cmd=no --cmd=--dir --cmd=/data --user 999 --port 6379
  stamp redis "$st"
fi

st="$PROMETHEUS_VERSION"
if ! stamp_ok prometheus "$st"; then
  d=$(rootfs prometheus); mkdir -p "$d/bin" "$d/prometheus"; cp "$bin/prometheus" "$d/bin/prometheus"
  users "$d" nobody 65534; chmod 0777 "$d/prometheus"
  oci --name "gantry.local/prometheus:$PROMETHEUS_VERSION" --rootfs "$d" --out "$images/prometheus.tar" \
    --entrypoint /bin/prometheus --user 65534 --port 9090
  stamp prometheus "$st"
fi
st="$ADAPTER_VERSION"
if ! stamp_ok prometheus-adapter "$st"; then
  d=$(rootfs prometheus-adapter); cp "$bin/prometheus-adapter" "$d/adapter"; users "$d" adapter 65532
  oci --name "gantry.local/prometheus-adapter:$ADAPTER_VERSION" --rootfs "$d" --out "$images/prometheus-adapter.tar" \
    --entrypoint /adapter --user 65532 --port 6443
  stamp prometheus-adapter "$st"
fi
st="$METRICS_SERVER_VERSION"
if ! stamp_ok metrics-server "$st"; then
  d=$(rootfs metrics-server); cp "$bin/metrics-server" "$d/metrics-server"; users "$d" metrics-server 65532
  oci --name "gantry.local/metrics-server:$METRICS_SERVER_VERSION" --rootfs "$d" --out "$images/metrics-server.tar" \
    --entrypoint /metrics-server --user 65532 --port 4443
  stamp metrics-server "$st"
fi
st="$KSM_VERSION"
if ! stamp_ok kube-state-metrics "$st"; then
  d=$(rootfs kube-state-metrics); cp "$bin/kube-state-metrics" "$d/kube-state-metrics"; users "$d" ksm 65532
  oci --name "gantry.local/kube-state-metrics:$KSM_VERSION" --rootfs "$d" --out "$images/kube-state-metrics.tar" \
    --entrypoint /kube-state-metrics --user 65532 --port 8080
  stamp kube-state-metrics "$st"
fi

log "ready after $((SECONDS - start))s in $cache"
echo "$cache"
