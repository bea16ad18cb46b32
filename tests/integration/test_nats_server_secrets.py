"""Secrets through the roles, run by ansible-playbook on the controller: nats_server's
configure.yml keeps the hashes the running server applied (a rerun changes nothing), gives a
changed password a new hash, and never prints a route password when nats-server refuses the
config; nats_cluster's development CA keeps its private keys out of git."""
import asyncio
import json
import os
import stat
import subprocess
import sys

import bcrypt
import nats
import yaml
from jinja2.filters import do_urlencode

from conftest import COLLECTIONS, ROOT
from nats_harness import SERVER_BIN, NatsServer, free_port

ROUTE_PASSWORD = 'p%@/:#w0rd'


def _env(callback):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
                ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_NOCOLOR='1')


def _playbook(tmp_path, text, host_vars, *extra, callback='json'):
    playbook, inventory = tmp_path / 'play.yml', tmp_path / 'hosts.yml'
    playbook.write_text(text)
    host = dict(host_vars, ansible_connection='local', ansible_python_interpreter=sys.executable)
    inventory.write_text(yaml.safe_dump({'all': {'hosts': {'node1': host}}}))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           str(playbook)] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=_env(callback), cwd=str(tmp_path), timeout=300, check=False)


def _stats(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)['stats']['node1']


# configure.yml, then what record_applied.yml writes after a successful start or reload.
CONFIGURE = '''
- hosts: node1
  gather_facts: false
  tasks:
    # configure.yml writes what differs from the node's state, which read_node.yml reads.
    - name: Read the node
      ansible.builtin.include_role:
        name: cim.nats.nats_server
        tasks_from: read_node.yml
    - name: Configure
      ansible.builtin.include_role:
        name: cim.nats.nats_server
        tasks_from: configure.yml
    - name: Describe what the server runs
      ansible.builtin.set_fact:
        _nats_server_desired:
          config: "{{ _nats_server_config }}"
    - name: Record it as applied
      ansible.builtin.include_role:
        name: cim.nats.nats_server
        tasks_from: record_applied.yml
'''


def _route_url(password, port):
    # As roles/nats_cluster/vars/main.yml (_nats_cluster_route_urls) encodes it: urlencode, '/' -> '%2F'.
    return 'nats-route://ruser:%s@127.0.0.1:%d' % (do_urlencode(password).replace('/', '%2F'), port)


def _server_vars(tmp_path):
    return {
        'nats_server_config_dir': str(tmp_path / 'etc'), 'nats_server_user': 'root', 'nats_server_group': 'root',
        'nats_server_binary_link': SERVER_BIN, '_nats_server_uses_tls': False,
        'nats_server_jetstream_enabled': False, 'nats_server_log_file': '',
        'nats_server_host': '127.0.0.1', 'nats_server_port': free_port(),
        'nats_server_monitor_host': '127.0.0.1', 'nats_server_monitor_port': free_port(),
        # YAML gives an unquoted 12345678 as an int
        'nats_server_users': [{'user': 'app', 'password': 'app-pw'}, {'user': 'num', 'password': 12345678}],
        'nats_server_cluster_enabled': True, 'nats_server_cluster_name': 'c',
        'nats_server_cluster_host': '127.0.0.1', 'nats_server_cluster_port': free_port(),
        'nats_server_cluster_user': 'ruser', 'nats_server_cluster_password': ROUTE_PASSWORD,
        'nats_server_cluster_routes': [_route_url(ROUTE_PASSWORD, free_port())],
        'nats_server_bcrypt_cost': 4,
    }


async def _connect(port, user, password):
    try:
        conn = await nats.connect('nats://127.0.0.1:%d' % port, user=user, password=password,
                                  allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0)
    except Exception as exc:  # noqa: BLE001 - any refusal is the answer here
        return 'refused: %s' % exc
    await conn.close()
    return 'ok'


