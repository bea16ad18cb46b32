"""cim.nats.jetstream_kv_bucket and cim.nats.jetstream_object_store against a real nats-server."""
import asyncio
import time

import pytest

from conftest import TESTED_RELEASES, run_module, stream_config, stream_info, server_for

SECOND = 10 ** 9


@pytest.fixture(params=('plain', 'tls') + TESTED_RELEASES)
def server(request):
    """Every lifecycle test runs without and with TLS and users on the newest release, and on older ones."""
    return server_for(request, request.param)


def put_keys(server, bucket, count):
    import nats

    async def put():
        nc = await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=1,
                                **server.client_options())
        try:
            kv = await nc.jetstream().key_value(bucket)
            for number in range(count):
                await kv.put('key%d' % number, b'value')
        finally:
            await nc.close()
    asyncio.run(put())


def put_object(server, bucket, name, data):
    import nats

    async def put():
        nc = await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=1,
                                **server.client_options())
        try:
            store = await nc.jetstream().object_store(bucket)
            await store.put(name, data)
        finally:
            await nc.close()
    asyncio.run(put())


def test_kv_lifecycle(server, unique):
    bucket = unique.lower()
    stream = 'KV_' + bucket

    def kv(check=False, diff=False, **args):
        return run_module('jetstream_kv_bucket', dict(server.args, bucket=bucket, **args), check=check, diff=diff)

    planned = kv(check=True, diff=True, history=5, ttl='1h')
    assert (planned['changed'], planned['action']) == (True, 'create')
    assert stream_config(server, stream) is None
    created = kv(diff=True, history=5, ttl='1h')
    assert (created['changed'], created['bucket'], created['diff']) == (True, bucket, planned['diff'])
    config = stream_config(server, stream)
    assert (config['max_msgs_per_subject'], config['max_age'], config['subjects']) == (
        5, 3600 * SECOND, ['$KV.%s.>' % bucket])
    assert config['deny_delete'] and config['allow_rollup_hdrs'] and config['discard'] == 'new'
    assert kv(history=5, ttl='1h')['changed'] is False

    # the bucket works for a NATS client
    put_keys(server, bucket, 3)
    assert stream_info(server, stream)['state']['messages'] == 3

    updated = kv(diff=True, history=10, ttl='1h', max_value_size='1KB', description='cache')
    assert updated['action'] == 'update'
    assert updated['changes']['max_msgs_per_subject'] == {'old': 5, 'new': 10}
    assert updated['diff']['after']['max_msg_size'] == 1024
    assert stream_config(server, stream)['max_msgs_per_subject'] == 10
    reset = kv(history=10)
    assert reset['changes']['max_age'] == {'old': 3600 * SECOND, 'new': 0}

    refused = kv(history=10, storage='memory')
    assert refused['failed'] is True and 'storage: file -> memory' in refused['msg']
    assert 'KV bucket %s' % bucket in refused['msg'] and '3 messages' in refused['msg']
    recreated = kv(history=10, storage='memory', recreate=True, acknowledge_data_loss=True)
    assert recreated['action'] == 'recreate', recreated.get('msg')
    info = stream_info(server, stream)
    assert info['config']['storage'] == 'memory' and info['state']['messages'] == 0
    assert kv(history=10, storage='memory')['changed'] is False

    # a bucket with values is deleted only when the task says so; check mode says what goes
    put_keys(server, bucket, 2)
    refused = kv(check=True, state='absent')
    assert refused['failed'] is True and 'holds 2 messages' in refused['msg'], refused
    assert kv(state='absent')['failed'] is True and stream_config(server, stream) is not None
    planned = kv(check=True, state='absent', acknowledge_data_loss=True)
    assert planned['action'] == 'delete' and planned['data_loss']['messages'] == 2
    assert stream_config(server, stream) is not None
    assert kv(state='absent', acknowledge_data_loss=True)['action'] == 'delete'
    assert stream_config(server, stream) is None
    assert kv(state='absent')['changed'] is False


def test_kv_bucket_made_by_another_client(nats_plain, unique):
    # nats-py makes buckets with allow_msg_ttl on (never reversible) and without direct get
    import nats
    bucket = unique.lower()

    async def make():
        nc = await nats.connect(nats_plain.url)
        try:
            await nc.jetstream().create_key_value(bucket=bucket, history=3)
        finally:
            await nc.close()
    asyncio.run(make())
    adopted = run_module('jetstream_kv_bucket', dict(nats_plain.args, bucket=bucket, history=3))
    assert adopted.get('failed') is not True, adopted.get('msg')
    assert set(adopted['changes']) <= {'allow_direct'}
    assert run_module('jetstream_kv_bucket', dict(nats_plain.args, bucket=bucket, history=3))['changed'] is False


