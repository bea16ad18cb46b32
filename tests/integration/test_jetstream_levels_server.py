"""The JetStream API level of each release, and what a downgrade cannot serve, against real
nats-server binaries: every release of tools/server_releases.txt reports the level that
nats_api_level gives it; objects created on the newest release carry the level their features
need (nats_required_api_levels reads it from /jsz); an older release whose level is lower does
not serve them."""
import asyncio
import json
import os
import urllib.request

import pytest

from conftest import ROOT
from nats_harness import release_binary, start_nats_server

from ansible_collections.cim.nats.plugins.filter.nats_jetstream_levels import nats_api_level, nats_required_api_levels


def releases():
    with open(os.path.join(ROOT, 'tools', 'server_releases.txt')) as handle:
        return [line.strip() for line in handle if line.strip() and not line.startswith('#')]


def api(server, subject, payload=None):
    import nats

    async def ask():
        nc = await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=1)
        try:
            msg = await nc.request(subject, b'' if payload is None else json.dumps(payload).encode(), timeout=5)
            return json.loads(msg.data)
        finally:
            await nc.close()
    return asyncio.run(ask())


def start(directory, version):
    return start_nats_server(directory, 'http: 127.0.0.1:-1\n', binary=release_binary(version))


@pytest.mark.parametrize('version', releases())
def test_each_release_reports_the_level_the_table_gives(tmp_path, version):
    server = start(tmp_path, version)
    try:
        assert api(server, '$JS.API.INFO').get('api', {}).get('level', 0) == nats_api_level(version)
    finally:
        server.stop()


def test_objects_carry_their_level_and_an_older_release_does_not_serve_them(tmp_path):
    newest = releases()[-1]
    server = start(tmp_path, newest)
    try:
        assert 'error' not in api(server, '$JS.API.STREAM.CREATE.PLAIN', {'name': 'PLAIN', 'subjects': ['plain.>']})
        assert 'error' not in api(server, '$JS.API.STREAM.CREATE.COUNTERS', {
            'name': 'COUNTERS', 'subjects': ['counters.>'], 'allow_msg_counter': True})
        assert 'error' not in api(server, '$JS.API.STREAM.CREATE.TTL', {
            'name': 'TTL', 'subjects': ['ttl.>'], 'allow_msg_ttl': True})
        answer = api(server, '$JS.API.CONSUMER.CREATE.PLAIN.PINNED', {'stream_name': 'PLAIN', 'config': {
            'durable_name': 'PINNED', 'ack_policy': 'explicit', 'priority_policy': 'pinned_client',
            'priority_groups': ['workers']}})
        assert 'error' not in answer, answer
        with urllib.request.urlopen(server.monitor_url + '/jsz?accounts=true&streams=true&consumers=true&config=true') as resp:
            jsz = json.loads(resp.read())
    finally:
        server.stop()
    needs = nats_required_api_levels([jsz, None])
    assert needs == [
        {'account': '$G', 'stream': 'COUNTERS', 'consumer': '', 'level': 2},
        {'account': '$G', 'stream': 'PLAIN', 'consumer': 'PINNED', 'level': 1},
        {'account': '$G', 'stream': 'TTL', 'consumer': '', 'level': 1},
    ], needs

    # 2.11 (level 1) on the same store: it serves the level-1 objects; the counter stream is offline.
    older = start(tmp_path, '2.11.11')
    try:
        assert 'error' not in api(older, '$JS.API.STREAM.INFO.TTL')
        counters = api(older, '$JS.API.STREAM.INFO.COUNTERS')
        assert 'offline' in counters.get('error', {}).get('description', ''), counters
    finally:
        older.stop()
