"""The shared connection, against real servers: TLS, users, NKEYs, creds, tokens, domains,
environment fallback, and errors that name the server and the reason without hanging."""
import os
import subprocess
import sys
import time

import pytest
from ansible_collections.cim.nats.plugins.module_utils.connection import JetStreamClient, resolve_connection

from conftest import COLLECTIONS, make_nkey, run_module, stream_config
from nats_harness import free_port, release_binary, start_nats_server


def test_unreachable_server_fails_fast_naming_it():
    url = 'nats://127.0.0.1:%d' % free_port()
    result = run_module('jetstream_info', {'server': url, 'connect_timeout': 2})
    assert result['failed'] is True
    assert url in result['msg'] and 'connection refused' in result['msg']
    assert result['_seconds'] < 5


def test_every_server_in_the_list_is_named():
    first, second = 'nats://127.0.0.1:%d' % free_port(), 'nats://127.0.0.1:%d' % free_port()
    result = run_module('jetstream_info', {'server': [first, second], 'connect_timeout': 1})
    assert first in result['msg'] and second in result['msg']


def test_second_server_is_used_when_the_first_is_down(nats_plain):
    down = 'nats://127.0.0.1:%d' % free_port()
    result = run_module('jetstream_info', {'server': [down, nats_plain.url], 'streams': ['NONE']})
    assert result.get('failed') is not True, result['msg']
    assert result['server']['connected_url'] == nats_plain.url


def test_tls_with_client_certificate_and_user(nats_tls, unique):
    result = run_module('jetstream_stream', dict(nats_tls.args, name=unique, subjects=[unique.lower() + '.>']))
    assert result['changed'] is True, result.get('msg')
    assert result['stream']['config']['name'] == unique


def test_password_never_appears_in_the_output(nats_tls):
    result = run_module('jetstream_info', dict(nats_tls.args, streams=['NONE']))
    assert result.get('failed') is not True, result.get('msg')
    assert 's3cret-Pa55' not in result['_stdout']


def test_wrong_password_is_an_authorization_error(nats_tls):
    result = run_module('jetstream_info', dict(nats_tls.args, password='wrong'))
    assert result['failed'] is True
    assert nats_tls.url in result['msg'] and 'authorization violation' in result['msg']
    assert 'wrong' not in result['_stdout']


def test_unknown_ca_fails_verification(nats_tls):
    args = dict(nats_tls.args)
    del args['tls_ca_file']
    result = run_module('jetstream_info', args)
    assert result['failed'] is True
    assert 'certificate verify failed' in result['msg'] or 'certificate verification failed' in result['msg']


def test_missing_client_certificate_is_refused(nats_tls):
    args = dict(nats_tls.args)
    del args['tls_cert_file'], args['tls_key_file']
    result = run_module('jetstream_info', args)
    assert result['failed'] is True and nats_tls.url in result['msg']


def test_tls_hostname_when_the_certificate_names_another_host(tmp_path, tls_material):
    config = 'tls {\n  cert_file: "%s"\n  key_file: "%s"\n}\n' % (tls_material['named_cert'], tls_material['named_key'])
    server = start_nats_server(tmp_path, config, scheme='tls')
    try:
        args = {'server': server.url, 'tls_ca_file': tls_material['ca'], 'streams': ['NONE']}
        refused = run_module('jetstream_info', args)
        assert refused['failed'] is True and 'TLS' in refused['msg']
        accepted = run_module('jetstream_info', dict(args, tls_hostname='nats.test'))
        assert accepted.get('failed') is not True, accepted.get('msg')
    finally:
        server.stop()


def test_nkey_seed_and_seed_file(nats_tls, tmp_path, unique):
    base = dict(nats_tls.args)
    del base['user'], base['password']
    result = run_module('jetstream_info', dict(base, nkey_seed=nats_tls.nkey_seed, streams=['NONE']))
    assert result.get('failed') is not True, result.get('msg')
    assert nats_tls.nkey_seed not in result['_stdout']
    seed_file = tmp_path / 'user.nk'
    seed_file.write_text(nats_tls.nkey_seed + '\n')
    result = run_module('jetstream_info', dict(base, nkey_seed_file=str(seed_file), streams=['NONE']))
    assert result.get('failed') is not True, result.get('msg')


