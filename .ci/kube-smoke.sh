#!/usr/bin/env bash
# Smoke test for the binaries .ci/kube-binaries.sh provisions: runs etcd + kube-apiserver the way
# io.fabric8:kube-api-test does (same flags), then kube-controller-manager and kube-scheduler
# against it, and checks with kubectl that the API serves, that the garbage collector deletes an
# owned object, and that the scheduler binds a pod. Everything listens on 127.0.0.1 only.
# Usage: .ci/kube-smoke.sh [BINARY_DIR]   (default: what .ci/kube-binaries.sh prints). Needs openssl,
# curl and python3 (free ports).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-$(.ci/kube-binaries.sh | tail -1)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kube-smoke.XXXXXX")
pids=()
cleanup() {
  local p; for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
log() { echo "kube-smoke: $*" >&2; }
fail() { log "FAILED: $*"; for f in "$tmp"/*.log; do echo "--- tail of $f" >&2; tail -20 "$f" >&2; done; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for WHAT CMD...: polls CMD for up to 60s.
wait_for() {
  local what=$1 i; shift
  for i in $(seq 120); do "$@" >/dev/null 2>&1 && { log "$what ($((i / 2))s)"; return 0; }; sleep 0.5; done
  fail "$what: not after 60s"
}

etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)
kcm_port=$(free_port); sched_port=$(free_port)

log "etcd: $("$bin/etcd" --version | head -1)"
"$bin/etcd" --data-dir "$tmp/etcd" --wal-dir "$tmp/etcd-wal" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" >"$tmp/etcd.log" 2>&1 &
pids+=($!)
wait_for "etcd healthy" curl -sf "http://127.0.0.1:$etcd_port/health"

# Like kube-api-test's CertManager: one self-signed key pair for serving-account tokens, and a
# self-signed client certificate in system:masters that is its own client CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=example.org" \
  -keyout "$tmp/sa.key" -out "$tmp/sa.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/O=system:masters/CN=kubeapitest" \
  -keyout "$tmp/client.key" -out "$tmp/client.crt" 2>/dev/null

log "kube-apiserver: $("$bin/kube-apiserver" --version)"
"$bin/kube-apiserver" --cert-dir "$tmp/certs" --secure-port "$api_port" --bind-address 127.0.0.1 \
  --etcd-servers "http://127.0.0.1:$etcd_port" --authorization-mode RBAC \
  --service-account-issuer https://localhost --service-account-signing-key-file "$tmp/sa.key" \
  --service-account-key-file "$tmp/sa.key" --disable-admission-plugins ServiceAccount \
  --client-ca-file "$tmp/client.crt" --service-cluster-ip-range 10.0.0.0/24 --allow-privileged \
  >"$tmp/apiserver.log" 2>&1 &
pids+=($!)
wait_for "kube-apiserver ready" curl -skf --cert "$tmp/client.crt" --key "$tmp/client.key" \
  "https://127.0.0.1:$api_port/readyz"

export KUBECONFIG="$tmp/kubeconfig"
k() { "$bin/kubectl" --request-timeout=10s "$@"; }
k config set-cluster smoke --server "https://127.0.0.1:$api_port" --insecure-skip-tls-verify=true >/dev/null
k config set-credentials smoke --client-certificate "$tmp/client.crt" --client-key "$tmp/client.key" --embed-certs >/dev/null
k config set-context smoke --cluster smoke --user smoke >/dev/null
k config use-context smoke >/dev/null
wait_for "default namespace exists" k get ns default
k get ns >&2
log "server version: $(k version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"

authn=(--kubeconfig "$KUBECONFIG" --authentication-kubeconfig "$KUBECONFIG"
  --authorization-kubeconfig "$KUBECONFIG" --bind-address 127.0.0.1 --leader-elect=false)
log "kube-controller-manager: $("$bin/kube-controller-manager" --version)"
"$bin/kube-controller-manager" "${authn[@]}" --secure-port "$kcm_port" \
  --controllers garbagecollector,namespace >"$tmp/controller-manager.log" 2>&1 &
pids+=($!)
log "kube-scheduler: $("$bin/kube-scheduler" --version)"
"$bin/kube-scheduler" "${authn[@]}" --secure-port "$sched_port" >"$tmp/scheduler.log" 2>&1 &
pids+=($!)
wait_for "kube-controller-manager healthy" curl -skf "https://127.0.0.1:$kcm_port/healthz"
wait_for "kube-scheduler healthy" curl -skf "https://127.0.0.1:$sched_port/healthz"

# Garbage collection: a ConfigMap owned by another is deleted once its owner is.
k create configmap owner >/dev/null
uid=$(k get configmap owner -o jsonpath='{.metadata.uid}')
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: dependent
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: "$uid"}]
EOF
k get configmap dependent >/dev/null
k delete configmap owner >/dev/null
# Gone means NotFound, not any kubectl failure.
dependent_gone() { local o; o=$(k get configmap dependent --ignore-not-found -o name) && [ -z "$o" ]; }
wait_for "garbage collector deleted the owned ConfigMap" dependent_gone

# Scheduling: a Node object (no kubelet behind it) with room for pods gets a pod bound to it.
k create -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata: {name: fake-node}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "10"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "10"}
  conditions: [{type: Ready, status: "True", reason: Fake, message: fake}]
EOF
# The TaintNodesByCondition admission plugin taints a new node not-ready, so the pod tolerates all.
k create -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: smoke-pod}
spec:
  tolerations: [{operator: Exists}]
  containers: [{name: c, image: registry.invalid/none}]
EOF
pod_bound() { [ "$(k get pod smoke-pod -o jsonpath='{.spec.nodeName}')" = fake-node ]; }
wait_for "scheduler bound the pod to fake-node" pod_bound

log "OK: etcd, kube-apiserver, kubectl, kube-controller-manager and kube-scheduler from $bin work"
