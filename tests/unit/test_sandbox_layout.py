"""The sandbox's next step: what tools/sandbox/sandbox.py writes lets playbooks/jetstream.yml put the
seed's CIM event store on the sandbox with no -e at all, and the status shows it.

No containers here: a real nats-server on loopback stands in for the sandbox's published node
(TLS with a CA for localhost, the CIM and SYS accounts, the generated cim_admin password)."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from nats_harness import SERVER_BIN, NatsServer, free_port
from recap import parse_recap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SANDBOX = os.path.join(ROOT, "tools", "sandbox", "sandbox.py")
LAYOUT = os.path.join(ROOT, "inventories", "example", "group_vars", "all", "jetstream.yml")
PREFIX = "cim-nats-sandbox"


def sandbox(*args):
    return subprocess.run([sys.executable, SANDBOX, *args], check=False, capture_output=True, text=True, timeout=120)


def write_inventory(inv_dir, client_port, nodes=1):
    result = sandbox("inventory", "--inventory-dir", str(inv_dir), "--prefix", PREFIX, "--nodes", str(nodes),
                     "--server-bin", SERVER_BIN, "--client-port", str(client_port), "--layout", LAYOUT)
    assert result.returncode == 0, result.stderr


def resolved_vars(inv_dir, host):
    """The host's variables as Ansible resolves them, templates included."""
    playbook = inv_dir.parent / "show.yml"
    playbook.write_text(
        "- hosts: nats[0]\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"{{ {'server': jetstream_server, 'ca': jetstream_tls_ca_file, 'user': jetstream_user,"
        " 'password': jetstream_password, 'streams': jetstream_streams | map(attribute='name') | list,"
        " 'replicas': jetstream_streams | map(attribute='num_replicas') | list,"
        " 'consumers': jetstream_consumers | map(attribute='name') | list} | to_json }}\"\n")
    result = subprocess.run(["ansible-playbook", "-i", str(inv_dir / "hosts.yml"), str(playbook),
                             "-l", host],
                            check=False, capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    task = json.loads(result.stdout)["plays"][0]["tasks"][0]
    return json.loads(task["hosts"][host]["msg"])


def test_the_sandbox_inventory_resolves_the_connection_of_playbooks_jetstream(tmp_path):
    inv = tmp_path / "sandbox"
    write_inventory(inv, 4222, nodes=3)
    write_inventory(inv, 4222, nodes=3)  # a second `make sandbox` keeps the link and the passwords
    with open(inv / "group_vars" / "nats" / "secrets.yml") as f:
        password = yaml.safe_load(f)["sandbox_passwords"]["cim_admin"]
    got = resolved_vars(inv, f"{PREFIX}-1")
    assert got == {
        "server": ["tls://localhost:4222", "tls://localhost:4223", "tls://localhost:4224"],
        "ca": str(inv / "pki" / "ca.crt"),
        "user": "cim_admin",
        "password": password,
        "streams": ["CIM_EVENTS", "GRAPH_EVENTS", "WORKFLOW_EVENTS", "DLQ"],
        "replicas": [3, 3, 3, 3],
        "consumers": ["GRAPH_PROJECTION", "WORKFLOW_PROCESSOR"],
    }
    assert os.path.islink(inv / "group_vars" / "all" / "jetstream.yml")


@pytest.fixture
def sandbox_node(tmp_path, tls_material):
    """The inventory the sandbox writes, and a TLS nats-server with its accounts behind it."""
    inv = tmp_path / "sandbox"
    client_port, monitor_port = free_port(), free_port()
    write_inventory(inv, client_port)
    (inv / "pki").mkdir()
    shutil.copy(tls_material["ca"], inv / "pki" / "ca.crt")  # the role's development CA
    with open(inv / "group_vars" / "nats" / "secrets.yml") as f:
        passwords = yaml.safe_load(f)["sandbox_passwords"]
    config = f"""
server_name: {PREFIX}-1
listen: 127.0.0.1:{client_port}
https: 127.0.0.1:{monitor_port}
tls {{ cert_file: "{tls_material['server_cert']}", key_file: "{tls_material['server_key']}" }}
jetstream {{ store_dir: "{tmp_path / 'js'}" }}
accounts {{
  CIM {{ jetstream: enabled, users: [{{user: cim_admin, password: "{passwords['cim_admin']}"}}] }}
  SYS {{ users: [{{user: sys, password: "{passwords['sys']}"}}] }}
}}
system_account: SYS
"""
    with NatsServer(tmp_path / "server", config):
        yield inv, client_port, monitor_port


def status(inv, client_port, monitor_port):
    return sandbox("status", "--inventory-dir", str(inv), "--prefix", PREFIX, "--nodes", "1",
                   "--client-port", str(client_port), "--monitor-port", str(monitor_port))


def test_jetstream_playbook_puts_the_cim_event_store_on_the_sandbox_and_status_shows_it(sandbox_node):
    inv, client_port, monitor_port = sandbox_node
    before = status(inv, client_port, monitor_port)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "no streams yet; `make sandbox-layout`" in before.stdout

    def apply():
        result = subprocess.run(["ansible-playbook", "-i", str(inv / "hosts.yml"), "playbooks/jetstream.yml"],
                                check=False, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
        return result.stdout

    first = apply()
    assert "4 streams (4 created); 2 consumers (2 created)" in first
    second = apply()
    assert parse_recap(second)[f"{PREFIX}-1"]["changed"] == 0

    after = status(inv, client_port, monitor_port)
    assert after.returncode == 0, after.stdout + after.stderr
    lines = [line.strip() for line in after.stdout.splitlines()]
    assert "CIM_EVENTS  R1  events.>  0 msgs" in lines
    assert "GRAPH_EVENTS  R1  from CIM_EVENTS (events.graph.>)  0 msgs" in lines
    assert "consumer GRAPH_PROJECTION: 0 pending, 0 awaiting ack" in lines
    assert "consumer WORKFLOW_PROCESSOR: 0 pending, 0 awaiting ack" in lines
    assert "DLQ  R1  dlq.>  0 msgs" in lines