def test_environment_fallbacks(nats_tls):
    env = {'NATS_URL': nats_tls.url, 'NATS_USER': 'admin', 'NATS_PASSWORD': 's3cret-Pa55',
           'NATS_CA': nats_tls.tls['ca'], 'NATS_CERT': nats_tls.tls['client_cert'],
           'NATS_KEY': nats_tls.tls['client_key']}
    result = run_module('jetstream_info', {'streams': ['NONE']}, env=env)
    assert result.get('failed') is not True, result.get('msg')
    assert result['server']['connected_url'] == nats_tls.url
    # a method in the task replaces the environment's credentials instead of mixing with them
    mixed = run_module('jetstream_info', {'streams': ['NONE'], 'token': 'not-a-user-token'}, env=env)
    assert mixed['failed'] is True and 'authorization violation' in mixed['msg']


def test_websocket_url(tmp_path, unique):
    """A ws:// URL reaches the server's websocket listener: the module brings in the websocket
    transport's library only for such URLs, and it works."""
    port = free_port()
    server = start_nats_server(tmp_path, 'websocket {\n  port: %d\n  no_tls: true\n}\n' % port)
    try:
        url = 'ws://127.0.0.1:%d' % port
        created = run_module('jetstream_stream', {'server': [url], 'name': unique, 'subjects': [unique.lower() + '.>']})
        assert created.get('failed') is not True, created.get('msg')
        assert created['changed'] is True
        info = run_module('jetstream_info', {'server': [url], 'streams': [unique]})
        assert info.get('failed') is not True, info.get('msg')
        assert info['server']['connected_url'] == url
        assert unique in info['streams']
        # Another user of nats-py, in a process that imported the collection's connection first,
        # still gets its websocket transport.
        other = subprocess.run([sys.executable, '-c', OTHER_WEBSOCKET_USER, url], capture_output=True, text=True,
                               env=dict(os.environ, PYTHONPATH=COLLECTIONS), timeout=60, check=False)
        assert other.returncode == 0 and other.stdout.strip() == 'connected', other.stdout + other.stderr
    finally:
        server.stop()


OTHER_WEBSOCKET_USER = """
import asyncio, sys
import ansible_collections.cim.nats.plugins.module_utils.connection  # noqa: F401 (first, as a module run)
import nats


async def main(url):
    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=5)
    print('connected' if nc.is_connected else 'not connected')
    await nc.close()


asyncio.run(main(sys.argv[1]))
"""


def test_a_read_sent_ahead_is_collected_after_a_wait_longer_than_its_timeout(nats_plain, unique):
    """A read sent ahead (the reconcile's first reads, while the layout is checked) waits for its
    answer from when it is collected: work longer than the request timeout in between is fine."""
    settings = resolve_connection({'server': [nats_plain.url], 'request_timeout': 1}, environ={})
    with JetStreamClient(settings) as client:
        client.api('STREAM.CREATE.' + unique, {'name': unique, 'subjects': [unique.lower() + '.>']})
        client.prefetch('STREAM.LIST', 'streams')
        time.sleep(1.5)
        assert unique in [info['config']['name'] for info in client.paged('STREAM.LIST', 'streams')]
        client.api('STREAM.DELETE.' + unique)


def test_no_jetstream_permission_is_explained(nats_tls):
    args = dict(nats_tls.args, user='nojs', password='nojs-pass', request_timeout=2)
    result = run_module('jetstream_info', args)
    assert result['failed'] is True
    assert 'the server refused $JS.API.INFO to this user' in result['msg'] and 'ermissions' in result['msg']
    assert result['_seconds'] < 2


def test_domain_prefix(nats_tls, unique):
    result = run_module('jetstream_stream', dict(nats_tls.args, domain='hub', name=unique))
    assert result['changed'] is True, result.get('msg')
    wrong = run_module('jetstream_stream', dict(nats_tls.args, domain='elsewhere', name=unique, request_timeout=2))
    assert wrong['failed'] is True
    assert '$JS.elsewhere.API.STREAM.INFO.%s' % unique in wrong['msg'] and "domain 'elsewhere'" in wrong['msg']


def test_token(tmp_path, unique):
    server = start_nats_server(tmp_path, 'authorization {\n  token: "t0ken-value"\n}\n')
    try:
        ok = run_module('jetstream_stream', {'server': server.url, 'token': 't0ken-value', 'name': unique})
        assert ok['changed'] is True, ok.get('msg')
        assert 't0ken-value' not in ok['_stdout']
        env_ok = run_module('jetstream_stream', {'server': server.url, 'name': unique}, env={'NATS_TOKEN': 't0ken-value'})
        assert env_ok['changed'] is False, env_ok.get('msg')
        bad = run_module('jetstream_stream', {'server': server.url, 'token': 'nope', 'name': unique})
        assert bad['failed'] is True and 'authorization violation' in bad['msg']
    finally:
        server.stop()


