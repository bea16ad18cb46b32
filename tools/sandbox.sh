#!/usr/bin/env bash
# The README's first command: a local three-node NATS cluster (TLS everywhere, users with
# permissions, JetStream) in systemd containers from the test image, deployed by
# playbooks/cluster.yml exactly as on real hosts.
#   tools/sandbox.sh up      set up what is missing, start the containers, deploy, print status
#   tools/sandbox.sh layout  put the seed's CIM event store on it (playbooks/jetstream.yml), print status
#   tools/sandbox.sh status  print the status again
#   tools/sandbox.sh down    remove the containers and their network
# Client and monitoring ports are published on 127.0.0.1 only. The inventory, the development CA
# and the generated passwords live in inventories/sandbox/ (gitignored) and are kept across runs,
# so running `up` again changes nothing and shows how long a no-change run takes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
action=${1:-up}

prefix=cim-nats-sandbox
network=cim-nats-sandbox
nodes=3
client_port=${CIM_NATS_SANDBOX_CLIENT_PORT:-4222}    # node i gets client_port + i - 1
monitor_port=${CIM_NATS_SANDBOX_MONITOR_PORT:-8222}  # node i gets monitor_port + i - 1

containers() { for i in $(seq "$nodes"); do echo "$prefix-$i"; done; }

down() {
  source "$here/env.sh"
  # Teardown is idempotent: a container or network that is already gone is not an error.
  for c in $(containers); do docker rm -f "$c" >/dev/null 2>&1 && echo "removed $c" || true; done
  docker network rm "$network" >/dev/null 2>&1 && echo "removed network $network" || true
  echo "kept $CIM_NATS_ROOT/inventories/sandbox/ (CA, passwords, run log): delete it to start afresh"
}

status() {
  source "$here/env.sh"
  cd "$CIM_NATS_ROOT"
  python tools/sandbox/sandbox.py status --inventory-dir inventories/sandbox --prefix "$prefix" \
    --nodes "$nodes" --client-port "$client_port" --monitor-port "$monitor_port"
}

start_containers() {
  docker network inspect "$network" >/dev/null 2>&1 || docker network create "$network" >/dev/null
  local i c
  for i in $(seq "$nodes"); do
    c=$prefix-$i
    if docker container inspect "$c" >/dev/null 2>&1; then
      [ "$(docker inspect -f '{{.State.Running}}' "$c")" = true ] || docker start "$c" >/dev/null
      continue
    fi
    python tools/sandbox/sandbox.py ports-free $((client_port + i - 1)) $((monitor_port + i - 1)) || {
      echo "Set CIM_NATS_SANDBOX_CLIENT_PORT / CIM_NATS_SANDBOX_MONITOR_PORT to free base ports." >&2; exit 1; }
    echo "==> starting container $c"
    docker run -d --name "$c" --hostname "$c" --network "$network" --label cim.nats.sandbox=1 \
      --cap-add SYS_ADMIN --security-opt seccomp=unconfined --cgroupns host \
      -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
      -p "127.0.0.1:$((client_port + i - 1)):4222" -p "127.0.0.1:$((monitor_port + i - 1)):8222" \
      "$CIM_NATS_TEST_IMAGE" /sbin/init >/dev/null
  done
  for c in $(containers); do
    # systemd has finished booting when it says running (or degraded: some unit of the image failed).
    # It exits non-zero for degraded, so its word is captured and judged by the case below.
    state=$(docker exec "$c" timeout 90 systemctl is-system-running --wait 2>/dev/null || true)
    case "$state" in running|degraded) ;; *) echo "$c: systemd did not come up ($state)" >&2; exit 1 ;; esac
  done
}

up() {
  "$here/bootstrap.sh"
  source "$here/env.sh"
  cd "$CIM_NATS_ROOT"
  start_containers
  python tools/sandbox/sandbox.py inventory --inventory-dir inventories/sandbox --prefix "$prefix" \
    --nodes "$nodes" --server-bin "$CIM_NATS_SERVER_BIN" --client-port "$client_port" \
    --layout inventories/example/group_vars/all/jetstream.yml
  echo "==> ansible-playbook -i inventories/sandbox/hosts.yml playbooks/cluster.yml"
  local log=inventories/sandbox/last-run.log start end rc
  start=$(date +%s.%N)
  set +e
  ansible-playbook -i inventories/sandbox/hosts.yml playbooks/cluster.yml 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  end=$(date +%s.%N)
  python tools/sandbox/sandbox.py record-run --inventory-dir inventories/sandbox --log "$log" \
    --rc "$rc" --start "$start" --end "$end"
  [ "$rc" = 0 ] || { echo "cluster.yml failed (exit $rc); its output is in $log" >&2; exit "$rc"; }
  status
}

# The layout of inventories/example (linked into the sandbox inventory by `up`), applied from the
# controller over the published client ports with the sandbox CA and the cim_admin password.
layout() {
  source "$here/env.sh"
  cd "$CIM_NATS_ROOT"
  [ -f inventories/sandbox/group_vars/nats/jetstream.yml ] || {
    echo "no sandbox inventory: run \`make sandbox\` first" >&2; exit 1; }
  echo "==> ansible-playbook -i inventories/sandbox/hosts.yml playbooks/jetstream.yml"
  ansible-playbook -i inventories/sandbox/hosts.yml playbooks/jetstream.yml
  status
}

case "$action" in
  up) up ;;
  layout) layout ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|layout|status|down" >&2; exit 2 ;;
esac
