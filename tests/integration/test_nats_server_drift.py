"""A file changed on a node is found and written again: nats_server reads the node once
(read_node.yml) and writes only what differs, so what it compares must catch every change that
matters. Run by ansible-playbook on the controller (local connection) over the role's own task
files: the preflight checks (which also work out the facts the later files use), the TLS check,
the read, the local binary install and configure.yml, with the config checked by the real
nats-server."""
import json
import os
import shutil
import stat
import subprocess
import sys

import yaml

from conftest import COLLECTIONS, ROOT
from nats_harness import SERVER_BIN, free_port, release_binary

PLAYBOOK = '''
- hosts: node1
  gather_facts: false
  tasks:
    - name: Run the role's task files that read the node and write what differs
      ansible.builtin.include_role:
        name: cim.nats.nats_server
        tasks_from: "{{ item }}"
      loop: [preflight.yml, preflight_tls.yml, read_node.yml, install_local.yml, configure.yml]
'''


def _run(tmp_path, host_vars):
    playbook, inventory = tmp_path / 'play.yml', tmp_path / 'hosts.yml'
    playbook.write_text(PLAYBOOK)
    host = dict(host_vars, ansible_connection='local', ansible_python_interpreter=sys.executable)
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {'node1': host}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           str(playbook)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          cwd=str(tmp_path), timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    changed = [task['task']['name'].split(' : ')[-1] for play in report['plays'] for task in play['tasks']
               if task['hosts'].get('node1', {}).get('changed')]
    return changed


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_changed_files_and_a_wrong_binary_are_found_and_written_again(tmp_path, tls_material):
    source_bin = tmp_path / 'nats-server'
    shutil.copy(SERVER_BIN, source_bin)
    etc, opt = tmp_path / 'etc', tmp_path / 'opt'
    host_vars = {
        'nats_server_config_dir': str(etc), 'nats_server_user': 'root', 'nats_server_group': 'root',
        'nats_server_install_method': 'local', 'nats_server_local_src': str(source_bin),
        'nats_server_install_dir': str(opt), 'nats_server_binary_link': SERVER_BIN,
        'nats_server_version': subprocess.run([SERVER_BIN, '--version'], capture_output=True, text=True,
                                              check=True).stdout.split('v')[-1].strip(),
        '_nats_server_uses_tls': True, 'nats_server_tls_enabled': True,
        'nats_server_tls_cert_src': tls_material['server_cert'], 'nats_server_tls_key_src': tls_material['server_key'],
        'nats_server_tls_ca_src': tls_material['ca'],
        'nats_server_jetstream_enabled': False, 'nats_server_log_file': '',
        'nats_server_host': '127.0.0.1', 'nats_server_port': free_port(),
        'nats_server_monitor_host': '127.0.0.1', 'nats_server_monitor_port': free_port(),
    }
    conf, tls = etc / 'nats-server.conf', etc / 'tls'
    binary = opt / host_vars['nats_server_version'] / 'nats-server'

    first = _run(tmp_path, host_vars)
    assert {'Create the directories', 'Copy the TLS certificate, key and CA from the controller',
            'Copy the binary from the controller'} <= set(first), first
    written = conf.read_bytes()
    # Nothing differs: nothing is written.
    assert _run(tmp_path, host_vars) == []

    # Each change that matters on a node: content, mode, a directory's mode, the binary.
    conf.write_bytes(written + b'# edited on the node\n')
    os.chmod(tls / 'server-key.pem', 0o644)
    (tls / 'ca.pem').write_bytes((tls / 'ca.pem').read_bytes() + b'\n')
    os.chmod(etc, 0o755)
    shutil.copy(release_binary('2.14.6'), binary)

    fixed = _run(tmp_path, host_vars)
    assert {'Create the directories', 'Copy the TLS certificate, key and CA from the controller',
            'Copy the binary from the controller'} <= set(fixed), fixed
    assert conf.read_bytes() == written
    assert _mode(tls / 'server-key.pem') == 0o640
    with open(tls_material['ca'], 'rb') as handle:
        assert (tls / 'ca.pem').read_bytes() == handle.read()
    assert _mode(etc) == 0o750
    assert binary.read_bytes() == source_bin.read_bytes()
    assert _run(tmp_path, host_vars) == []