def test_creds_file_in_operator_mode(nats_jwt, unique):
    args = {'server': nats_jwt.url, 'creds_file': nats_jwt.creds, 'name': unique, 'max_age': '1h'}
    created = run_module('jetstream_stream', args)
    assert created['changed'] is True, created.get('msg')
    again = run_module('jetstream_stream', {'server': nats_jwt.url, 'name': unique, 'max_age': '1h'},
                       env={'NATS_CREDS': nats_jwt.creds})
    assert again['changed'] is False, again.get('msg')


def test_inline_creds_in_operator_mode(nats_jwt, tmp_path, unique):
    import nkeys
    with open(nats_jwt.creds) as handle:
        content = handle.read()
    seed = [line for line in content.splitlines() if line.startswith('SU')][0]
    args = {'server': nats_jwt.url, 'creds': content, 'name': unique, 'max_age': '1h'}
    created = run_module('jetstream_stream', args, env={'TMPDIR': str(tmp_path)})
    assert created['changed'] is True, created.get('msg')
    assert run_module('jetstream_stream', args)['changed'] is False
    # the secret is never in the output, and nothing was written for it
    assert seed not in created['_stdout'] and content not in created['_stdout']
    assert list(tmp_path.iterdir()) == []
    other_seed = make_nkey(nkeys.PREFIX_BYTE_USER)[0]
    wrong = run_module('jetstream_info', {'server': nats_jwt.url, 'creds': content.replace(seed, other_seed)})
    assert wrong['failed'] is True and 'authorization violation' in wrong['msg']
    assert other_seed not in wrong['_stdout']
    both = run_module('jetstream_info', {'server': nats_jwt.url, 'creds': content, 'creds_file': nats_jwt.creds})
    assert both['failed'] is True and 'mutually exclusive' in both['msg']


@pytest.mark.parametrize('release', ('newest', '2.10.26'))
def test_tls_handshake_first(tmp_path, tls_material, release):
    config = 'tls {\n  cert_file: "%s"\n  key_file: "%s"\n  handshake_first: true\n}\n' % (
        tls_material['server_cert'], tls_material['server_key'])
    binary = None if release == 'newest' else release_binary(release)
    server = start_nats_server(tmp_path, config, scheme='tls', host='localhost', binary=binary)
    try:
        args = {'server': server.url, 'tls_ca_file': tls_material['ca'], 'streams': ['NONE'], 'connect_timeout': 2}
        refused = run_module('jetstream_info', args)
        assert refused['failed'] is True and server.url in refused['msg'] and refused['_seconds'] < 10
        assert 'needs tls_handshake_first: true' in refused['msg']
        accepted = run_module('jetstream_info', dict(args, tls_handshake_first=True))
        assert accepted.get('failed') is not True, accepted.get('msg')
        assert accepted['server']['version'].startswith(release if release != 'newest' else '2.')
    finally:
        server.stop()


@pytest.mark.parametrize('options, words', [
    ({'token': 'token-value-x', 'user': 'user-x'}, 'mutually exclusive'),
    ({'tls_cert_file': '/x.pem'}, 'tls_key_file'),
    ({'connect_timeout': 'soon'}, 'connect_timeout'),
])
def test_bad_connection_options(nats_plain, options, words):
    result = run_module('jetstream_info', dict(nats_plain.args, **options))
    assert result['failed'] is True and words in result['msg']


def test_plain_server_has_nothing_left_from_tls_tests(nats_plain, unique):
    # independence check: the plain and TLS servers are separate processes
    assert stream_config(nats_plain, unique) is None


@pytest.mark.parametrize('options, words', [
    ({'tls_ca_file': '/nonexistent/ca.pem'}, 'tls_ca_file /nonexistent/ca.pem does not exist'),
    ({'creds_file': '/nonexistent/user.creds'}, 'creds_file /nonexistent/user.creds does not exist'),
    ({'server': 'http://127.0.0.1:4222'}, "server 'http://127.0.0.1:4222': use nats://"),
])
def test_settings_that_cannot_work_are_named(nats_plain, options, words):
    result = run_module('jetstream_info', dict(nats_plain.args, **options))
    assert result['failed'] is True and words in result['msg']