def test_kv_options_are_stable(nats_plain, unique):
    args = dict(nats_plain.args, bucket=unique.lower(), history=64, ttl='30s', max_value_size='4KB',
                max_bucket_size='10MB', storage='file', replicas=1, compression='s2', description='all',
                metadata={'owner': 'graph'}, republish={'dest': 'kvchanges.' + unique.lower() + '.>'})
    created = run_module('jetstream_kv_bucket', args)
    assert created['changed'] is True and created.get('warnings') is None, created
    config = stream_config(nats_plain, 'KV_' + unique.lower())
    assert config['duplicate_window'] == 30 * SECOND and config['max_bytes'] == 10 << 20
    assert config['republish']['dest'] == 'kvchanges.' + unique.lower() + '.>'
    assert run_module('jetstream_kv_bucket', args)['changed'] is False


def test_object_store_lifecycle(server, unique):
    bucket = unique.lower()
    stream = 'OBJ_' + bucket

    def obj(check=False, diff=False, **args):
        return run_module('jetstream_object_store', dict(server.args, bucket=bucket, **args), check=check, diff=diff)

    planned = obj(check=True, diff=True, max_bytes='1GiB', description='artifacts')
    assert planned['action'] == 'create' and stream_config(server, stream) is None
    created = obj(diff=True, max_bytes='1GiB', description='artifacts')
    assert created['changed'] is True and created['diff'] == planned['diff']
    config = stream_config(server, stream)
    assert config['subjects'] == ['$O.%s.C.>' % bucket, '$O.%s.M.>' % bucket]
    assert (config['max_bytes'], config['description'], config['allow_direct']) == (1 << 30, 'artifacts', True)
    assert obj(max_bytes='1GiB', description='artifacts')['changed'] is False

    updated = obj(max_bytes='2GiB', description='artifacts', ttl='7d', compression='s2')
    assert updated['action'] == 'update'
    assert set(updated['changes']) == {'max_bytes', 'max_age', 'compression'}
    assert stream_config(server, stream)['compression'] == 's2'

    refused = obj(max_bytes='2GiB', ttl='7d', compression='s2', storage='memory')
    assert refused['failed'] is True and 'object store %s' % bucket in refused['msg']
    recreated = obj(storage='memory', recreate=True, acknowledge_data_loss=True)
    assert recreated['action'] == 'recreate'
    assert stream_config(server, stream)['storage'] == 'memory'

    put_object(server, bucket, 'report.csv', b'a,b\n' * 100)
    refused = obj(state='absent')
    assert refused['failed'] is True and 'object store %s holds 2 messages' % bucket in refused['msg'], refused
    assert obj(state='absent', acknowledge_data_loss=True)['action'] == 'delete'
    assert stream_config(server, stream) is None
    assert obj(state='absent')['changed'] is False


@pytest.mark.parametrize('module, args, words', [
    ('jetstream_kv_bucket', {'bucket': 'bad name'}, 'bucket name'),
    ('jetstream_kv_bucket', {'bucket': 'ok', 'history': 100}, 'history must be between 1 and 64'),
    ('jetstream_kv_bucket', {'bucket': 'ok', 'ttl': 'later'}, 'ttl: cannot read'),
    ('jetstream_object_store', {'bucket': 'a.b'}, 'bucket name'),
    ('jetstream_object_store', {'bucket': 'ok', 'max_bytes': 'big'}, 'max_bytes: cannot read'),
])
def test_bad_input(nats_plain, module, args, words):
    result = run_module(module, dict(nats_plain.args, **args))
    assert result['failed'] is True and words in result['msg']


def _wait_for_messages(server, stream, count, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = stream_info(server, stream)
        if info and info['state']['messages'] >= count:
            return info
        time.sleep(0.1)
    raise AssertionError('%s never held %d messages: %s' % (stream, count, stream_info(server, stream)))


def get_key(server, bucket, key):
    import nats

    async def get():
        nc = await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=1,
                                **server.client_options())
        try:
            kv = await nc.jetstream().key_value(bucket)
            return (await kv.get(key)).value
        finally:
            await nc.close()
    return asyncio.run(get())


