"""cim.nats.jetstream_step_down against a real three-node JetStream cluster on loopback: the
streams, consumers and meta group a server leads hand over to the other servers before it stops;
check mode asks nothing; an account without a user is left to the server's lame duck stop and said
so; a stopped server leads nothing."""
import asyncio
import json
import time

import pytest

from conftest import run_module
from nats_harness import free_port, start_nats_server

PASSWORD = 'step-D0wn'


def _config(index, route, routes):
    return '''
server_name: n%(index)d
accounts {
  CIM { jetstream: enabled, users: [ {user: admin, password: "%(password)s"} ] }
  OTHER { jetstream: enabled, users: [ {user: other, password: "%(password)s"} ] }
  SYS { users: [ {user: sys, password: "%(password)s"} ] }
}
system_account: SYS
cluster {
  name: step-down-test
  listen: 127.0.0.1:%(route)d
  routes: [%(routes)s]
}
''' % dict(index=index, route=route, password=PASSWORD,
           routes=', '.join('nats-route://127.0.0.1:%d' % port for port in routes if port != route))


def _api(server, subject, payload=None, user='admin'):
    import nats

    async def run():
        nc = await nats.connect(server.url, user=user, password=PASSWORD, allow_reconnect=False)
        try:
            msg = await nc.request(subject, json.dumps(payload).encode() if payload is not None else b'', timeout=5)
            return json.loads(msg.data)
        finally:
            await nc.close()
    return asyncio.run(run())


def _until(what, check, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # the API is briefly unavailable while the cluster forms
            last = exc
        time.sleep(0.3)
    raise AssertionError('%s: not within %ss (last: %r)' % (what, timeout, last))


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    routes = dict((index, free_port()) for index in range(1, 4))
    servers = {}
    try:
        for index in routes:
            servers['n%d' % index] = start_nats_server(tmp_path_factory.mktemp('n%d' % index),
                                                       _config(index, routes[index], routes.values()))
        any_server = servers['n1']
        _until('a JetStream meta leader', lambda: 'error' not in _api(any_server, '$JS.API.INFO'))
        for name, user in (('ORDERS', 'admin'), ('AUDIT', 'other')):
            _until('stream %s created' % name, lambda: 'error' not in _api(
                any_server, '$JS.API.STREAM.CREATE.%s' % name,
                {'name': name, 'subjects': ['%s.>' % name.lower()], 'num_replicas': 3}, user=user))
        _until('consumer WORKER created', lambda: 'error' not in _api(
            any_server, '$JS.API.CONSUMER.CREATE.ORDERS.WORKER',
            {'stream_name': 'ORDERS', 'config': {'durable_name': 'WORKER', 'ack_policy': 'explicit', 'num_replicas': 3}}))
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def _leaders(servers):
    """{object: leader} of the two streams, the consumer and the meta group."""
    any_server = next(iter(servers.values()))
    out = {
        'CIM > ORDERS': _api(any_server, '$JS.API.STREAM.INFO.ORDERS')['cluster'].get('leader'),
        'OTHER > AUDIT': _api(any_server, '$JS.API.STREAM.INFO.AUDIT', user='other')['cluster'].get('leader'),
        'CIM > ORDERS > WORKER': _api(any_server, '$JS.API.CONSUMER.INFO.ORDERS.WORKER')['cluster'].get('leader'),
    }
    import nats

    async def meta():
        nc = await nats.connect(any_server.url, user='sys', password=PASSWORD, allow_reconnect=False)
        try:
            msg = await nc.request('$SYS.REQ.SERVER.PING.JSZ', b'{"leader_only": true}', timeout=5)
            return json.loads(msg.data)['data']['meta_cluster']['leader']
        finally:
            await nc.close()
    out['meta group'] = asyncio.run(meta())
    return out


def _step_to(servers, target, objects):
    """Make ``target`` lead each of ``objects`` (step the others down until it does)."""
    subjects = {'CIM > ORDERS': ('$JS.API.STREAM.LEADER.STEPDOWN.ORDERS', 'admin'),
                'OTHER > AUDIT': ('$JS.API.STREAM.LEADER.STEPDOWN.AUDIT', 'other'),
                'CIM > ORDERS > WORKER': ('$JS.API.CONSUMER.LEADER.STEPDOWN.ORDERS.WORKER', 'admin'),
                'meta group': ('$JS.API.META.LEADER.STEPDOWN', 'sys')}
    any_server = servers['n1']
    for label in objects:
        subject, user = subjects[label]

        def leads(label=label, subject=subject, user=user):
            if _leaders(servers)[label] == target:
                return True
            _api(any_server, subject, {'placement': {'preferred': target}}, user=user)
            return False
        _until('%s led by %s' % (label, target), leads)


def _args(servers, **args):
    return dict(args, server=[server.url for server in servers.values()], user='sys', password=PASSWORD, wait_timeout=20)


def test_everything_a_server_leads_moves_off_it(cluster):
    everything = ['CIM > ORDERS', 'OTHER > AUDIT', 'CIM > ORDERS > WORKER', 'meta group']
    _step_to(cluster, 'n2', everything)
    users = [{'account': 'CIM', 'user': 'admin', 'password': PASSWORD},
             {'account': 'OTHER', 'user': 'other', 'password': PASSWORD}]

    preview = run_module('jetstream_step_down', _args(cluster, server_name='n2', account_users=users), check=True)
    assert not preview.get('failed'), preview
    assert preview['changed'] and sorted(preview['led']) == sorted(everything), preview
    assert set(_leaders(cluster).values()) == {'n2'}, 'check mode asked something to step down'

    result = run_module('jetstream_step_down', _args(cluster, server_name='n2', account_users=users))
    assert not result.get('failed'), result
    assert result['changed'] and sorted(result['moved']) == sorted(everything), result
    assert result['not_moved'] == {}, result
    leaders = _leaders(cluster)
    assert 'n2' not in leaders.values(), leaders
    assert PASSWORD not in result['_stdout'], 'a password in the module output'

    again = run_module('jetstream_step_down', _args(cluster, server_name='n2', account_users=users))
    assert not again.get('failed') and not again['changed'] and again['led'] == [], again


def test_an_account_without_a_user_is_left_to_lame_duck_and_said(cluster):
    _step_to(cluster, 'n3', ['CIM > ORDERS', 'OTHER > AUDIT'])
    result = run_module('jetstream_step_down', _args(cluster, server_name='n3', account_users=[
        {'account': 'CIM', 'user': 'admin', 'password': PASSWORD}]))
    assert not result.get('failed'), result
    assert 'CIM > ORDERS' in result['moved'], result
    assert list(result['not_moved']) == ['OTHER > AUDIT'], result
    assert 'no user of account OTHER' in result['not_moved']['OTHER > AUDIT']
    assert any('OTHER > AUDIT stays led by n3' in warning for warning in result.get('warnings', [])), result
    leaders = _leaders(cluster)
    assert leaders['CIM > ORDERS'] != 'n3' and leaders['OTHER > AUDIT'] == 'n3', leaders


def test_a_stopped_server_leads_nothing(cluster):
    result = run_module('jetstream_step_down', _args(dict((k, v) for k, v in cluster.items() if k != 'n3'),
                                                     server_name='n9'))
    assert not result.get('failed'), result
    assert result['running'] is False and not result['changed'] and result['led'] == [], result
