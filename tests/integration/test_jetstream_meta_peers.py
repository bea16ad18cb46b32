"""cim.nats.jetstream_meta_peers against a real five-node JetStream cluster on loopback: a
shrink 5 -> 3 moves every replica onto the servers that stay and loses no message; the refusals
come before anything is removed; a dead server replaced under a new name is forgotten, and its
replicas move to the new one."""
import asyncio
import json
import time

import pytest

from conftest import run_module
from nats_harness import free_port, start_nats_server

PASSWORD = 'meta-Pe3rs'
MESSAGES = 200


def _config(index, route, routes):
    return '''
server_name: n%(index)d
accounts {
  CIM { jetstream: enabled, users: [ {user: admin, password: "%(password)s"} ] }
  SYS { users: [ {user: sys, password: "%(password)s"} ] }
}
system_account: SYS
cluster {
  name: meta-test
  listen: 127.0.0.1:%(route)d
  routes: [%(routes)s]
}
''' % dict(index=index, route=route, password=PASSWORD,
           routes=', '.join('nats-route://127.0.0.1:%d' % port for port in routes if port != route))


class Cluster:
    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.routes = {}
        self.servers = {}

    def start(self, index, peers):
        """Start n<index> with routes to the servers ``peers`` (indexes)."""
        self.routes.setdefault(index, free_port())
        routes = [self.routes.setdefault(peer, free_port()) for peer in peers]
        server = start_nats_server(self.tmp.mktemp('n%d' % index), _config(index, self.routes[index], routes))
        self.servers['n%d' % index] = server
        return server

    def stop(self, name):
        self.servers.pop(name).stop()

    def kill(self, name):
        """A server that dies: no shutdown, no word to the others."""
        self.servers.pop(name).kill()

    def any(self):
        return next(iter(self.servers.values()))

    def module_args(self, **args):
        return dict(args, server=[server.url for server in self.servers.values()], user='sys', password=PASSWORD,
                    wait_timeout=60)


def _admin(server, coroutine):
    import nats

    async def run():
        nc = await nats.connect(server.url, user='admin', password=PASSWORD, allow_reconnect=False,
                                max_reconnect_attempts=1)
        try:
            return await coroutine(nc)
        finally:
            await nc.close()
    return asyncio.run(run())


def _api(server, subject, payload=None):
    async def ask(nc):
        msg = await nc.request(subject, json.dumps(payload).encode() if payload is not None else b'', timeout=5)
        return json.loads(msg.data)
    return _admin(server, ask)


def _until(what, check, timeout=60, done=bool):
    """``check()`` until ``done`` of its answer; the last answer is in the failure message."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = check()
            if done(last):
                return last
        except Exception as exc:  # the API is briefly unavailable while the cluster forms or moves
            last = exc
        time.sleep(0.5)
    raise AssertionError('%s: not within %ss (last: %r)' % (what, timeout, last))


def _placed_on(server, stream, names):
    """The stream's placement when it is on exactly ``names``, all current; else None."""
    placement = _placement(server, stream)
    return placement if placement[0] == set(names) and placement[1] else None


def _succeeded(result):
    return None if result.get('failed') else result


def _placement(server, stream):
    """(server names holding a replica, all current?, messages) of a stream."""
    info = _api(server, '$JS.API.STREAM.INFO.%s' % stream)
    cluster = info['cluster']
    names = [cluster['leader']] + [replica['name'] for replica in cluster.get('replicas', [])]
    current = all(replica.get('current') and not replica.get('offline') for replica in cluster.get('replicas', []))
    return set(names), current, info['state']['messages']


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    nodes = Cluster(tmp_path_factory)
    try:
        for index in range(1, 6):
            nodes.start(index, [peer for peer in range(1, 6) if peer != index])
        everyone = ['n1', 'n2', 'n3', 'n4', 'n5']

        def five_peers():
            if 'error' in _api(nodes.any(), '$JS.API.INFO'):
                return False
            preview = run_module('jetstream_meta_peers', nodes.module_args(members=everyone), check=True)
            return len(preview.get('peers_before', [])) == 5
        _until('a meta leader with five current peers', five_peers)
        yield nodes
    finally:
        for server in list(nodes.servers.values()):
            server.stop()