def test_kv_mirror_and_sources(nats_plain, unique):
    def kv(bucket, check=False, **args):
        return run_module('jetstream_kv_bucket', dict(nats_plain.args, bucket=bucket, **args), check=check)

    origin, other, mirror, merged = ('%s_%s' % (unique.lower(), part) for part in ('a', 'b', 'm', 's'))
    for bucket in (origin, other):
        assert kv(bucket, history=2)['action'] == 'create'
    put_keys(nats_plain, origin, 2)

    # a mirror reads KV_<origin>, has no subjects of its own and is stable
    created = kv(mirror, history=2, mirror={'name': origin})
    assert created['action'] == 'create' and created.get('warnings') is None, created
    config = stream_config(nats_plain, 'KV_' + mirror)
    assert config['mirror']['name'] == 'KV_' + origin and not config.get('subjects')
    assert kv(mirror, history=2, mirror={'name': origin})['changed'] is False
    assert _wait_for_messages(nats_plain, 'KV_' + mirror, 2)['state']['messages'] == 2
    # the server's rule: a mirror cannot change (removing it would promote the bucket)
    changed = kv(mirror, history=2, mirror={'name': other})
    assert changed['failed'] is True and 'a mirror can be removed' in changed['msg']
    # left out, the mirror is removed: the bucket is promoted to one with its own subjects
    promoted = kv(mirror, history=2)
    assert promoted['action'] == 'update' and set(promoted['changes']) >= {'mirror', 'subjects'}
    assert stream_config(nats_plain, 'KV_' + mirror)['subjects'] == ['$KV.%s.>' % mirror]
    assert kv(mirror, history=2)['changed'] is False

    # sources are mapped onto this bucket's keys: a client reads them here
    sources = [{'name': origin}, {'name': other}]
    created = kv(merged, history=2, sources=sources)
    assert created['action'] == 'create' and created.get('warnings') is None, created
    config = stream_config(nats_plain, 'KV_' + merged)
    assert config['subjects'] == ['$KV.%s.>' % merged]
    assert sorted(s['name'] for s in config['sources']) == ['KV_' + origin, 'KV_' + other]
    assert kv(merged, history=2, sources=sources)['changed'] is False
    _wait_for_messages(nats_plain, 'KV_' + merged, 2)
    assert get_key(nats_plain, merged, 'key1') == b'value'
    dropped = kv(merged, history=2, sources=[{'name': origin}])
    assert dropped['action'] == 'update' and [s['name'] for s in stream_config(
        nats_plain, 'KV_' + merged)['sources']] == ['KV_' + origin]

    both = kv(unique.lower() + '_x', mirror={'name': origin}, sources=sources)
    assert both['failed'] is True and 'mirrors another bucket or has sources, not both' in both['msg']
    markers = kv(unique.lower() + '_y', mirror={'name': origin}, limit_marker_ttl='5s')
    assert markers['failed'] is True and 'limit_marker_ttl cannot be set on a mirror' in markers['msg']


@pytest.mark.parametrize('release', ('plain', '2.12.8'))
def test_kv_limit_marker_ttl(request, release, unique):
    server = server_for(request, release)
    bucket = unique.lower()

    def kv(**args):
        return run_module('jetstream_kv_bucket', dict(server.args, bucket=bucket, **args))

    created = kv(ttl='1h', limit_marker_ttl='5s')
    assert created['action'] == 'create' and created.get('warnings') is None, created
    config = stream_config(server, 'KV_' + bucket)
    assert (config['subject_delete_marker_ttl'], config['allow_msg_ttl']) == (5 * SECOND, True)
    assert kv(ttl='1h', limit_marker_ttl='5s')['changed'] is False
    assert kv(ttl='1h', limit_marker_ttl='10s')['changes'] == {
        'subject_delete_marker_ttl': {'old': 5 * SECOND, 'new': 10 * SECOND}}
    # left out, the markers stop; message TTLs stay on (the server never turns them off)
    assert kv(ttl='1h')['action'] == 'update'
    config = stream_config(server, 'KV_' + bucket)
    assert (config.get('subject_delete_marker_ttl', 0), config['allow_msg_ttl']) == (0, True)
    assert kv(ttl='1h')['changed'] is False
    assert kv(ttl='1h', limit_marker_ttl='0.5s')['msg'].endswith('limit_marker_ttl must be at least 1s (or 0 for none)')


def test_kv_limit_marker_ttl_is_refused_before_2_11(nats_release, unique):
    server = nats_release('2.10.26')
    refused = run_module('jetstream_kv_bucket', dict(server.args, bucket=unique.lower(), limit_marker_ttl='5s'))
    assert refused['failed'] is True
    assert 'subject_delete_marker_ttl needs nats-server 2.11.0 or newer; the server runs 2.10.26' in refused['msg']
    assert stream_config(server, 'KV_' + unique.lower()) is None
