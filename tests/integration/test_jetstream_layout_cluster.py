"""The CIM layout with three replicas on a three-node JetStream cluster (local nats-servers on
loopback, client TLS and a user), from an inventory whose `nats` group has three hosts, the way
playbooks/jetstream.yml is run against a production cluster: replicas follow the cluster size."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import ROOT, js_api, run_module
from nats_harness import free_port, start_nats_server
from recap import parse_recap

EXAMPLE_LAYOUT = os.path.join(ROOT, 'inventories', 'example', 'group_vars', 'all', 'jetstream.yml')
ADMIN_PASSWORD = 'cluster-Adm1n'


@pytest.fixture(scope='module')
def cluster(tmp_path_factory, tls_material):
    import ssl
    routes = [free_port() for _node in range(3)]
    servers = []
    try:
        for index, route in enumerate(routes):
            config = '''
server_name: n%(index)d
tls { cert_file: "%(server_cert)s", key_file: "%(server_key)s", timeout: 2 }
authorization { users: [ {user: cim_admin, password: "%(password)s"} ] }
cluster {
  name: cim-test
  listen: 127.0.0.1:%(route)d
  routes: [%(routes)s]
}
''' % dict(tls_material, index=index + 1, route=route, password=ADMIN_PASSWORD,
                routes=', '.join('nats-route://127.0.0.1:%d' % port for port in routes if port != route))
            servers.append(start_nats_server(tmp_path_factory.mktemp('node%d' % (index + 1)), config,
                                             scheme='tls', host='localhost'))
        context = ssl.create_default_context(cafile=tls_material['ca'])
        for server in servers:
            server.direct_options = {'tls': context, 'user': 'cim_admin', 'password': ADMIN_PASSWORD}
        _wait_for_meta_leader(servers[0])
        yield servers
    finally:
        for server in servers:
            server.stop()


def _wait_for_meta_leader(server, timeout=30.0):
    """JetStream answers once the three nodes have elected a meta leader."""
    deadline = time.time() + timeout
    answer = None
    while time.time() < deadline:
        try:
            answer = js_api(server, '$JS.API.INFO')
            if 'error' not in answer:
                return
        except Exception as exc:  # no responders while the meta group forms
            answer = exc
        time.sleep(0.2)
    raise AssertionError('the cluster elected no meta leader within %ss: %s' % (timeout, answer))


def _inventory(tmp_path):
    """An inventory like inventories/example: a `nats` group of three hosts, the example layout."""
    (tmp_path / 'group_vars' / 'all').mkdir(parents=True)
    (tmp_path / 'hosts.yml').write_text(
        'all:\n  children:\n    nats:\n      hosts:\n        n1: {}\n        n2: {}\n        n3: {}\n')
    os.symlink(EXAMPLE_LAYOUT, str(tmp_path / 'group_vars' / 'all' / 'jetstream.yml'))
    return str(tmp_path / 'hosts.yml')


def _playbook(inventory, extra):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('NATS_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
                           'playbooks/jetstream.yml', '-e', json.dumps(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    recap = parse_recap(proc.stdout)
    assert 'n1' in recap, proc.stdout + proc.stderr
    return proc, recap['n1']


def test_cim_layout_gets_three_replicas_on_a_three_node_cluster(cluster, tls_material, tmp_path):
    inventory = _inventory(tmp_path)
    # What a user sets for their cluster: its client URLs, its CA, the admin and its password (vault).
    extra = {'jetstream_server': [server.url for server in cluster], 'jetstream_tls_ca_file': tls_material['ca'],
             'jetstream_user': 'cim_admin', 'vault_nats_cim_admin_password': ADMIN_PASSWORD}
    proc, recap = _playbook(inventory, extra)
    assert (recap['failed'], recap['unreachable'], recap['changed']) == (0, 0, 1), proc.stdout + proc.stderr
    assert ADMIN_PASSWORD not in proc.stdout + proc.stderr

    for name in ('CIM_EVENTS', 'GRAPH_EVENTS', 'WORKFLOW_EVENTS', 'DLQ'):
        info = js_api(cluster[1], '$JS.API.STREAM.INFO.%s' % name)
        assert info['config']['num_replicas'] == 3, info
        assert info['cluster']['name'] == 'cim-test' and len(info['cluster'].get('replicas') or []) == 2
    consumer = js_api(cluster[2], '$JS.API.CONSUMER.INFO.CIM_EVENTS.GRAPH_PROJECTION')
    assert len(consumer['cluster'].get('replicas') or []) == 2  # consumers follow their stream's replicas

    proc, recap = _playbook(inventory, extra)
    assert (recap['failed'], recap['changed']) == (0, 0), proc.stdout + proc.stderr
    assert '4 streams (4 unchanged); 2 consumers (2 unchanged)' in re.sub(r'\s+', ' ', proc.stdout)


def test_many_replicated_streams_are_read_concurrently_and_stay_unchanged(cluster, tls_material):
    """The plan's consumer listings go out concurrently; in a cluster each is answered through
    the meta leader from the streams' leaders. 30 R3 streams with 3 consumers each: the second
    run finds all 120 objects unchanged and sends nothing."""
    args = {'server': [server.url for server in cluster], 'tls_ca_file': tls_material['ca'],
            'user': 'cim_admin', 'password': ADMIN_PASSWORD, 'request_timeout': 20}
    streams = [{'name': 'WIDE_%02d' % n, 'subjects': ['wide.%d.>' % n], 'num_replicas': 3} for n in range(30)]
    consumers = [{'stream': s['name'], 'name': 'C%d' % c, 'ack_policy': 'explicit'} for s in streams for c in range(3)]
    first = run_module('jetstream_layout', dict(args, streams=streams, consumers=consumers))
    assert first.get('failed') is not True, first.get('msg')
    assert first['summary'].startswith('30 streams (30 created); 90 consumers (90 created)'), first['summary']
    second = run_module('jetstream_layout', dict(args, streams=streams, consumers=consumers))
    assert second['changed'] is False, second['summary']
    assert second['summary'].startswith('30 streams (30 unchanged); 90 consumers (90 unchanged)'), second['summary']
    assert ADMIN_PASSWORD not in json.dumps(second)