def test_configure_keeps_applied_hashes_rehashes_changes_and_redacts_refusals(tmp_path):
    host_vars = _server_vars(tmp_path)
    conf, applied = tmp_path / 'etc' / 'nats-server.conf', tmp_path / 'etc' / 'nats-server.applied.json'

    assert _stats(_playbook(tmp_path, CONFIGURE, host_vars))['changed'] >= 2
    first = json.loads(applied.read_text())['config']
    written = conf.read_text()
    assert 'app-pw' not in written and ROUTE_PASSWORD not in written
    assert bcrypt.checkpw(b'12345678', first['authorization']['users'][1]['password'].encode())
    assert bcrypt.checkpw(ROUTE_PASSWORD.encode(), first['cluster']['authorization']['password'].encode())

    # A rerun reuses every deployed hash: nothing changes, not even the file's bytes.
    assert _stats(_playbook(tmp_path, CONFIGURE, host_vars))['changed'] == 0
    assert conf.read_text() == written

    # A new password: a new hash for that user only, and the real server takes it.
    host_vars['nats_server_users'][0]['password'] = 'app-pw-2'
    assert _stats(_playbook(tmp_path, CONFIGURE, host_vars))['changed'] == 2  # config + record
    second = json.loads(applied.read_text())['config']
    users = second['authorization']['users']
    assert users[0]['password'] != first['authorization']['users'][0]['password']
    assert users[1] == first['authorization']['users'][1]
    assert second['cluster']['authorization'] == first['cluster']['authorization']
    with NatsServer(tmp_path / 'serve', conf.read_text()) as server:
        assert asyncio.run(_connect(server.port, 'num', '12345678')) == 'ok'
        assert asyncio.run(_connect(server.port, 'app', 'app-pw-2')) == 'ok'
        assert asyncio.run(_connect(server.port, 'app', 'app-pw')).startswith('refused')

    # A route URL written by hand without encoding: nats-server -t refuses it and quotes it; the
    # user sees its verdict without the password, and the live file stays as it was.
    host_vars['nats_server_cluster_routes'] = ['nats-route://ruser:%s@127.0.0.1:%d' % (ROUTE_PASSWORD, free_port())]
    before = conf.read_text()
    refused = _playbook(tmp_path, CONFIGURE, host_vars, callback='default')
    shown = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert 'nats-server rejected the new config' in shown and 'error parsing route url' in shown
    assert 'nats-route://***@127.0.0.1' in shown
    for fragment in (ROUTE_PASSWORD, 'w0rd', do_urlencode(ROUTE_PASSWORD)):
        assert fragment not in shown, shown[-3000:]
    assert conf.read_text() == before


DEV_CA = '''
- hosts: node1
  gather_facts: false
  tasks:
    - name: The development CA and this node's certificate
      ansible.builtin.include_role:
        name: cim.nats.nats_cluster
        tasks_from: tls_dev_ca.yml
'''


def _git(repo, *args):
    return subprocess.run(['git', '-C', str(repo)] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=True).stdout


def test_dev_ca_keys_stay_out_of_the_inventory_repository(tmp_path):
    repo = tmp_path / 'inventory'
    repo.mkdir()
    _git(repo, 'init', '-q')
    pki = repo / 'pki'
    host_vars = {'nats_cluster_tls_dev_ca_dir': str(pki), 'nats_cluster_group': 'all'}

    first = _stats(_playbook(tmp_path, DEV_CA, host_vars))
    assert first['changed'] > 0
    keys = sorted(path.name for path in pki.iterdir() if path.suffix == '.key')
    assert keys == ['ca.key', 'node1.key']
    assert stat.S_IMODE(pki.stat().st_mode) == 0o700
    for key in keys:
        assert stat.S_IMODE((pki / key).stat().st_mode) == 0o600
    _git(repo, 'add', '-A')
    staged = _git(repo, 'diff', '--cached', '--name-only').split()
    assert 'pki/ca.crt' in staged and 'pki/node1.crt' in staged
    assert not [name for name in staged if name.endswith('.key')]

    assert _stats(_playbook(tmp_path, DEV_CA, host_vars))['changed'] == 0

    # A directory made by an older release: CA and keys, no .gitignore. The next run adds it and
    # the run after changes nothing; a .gitignore with other lines keeps them.
    _git(repo, 'rm', '-q', '--cached', '-r', '.')
    (pki / '.gitignore').unlink()
    assert _stats(_playbook(tmp_path, DEV_CA, host_vars))['changed'] == 1
    assert _stats(_playbook(tmp_path, DEV_CA, host_vars))['changed'] == 0
    (pki / '.gitignore').write_text('*.tmp\n')
    assert _stats(_playbook(tmp_path, DEV_CA, host_vars))['changed'] == 1
    assert (pki / '.gitignore').read_text().splitlines()[0] == '*.tmp'
    _git(repo, 'add', '-A')
    staged = _git(repo, 'diff', '--cached', '--name-only').split()
    assert 'pki/ca.crt' in staged and not [name for name in staged if name.endswith('.key')]
    assert stat.S_IMODE(pki.stat().st_mode) == 0o700
