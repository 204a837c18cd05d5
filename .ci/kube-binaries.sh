#!/usr/bin/env bash
# Provisions a real Kubernetes control plane (etcd, kube-apiserver, kubectl, kube-controller-manager,
# kube-scheduler) for the operator's integration tests, laid out the way io.fabric8:kube-api-test
# looks for them: $KUBE_API_TEST_DIR/k8s/<version>-<os>-<arch>/; and beside them the node's
# kubelet and kube-proxy, from the same module and version, for e2e-tests/cluster.sh.
#
# Release tarballs (dl.k8s.io, GitHub) can't be reached from our machines, but the Go module proxy
# can, and it serves the full Kubernetes and etcd sources: so we build from those. The result lives
# in a cache outside the repository, so only the first run on a machine pays for the build.
#
# Usage: .ci/kube-binaries.sh          -> progress on stderr, the binaries' directory as the last
#                                         line of stdout (dir=$(.ci/kube-binaries.sh | tail -1)).
# Env:   KUBE_API_TEST_DIR  the directory kube-api-test is given (default $GANTRY_CACHE/kube-api-test)
#        GANTRY_CACHE       default ~/.cache/gantry; the build scratch modules live under it too
#        Go's own GOMODCACHE/GOCACHE/GOPROXY are honoured (defaults persist across runs).
set -euo pipefail

# Pinned so test runs are reproducible. 1.34 is a current, supported minor; v1.34.4 is its newest
# patch the proxy serves (1.35.4 and 1.36.1 are served too: moving is a one-line change, and the
# versioned output dir lets old and new coexist). etcd 3.6 is the line 1.34 ships with (its go.mod
# requires the etcd v3.6.4 client); any 3.6 patch serves.
KUBE_VERSION=1.34.4
ETCD_VERSION=3.6.8

log() { echo "kube-binaries: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "needs Go (1.24 or later) on PATH to build the binaries from the Go module proxy"

goos=$(go env GOOS); goarch=$(go env GOARCH)
cache_root="${GANTRY_CACHE:-$HOME/.cache/gantry}"
api_test_dir="${KUBE_API_TEST_DIR:-$cache_root/kube-api-test}"
out="$api_test_dir/k8s/${KUBE_VERSION}-${goos}-${goarch}"
build_root="$cache_root/kube-build"
bins=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy)

# True when every binary is there, runs and reports the pinned version: a truncated file (which
# bash would "run" as an empty script), a foreign binary or one from an older pin must not pass.
binaries_ok() {
  local dir=$1 b v
  for b in "${bins[@]}"; do
    [ -x "$dir/$b" ] || return 1
    case $b in
      etcd)    v=$("$dir/$b" --version 2>&1) && [[ $v == *"etcd Version: $ETCD_VERSION"* ]] || return 1 ;;
      kubectl) v=$("$dir/$b" version --client 2>&1) && [[ $v == *"v$KUBE_VERSION"* ]] || return 1 ;;
      *)       v=$("$dir/$b" --version 2>&1) && [[ $v == *"v$KUBE_VERSION"* ]] || return 1 ;;
    esac
  done
}

if binaries_ok "$out"; then
  log "Kubernetes v$KUBE_VERSION control plane already provisioned in $out"
  echo "$out"; exit 0
fi

mkdir -p "$build_root" "$api_test_dir/k8s"
# Several Maven modules / shells may call us at once: one builds, the others wait and reuse it.
exec 9>"$build_root/.lock"
command -v flock >/dev/null && { log "taking the build lock $build_root/.lock (waits while another run builds)"; flock 9; }
if binaries_ok "$out"; then
  log "provisioned meanwhile by another run: $out"; echo "$out"; exit 0
fi

# -mod=mod: the scratch modules below start without a go.sum and let the go command fill it in.
export GOFLAGS="-mod=mod" CGO_ENABLED=0 GO111MODULE=on
# Staged beside the target (same filesystem, a name kube-api-test ignores) for an atomic rename.
stage="$api_test_dir/k8s/.building.$$"
rm -rf "$stage"; mkdir -p "$stage"
trap 'rm -rf "$stage"' EXIT
start=$SECONDS

# --- Kubernetes ----------------------------------------------------------------------------------
# k8s.io/kubernetes is not meant to be a dependency: its go.mod requires its own staging modules
# (k8s.io/api, client-go, ...) at v0.0.0 and points them at ./staging with replaces, which don't
# apply outside its repository. Each staging module is published as v0.<minor>.<patch> though, so
# a wrapper module replaces every one of them with that version: generated from k8s's go.mod so
# that a version bump needs no hand-kept list.
kmod="$build_root/kubernetes-v$KUBE_VERSION"
mkdir -p "$kmod"
log "fetching k8s.io/kubernetes v$KUBE_VERSION from $(go env GOPROXY) (first run: ~800 MiB of modules)"
dl=$(cd "$build_root" && go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION") || true
kdir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$dl")
[ -f "$kdir/go.mod" ] || die "could not download k8s.io/kubernetes@v$KUBE_VERSION (GOPROXY=$(go env GOPROXY)): $dl"
staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$kdir/go.mod")
[ -n "$staging" ] || die "found no staging replaces in $kdir/go.mod; has its layout changed?"
{
  echo "module gantry.local/kube-binaries"
  echo
  # Keep k8s's language version and GODEBUG defaults so the binaries behave like the released ones.
  grep -E '^(go|godebug) ' "$kdir/go.mod"
  echo
  echo "require k8s.io/kubernetes v$KUBE_VERSION"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m v0.${KUBE_VERSION#1.}"; done
  echo ")"
} > "$kmod/go.mod"
log "wrapper module $kmod/go.mod replaces $(echo "$staging" | wc -l) staging modules with v0.${KUBE_VERSION#1.}"

# What hack/lib/version.sh stamps, so --version (and the apiserver's /version) say v$KUBE_VERSION.
minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $p.gitVersion=v$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done

log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy (cold: ~8 minutes on 2 cores)"
# One go build for all six so the shared packages (most of them) are compiled once.
(cd "$kmod" && go build -trimpath -ldflags "$ldflags" -o "$stage/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy) \
  || die "building Kubernetes v$KUBE_VERSION failed (see the go output above)"
log "Kubernetes built after $((SECONDS - start))s"

# --- etcd ----------------------------------------------------------------------------------------
# go.etcd.io/etcd/server/v3 holds etcd's own main package (server/main.go -> etcdmain.Main), but its
# go.mod's replaces don't apply from outside either; requiring it from a scratch module resolves
# its sibling modules (api, client, pkg) at their published versions instead.
emod="$build_root/etcd-v$ETCD_VERSION"
mkdir -p "$emod"
printf 'module gantry.local/etcd-binary\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > "$emod/go.mod"
log "building etcd v$ETCD_VERSION"
(cd "$emod" && go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION" \
  -o "$stage/etcd" go.etcd.io/etcd/server/v3) \
  || die "building etcd v$ETCD_VERSION failed (see the go output above)"

binaries_ok "$stage" || die "the freshly built binaries in $stage don't run"
# Rename into place so kube-api-test never sees a half-filled version directory.
rm -rf "$out"; mv "$stage" "$out"; trap - EXIT
log "built in $((SECONDS - start))s: $("$out/kube-apiserver" --version), $("$out/etcd" --version | head -1)"
echo "$out"