def test_shrink_refuses_then_moves_every_replica(cluster):
    # An R1 stream on one of the servers to retire: refused, nothing removed.
    _api(cluster.any(), '$JS.API.STREAM.CREATE.SOLO', {'name': 'SOLO', 'subjects': ['solo.>'], 'num_replicas': 1})
    holder = _until('the R1 stream has a leader', lambda: _api(cluster.any(), '$JS.API.STREAM.INFO.SOLO')['cluster'].get('leader'))
    others = [name for name in ['n1', 'n2', 'n3', 'n4', 'n5'] if name != holder]
    result = run_module('jetstream_meta_peers', cluster.module_args(members=others[:3], remove=[holder, others[3]]))
    assert result.get('failed'), result
    assert 'stream CIM > SOLO has its only replica on %s' % holder in result['msg'], result['msg']
    assert result['removed'] == [] and len(result['peers_before']) == 5

    # Removing three of five at once: no majority stays.
    result = run_module('jetstream_meta_peers', cluster.module_args(members=['n1', 'n2'], remove=['n3', 'n4', 'n5']),
                        check=True)
    assert result.get('failed') and 'fewer than a majority' in result['msg'], result

    _api(cluster.any(), '$JS.API.STREAM.DELETE.SOLO')
    # An R3 stream spread over all five (three replicas; where they land is the leader's choice).
    _api(cluster.any(), '$JS.API.STREAM.CREATE.EVENTS', {'name': 'EVENTS', 'subjects': ['events.>'], 'num_replicas': 3})

    async def publish(nc):
        js = nc.jetstream()
        for number in range(MESSAGES):
            await js.publish('events.test', b'event %d' % number)
    _admin(cluster.any(), publish)
    # Retire two servers that hold a replica, so that both must move.
    holders, _current, _messages = _placement(cluster.any(), 'EVENTS')
    retire = sorted(holders)[:2]
    stay = cluster.stay = sorted(set(cluster.servers) - set(retire))

    preview = run_module('jetstream_meta_peers', cluster.module_args(members=stay, remove=retire), check=True)
    assert preview['changed'] and preview['removed'] == retire and len(preview['peers_before']) == 5, preview
    assert preview['streams'] == {retire[0]: ['CIM > EVENTS'], retire[1]: ['CIM > EVENTS']}, preview

    result = run_module('jetstream_meta_peers', cluster.module_args(members=stay, remove=retire))
    assert not result.get('failed'), result.get('msg')
    assert result['removed'] == retire and result['peers_after'] == stay, result
    names, _current, messages = _until('EVENTS on the three that stay, all current',
                                       lambda: _placed_on(cluster.servers[stay[0]], 'EVENTS', stay))
    assert messages == MESSAGES
    print('after 5 -> 3: EVENTS on %s, %d of %d messages' % (sorted(names), messages, MESSAGES))

    for name in retire:
        cluster.stop(name)
    again = run_module('jetstream_meta_peers', cluster.module_args(members=stay, remove=retire))
    assert not again.get('failed') and not again['changed'], again


def test_dead_server_replaced_under_a_new_name_is_forgotten(cluster):
    # The meta leader dies (killed): the leader elected after it never heard from it, the hardest
    # case to see as dead. n6 takes its place (routes to the two that live).
    dead = _until('a meta leader', lambda: _api(cluster.any(), '$JS.API.INFO') and run_module(
        'jetstream_meta_peers', cluster.module_args(members=cluster.stay), check=True).get('leader'))
    living = [name for name in cluster.stay if name != dead]
    cluster.kill(dead)
    cluster.start(6, [int(name[1:]) for name in living])
    members = living + ['n6']
    _until('n6 current in the meta group',
           lambda: 'n6' in run_module('jetstream_meta_peers', cluster.module_args(members=members + [dead]),
                                      check=True).get('peers_before', []))
    # Killed, it says nothing to anyone: it counts as offline once it has been silent for a while.
    _until('the killed server counts as offline',
           lambda: run_module('jetstream_meta_peers', cluster.module_args(members=members, remove_stale=True), check=True),
           done=lambda preview: preview.get('removed') == [dead])
    # Without remove_stale, the dead peer stays (nothing to do).
    kept = run_module('jetstream_meta_peers', cluster.module_args(members=members), check=True)
    assert not kept.get('failed') and kept['removed'] == [] and dead in kept['peers_before'], kept

    result = _until('the dead server forgotten', lambda: _succeeded(
        run_module('jetstream_meta_peers', cluster.module_args(members=members, remove_stale=True))), timeout=90)
    assert result['removed'] == [dead] and result['peers_after'] == members, result
    assert result['streams'][dead] == ['CIM > EVENTS'], result
    names, _current, messages = _until('EVENTS re-placed onto n6, all current',
                                       lambda: _placed_on(cluster.servers['n6'], 'EVENTS', members))
    assert messages == MESSAGES
