# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One connection to NATS for every JetStream module: options, environment fallback, TLS,
authentication, and the JetStream JSON API over request/reply.

``JetStreamClient`` is a synchronous facade over nats-py's asyncio client.  It owns its event
loop, so callers (single-object modules, the bulk reconcile, tests) stay plain functions and
one connection can carry hundreds of API calls.  It never reconnects: an error surfaces at
once, naming the server and the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import inspect
import json
import os
import socket
import ssl
import sys
import traceback


def _import_nats():
    """Import nats-py without the aiohttp of its websocket transport.

    nats-py's transport module imports aiohttp whenever it is installed: a tenth of a second
    or more of every module run, for a transport only ws:// and wss:// URLs use. Each new
    websocket transport gets it handed over (``_hand_over_aiohttp_on_use``).
    """
    left_out = 'aiohttp' not in sys.modules
    if left_out:
        sys.modules['aiohttp'] = None  # makes "import aiohttp" raise ImportError
    try:
        import nats
        import nats.errors
        from nats.aio.client import RawCredentials
    finally:
        if left_out and sys.modules.get('aiohttp', False) is None:
            del sys.modules['aiohttp']
    return nats, RawCredentials


def _websocket_support():
    """Give nats-py's websocket transport the aiohttp ``_import_nats`` left out, when installed."""
    from nats.aio import transport
    if transport.aiohttp is not None:
        return
    try:
        import aiohttp
        import multidict
    except ImportError:
        return  # nats-py says what to install when it opens the websocket
    transport.aiohttp, transport.multidict = aiohttp, multidict


def _hand_over_aiohttp_on_use(transport_class):
    """Make every new websocket transport (ours, or another library's in the same process) get aiohttp first."""
    if getattr(transport_class.__init__, 'hands_over_aiohttp', False):
        return
    original = transport_class.__init__

    def __init__(self, *args, **kwargs):
        _websocket_support()
        original(self, *args, **kwargs)

    __init__.hands_over_aiohttp = True
    transport_class.__init__ = __init__


NATS_IMPORT_ERROR = None
try:
    nats, RawCredentials = _import_nats()
    from nats.aio.transport import WebSocketTransport
    _hand_over_aiohttp_on_use(WebSocketTransport)
    HAS_NATS = True
except ImportError:  # pragma: no cover - exercised by the "missing library" path of the modules
    nats = None
    RawCredentials = None
    HAS_NATS = False
    NATS_IMPORT_ERROR = traceback.format_exc()

# Bounds on closing: nats-py's close() can wait forever on a transport whose TLS handshake failed.
CLOSE_TIMEOUT = 5
FAILED_CLOSE_TIMEOUT = 0.5
# Reads a bulk reconcile keeps in flight at once (consumer listings): enough to hide the round
# trips, few enough to stay far below the server's queue of pending JetStream API requests.
CONCURRENT_READS = 16
DEFAULT_SERVER = 'nats://localhost:4222'

# Option -> environment variable, as natscli and the nats tools read them.
ENV_FALLBACKS = {
    'server': 'NATS_URL',
    'user': 'NATS_USER',
    'password': 'NATS_PASSWORD',
    'token': 'NATS_TOKEN',
    'nkey_seed_file': 'NATS_NKEY',
    'creds_file': 'NATS_CREDS',
    'tls_ca_file': 'NATS_CA',
    'tls_cert_file': 'NATS_CERT',
    'tls_key_file': 'NATS_KEY',
}
AUTH_OPTIONS = ('user', 'password', 'token', 'nkey_seed', 'nkey_seed_file', 'creds_file', 'creds')
CONNECTION_OPTIONS = (
    'server', 'user', 'password', 'token', 'nkey_seed', 'nkey_seed_file', 'creds_file', 'creds',
    'tls_ca_file', 'tls_cert_file', 'tls_key_file', 'tls_hostname', 'tls_handshake_first', 'connect_timeout',
    'request_timeout', 'domain',
)


def connection_argument_spec():
    """Return the argument spec of the connection options shared by all JetStream modules.

    Kept in step with the ``cim.nats.connection`` doc fragment.  Unset options fall back to
    the environment in ``resolve_connection`` (not through Ansible's ``fallback``), so that a
    method given in the task (for example ``token``) is never mixed with another method from
    the environment (for example ``NATS_USER``).
    """
    return dict(
        server=dict(type='list', elements='str', aliases=['servers', 'url']),
        user=dict(type='str', aliases=['username']),
        password=dict(type='str', no_log=True),
        token=dict(type='str', no_log=True),
        nkey_seed=dict(type='str', no_log=True),
        nkey_seed_file=dict(type='path'),
        creds_file=dict(type='path'),
        creds=dict(type='str', no_log=True, aliases=['credential_data']),
        tls_ca_file=dict(type='path'),
        tls_cert_file=dict(type='path'),
        tls_key_file=dict(type='path', no_log=False),
        tls_hostname=dict(type='str'),
        tls_handshake_first=dict(type='bool', default=False, aliases=['tls_first']),
        connect_timeout=dict(type='float', default=5.0),
        request_timeout=dict(type='float', default=10.0),
        domain=dict(type='str'),
        server_limits=dict(type='dict', options=dict(
            duplicate_window=dict(type='raw'),
            max_ack_pending=dict(type='int'),
            max_request_batch=dict(type='int'),
        )),
    )


def connection_mutually_exclusive():
    """Pairs of connection options that cannot be used together (for ``mutually_exclusive``)."""
    return [
        ('token', 'user'),
        ('token', 'creds_file'),
        ('user', 'creds_file'),
        ('nkey_seed', 'nkey_seed_file'),
        ('nkey_seed', 'creds_file'),
        ('nkey_seed_file', 'creds_file'),
        ('creds', 'creds_file'),
        ('creds', 'token'),
        ('creds', 'user'),
        ('creds', 'nkey_seed'),
        ('creds', 'nkey_seed_file'),
    ]


def connection_required_together():
    """Groups of connection options that only make sense together (for ``required_together``)."""
    return [('tls_cert_file', 'tls_key_file')]


class NatsError(Exception):
    """Base of every error this collection raises about NATS; ``str()`` is the user's message."""


class NatsConnectionError(NatsError):
    """No server could be reached, or every server refused us."""


class JetStreamUnavailableError(NatsError):
    """Connected, but nothing answers the JetStream API (disabled, wrong domain, no permission)."""


class JetStreamApiError(NatsError):
    """The JetStream API answered with an error; keeps the server's description and codes."""

    def __init__(self, description, err_code=None, code=None, subject=None):
        self.description = description
        self.err_code = err_code
        self.code = code
        self.subject = subject
        codes = []
        if err_code is not None:
            codes.append('err_code %s' % err_code)
        if code is not None:
            codes.append('status %s' % code)
        text = description
        if codes:
            text = '%s (%s)' % (description, ', '.join(codes))
        super(JetStreamApiError, self).__init__(text)


def resolve_connection(params, environ=None):
    """Return the effective connection settings: task options, then environment, then defaults.

    ``params`` holds the options of ``connection_argument_spec`` (missing keys count as unset).
    Authentication comes as a whole from the task when any authentication option is set there,
    otherwise from ``NATS_CREDS``, ``NATS_NKEY``, ``NATS_TOKEN`` or ``NATS_USER``/``NATS_PASSWORD``.
    TLS files fall back one by one to ``NATS_CA``, ``NATS_CERT``, ``NATS_KEY``; the server list to
    ``NATS_URL`` (comma separated) and then ``nats://localhost:4222``.
    """
    environ = os.environ if environ is None else environ
    settings = dict((name, params.get(name)) for name in CONNECTION_OPTIONS)

    def env(name):
        value = environ.get(ENV_FALLBACKS[name])
        return value if value else None

    if not settings['server']:
        url = env('server')
        settings['server'] = [part.strip() for part in url.split(',') if part.strip()] if url else [DEFAULT_SERVER]
    elif isinstance(settings['server'], str):
        settings['server'] = [settings['server']]
    if not any(settings.get(name) for name in AUTH_OPTIONS):
        if env('creds_file'):
            settings['creds_file'] = env('creds_file')
        elif env('nkey_seed_file'):
            settings['nkey_seed_file'] = env('nkey_seed_file')
        elif env('token'):
            settings['token'] = env('token')
        elif env('user'):
            settings['user'] = env('user')
            settings['password'] = env('password')
    for name in ('tls_ca_file', 'tls_cert_file', 'tls_key_file'):
        if not settings[name]:
            settings[name] = env(name)
    if settings.get('connect_timeout') is None:
        settings['connect_timeout'] = 5.0
    if settings.get('request_timeout') is None:
        settings['request_timeout'] = 10.0
    return settings


FILE_OPTIONS = ('nkey_seed_file', 'creds_file', 'tls_ca_file', 'tls_cert_file', 'tls_key_file')
URL_SCHEMES = ('nats', 'tls', 'ws', 'wss')


def check_connection(settings):
    """Raise NatsConnectionError for settings that cannot work, before any network traffic:
    a server URL with an unknown scheme, or a key, certificate or credentials file that is
    missing or unreadable (named with the option it came from, task or environment)."""
    for url in settings['server']:
        scheme = url.split('://', 1)[0].lower() if '://' in url else 'nats'
        if scheme not in URL_SCHEMES:
            raise NatsConnectionError('server %r: use nats://host:port or tls://host:port (ws:// and wss:// also '
                                      'work)' % url)
    for name in FILE_OPTIONS:
        path = settings.get(name)
        if path and not os.access(path, os.R_OK):
            source = ENV_FALLBACKS.get(name)
            reason = 'does not exist' if not os.path.exists(path) else 'is not readable'
            raise NatsConnectionError('%s %s %s (from the task or %s)' % (name, path, reason, source) if source
                                      else '%s %s %s' % (name, path, reason))


def api_prefix(domain=None):
    """Return the JetStream API subject prefix, ``$JS.API.`` or ``$JS.<domain>.API.``."""
    if domain:
        return '$JS.%s.API.' % domain
    return '$JS.API.'


def _decode_answer(subject, raw, allow_errors=()):
    """Decode a JetStream API answer; raise ``JetStreamApiError`` for an error not in ``allow_errors``."""
    try:
        answer = json.loads(raw.decode('utf-8')) if raw else {}
    except ValueError:
        raise JetStreamApiError('the JetStream API sent an answer that is not JSON: %r' % raw[:200], subject=subject)
    error = answer.get('error') if isinstance(answer, dict) else None
    if error:
        if error.get('err_code') in allow_errors:
            return answer
        raise JetStreamApiError(error.get('description') or 'unknown error', error.get('err_code'),
                                error.get('code'), subject)
    return answer


def _tls_context(settings):
    """Build the TLS context from the CA / client certificate options, or None when none is set.

    With no option set nats-py still upgrades to TLS when the server requires it (``tls://`` URL
    or ``tls_required``), verifying against the system's CAs.
    """
    if not (settings.get('tls_ca_file') or settings.get('tls_cert_file')):
        return None
    context = ssl.create_default_context(purpose=ssl.Purpose.SERVER_AUTH, cafile=settings.get('tls_ca_file'))
    if settings.get('tls_cert_file'):
        context.load_cert_chain(settings['tls_cert_file'], settings.get('tls_key_file'))
    return context


def _describe_failure(exc, timeout):
    """Turn what nats-py or the socket layer raised into a reason a person can act on."""
    if isinstance(exc, (asyncio.TimeoutError, socket.timeout)):
        return 'timed out after %ss' % timeout
    if isinstance(exc, ConnectionRefusedError):
        return 'connection refused (is nats-server running and listening there?)'
    if isinstance(exc, socket.gaierror):
        return 'cannot resolve the host name (%s)' % (exc.strerror or exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return 'TLS certificate verification failed: %s' % (exc.verify_message or exc.reason or exc)
    if isinstance(exc, ssl.SSLError):
        return 'TLS error: %s' % (exc.reason or exc)
    if HAS_NATS:
        if isinstance(exc, nats.errors.AuthorizationError):
            return 'authorization violation: the server rejected the credentials (user/password, token, nkey or creds)'
        if isinstance(exc, nats.errors.NoServersError):
            return 'no server available'
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or repr(exc)
    if text.startswith('nats: '):
        text = text[len('nats: '):]
    if 'authorization violation' in text.lower():
        return 'authorization violation: the server rejected the credentials (user/password, token, nkey or creds)'
    return text.strip("'")


class _DenialWatch:
    """A read's wait for a permissions violation about one of its subjects (see ``_collector``)."""

    def __init__(self, loop, subjects):
        self.subjects = tuple(subjects)
        self.lowered = tuple(subject.lower() for subject in self.subjects)
        self.future = loop.create_future()

    def concerns(self, text):
        return any(subject in text for subject in self.lowered)

    def deny(self, exc):
        if not self.future.done():
            self.future.set_result(exc)

    def subject_named(self, default):
        """The subject the violation names, or ``default`` when it names none of this read's."""
        if self.future.done():
            text = str(self.future.result()).lower()
            for subject, lowered in zip(self.subjects, self.lowered):
                if lowered in text:
                    return subject
        return default


def _collector(reasons, watches):
    """An error callback for nats-py that keeps what went wrong instead of logging it, and tells
    the reads waiting (``watches``) of a permissions violation: the reads whose subject the
    server names, or every read when it names none of theirs (an inbox, say)."""
    async def on_error(exc):
        reasons.append(exc)
        text = str(exc).lower()
        if 'permissions violation' not in text:
            return
        for watch in [w for w in watches if w.concerns(text)] or list(watches):
            watch.deny(exc)
    return on_error


class JetStreamClient:
    """A synchronous JetStream API client over one nats-py connection.

    Use as a context manager so the connection and its event loop are always closed::

        with JetStreamClient(resolve_connection(params)) as client:
            info = client.api('STREAM.INFO.ORDERS')

    ``api()`` sends raw JSON and returns the raw JSON answer (nothing dropped by nats-py's
    dataclasses); errors become ``JetStreamApiError`` with the server's description and codes.
    """

    def __init__(self, settings):
        if not HAS_NATS:
            raise NatsError('the Python library nats-py is required')
        self.settings = settings
        self.prefix = api_prefix(settings.get('domain'))
        self.request_timeout = float(settings.get('request_timeout') or 10.0)
        self.connect_timeout = float(settings.get('connect_timeout') or 5.0)
        self._loop = None
        self._nc = None
        self._async_errors = []
        self._watches = []
        self._prefetched = {}
        self.connected_url = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def connect(self):
        """Open the connection, trying each server in order; raise NatsConnectionError naming each."""
        check_connection(self.settings)
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        try:
            self._nc = self._loop.run_until_complete(self._connect())
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        """Close the connection and the event loop; safe to call twice, never raises."""
        if self._loop is None:
            return
        try:
            if self._nc is not None:
                self._loop.run_until_complete(self._close_quietly(self._nc))
        finally:
            self._nc = None
            # A prefetch nobody collected (the caller failed first, or did not need it): not news.
            for reads in self._prefetched.values():
                reads.abandon()
            self._prefetched.clear()
            try:
                pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    self._loop.run_until_complete(asyncio.wait(pending, timeout=FAILED_CLOSE_TIMEOUT))
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            except Exception:  # pragma: no cover - best effort
                pass
            self._loop.close()
            self._loop = None

    @staticmethod
    async def _close_quietly(nc, timeout=CLOSE_TIMEOUT):
        try:
            await asyncio.wait_for(nc.close(), timeout=timeout)
        except Exception:
            pass

    def _connect_options(self):
        settings = self.settings
        options = dict(
            allow_reconnect=False,
            # nats-py retries a failing server from its pool until max_reconnect_attempts is
            # exceeded even with allow_reconnect=False: 1 attempt + 1 retry, no wait between.
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            connect_timeout=self.connect_timeout,
            dont_randomize=True,
            name='cim.nats ansible',
        )
        context = _tls_context(settings)
        if context is not None:
            options['tls'] = context
        if settings.get('tls_hostname'):
            options['tls_hostname'] = settings['tls_hostname']
        if settings.get('user'):
            options['user'] = settings['user']
            options['password'] = settings.get('password') or ''
        if settings.get('token'):
            options['token'] = settings['token']
        if settings.get('creds_file'):
            options['user_credentials'] = settings['creds_file']
        if settings.get('creds'):
            # Read from memory by nats-py: inline credentials never touch the disk.
            options['user_credentials'] = RawCredentials(settings['creds'])
        if settings.get('tls_handshake_first'):
            # For servers with tls { handshake_first: true }: TLS before the server's INFO.
            if 'tls_handshake_first' not in inspect.signature(nats.NATS.connect).parameters:
                raise NatsConnectionError('tls_handshake_first needs nats-py 2.8 or newer')
            options['tls_handshake_first'] = True
        if settings.get('nkey_seed'):
            options['nkeys_seed_str'] = settings['nkey_seed'].strip()
        if settings.get('nkey_seed_file'):
            options['nkeys_seed'] = settings['nkey_seed_file']
        return options

    async def _connect(self):
        failures = []
        for url in self.settings['server']:
            reasons = self._async_errors = []
            on_error = _collector(reasons, self._watches)
            nc = nats.NATS()
            try:
                # A hard upper bound on top of nats-py's own per-step timeout: never hang.
                await asyncio.wait_for(
                    nc.connect(servers=[url], error_cb=on_error, **self._connect_options()),
                    timeout=self.connect_timeout * 2 + 1)
                self.connected_url = url
                return nc
            except Exception as exc:  # every failure is reported with its server below
                reasons.append(exc)
                await self._close_quietly(nc, FAILED_CLOSE_TIMEOUT)
            useful = [r for r in reasons if not (HAS_NATS and isinstance(r, nats.errors.NoServersError))] or reasons
            reason = _describe_failure(useful[0], self.connect_timeout)
            if self._may_want_tls_first(url, reason):
                reason += ' (a server with tls { handshake_first: true } needs tls_handshake_first: true)'
            failures.append('%s: %s' % (url, reason))
        raise NatsConnectionError('cannot connect to NATS: %s' % '; '.join(failures))

    def _may_want_tls_first(self, url, reason):
        """True when a failure looks like a server waiting for TLS first: it never sent INFO in plain text."""
        if self.settings.get('tls_handshake_first'):
            return False
        tls = url.lower().startswith(('tls://', 'wss://')) or _tls_context(self.settings) is not None
        return tls and ('expecting INFO' in reason or reason.startswith('timed out'))

    # -- information ---------------------------------------------------------------------
    @property
    def server_info(self):
        """The INFO block the server sent on connect (version, name, cluster, domain, ...)."""
        if self._nc is None:
            return {}
        return dict(getattr(self._nc, '_server_info', None) or {})

    # -- requests ------------------------------------------------------------------------
    def api(self, api_subject, payload=None, allow_errors=()):
        """Call one JetStream API endpoint and return its decoded JSON answer.

        ``api_subject`` is the part after the prefix, e.g. ``STREAM.INFO.ORDERS``; the prefix
        honours ``domain``.  ``payload`` is JSON-encoded when not None.  An error answer raises
        ``JetStreamApiError`` unless its ``err_code`` is in ``allow_errors``, in which case the
        answer (with its ``error`` key) is returned.
        """
        prefetched = self._prefetched.pop((api_subject, None, _payload_key(payload)), None)
        if prefetched is not None:
            if not allow_errors:
                return self._loop.run_until_complete(prefetched.finish())[api_subject]
            prefetched.abandon()  # its answer is read as an error there: ask again, allowing them
        subject = self.prefix + api_subject
        body = b'' if payload is None else json.dumps(payload).encode('utf-8')
        raw = self._loop.run_until_complete(self._request(subject, body))
        return _decode_answer(subject, raw, allow_errors)

    async def _request_once(self, subject, body):
        """One request; a permissions violation reported for it ends the wait at once."""
        watch = _DenialWatch(asyncio.get_running_loop(), (subject,))
        self._watches.append(watch)
        request = asyncio.ensure_future(self._nc.request(subject, body, timeout=self.request_timeout))
        try:
            await asyncio.wait([request, watch.future], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._watches.remove(watch)
        if not request.done():
            request.cancel()
            raise self._refused(subject, watch.future.result())
        return request.result().data

    def _refused(self, subject, exc):
        return JetStreamUnavailableError('the server refused %s to this user: %s' % (
            subject, _describe_failure(exc, self.request_timeout)))

    async def _request(self, subject, body):
        try:
            return await self._request_once(subject, body)
        except nats.errors.NoRespondersError:
            raise self._no_responders(subject)
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            raise self._no_answer(subject)
        except nats.errors.Error as exc:
            raise NatsConnectionError('request on %s to %s failed: %s' % (
                subject, self.connected_url, _describe_failure(exc, self.request_timeout)))

    def paged(self, api_subject, key, payload=None):
        """Collect every item of a paged list endpoint (STREAM.NAMES, STREAM.LIST, CONSUMER.LIST...).

        A ``prefetch`` of the same endpoint, key and payload is collected instead of asking again.
        """
        prefetched = self._prefetched.pop((api_subject, key, _payload_key(payload)), None)
        if prefetched is not None:
            return self._loop.run_until_complete(prefetched.finish())[api_subject]
        return self.paged_many([api_subject], key, payload)[api_subject]

    def prefetch(self, api_subject, key=None, payload=None):
        """Send a read now and return at once; the server answers while the caller works.

        With ``key`` it is a paged listing, collected by the next ``paged`` of the same endpoint,
        key and payload; without, a single read (``payload`` is its request), collected by the
        next ``api`` of the same endpoint and payload.  Its failure is raised there, as those
        raise it; the wait for its answer (``request_timeout``) starts there too.
        """
        payload = dict(payload or {})
        reads = _Reads(self, key, payload, None)
        try:
            self._loop.run_until_complete(reads.start([api_subject], CONCURRENT_READS))
        except NatsError:
            return  # not sent: the read that collects it asks again, and fails as it fails
        self._prefetched[(api_subject, key, _payload_key(payload))] = reads
        # Let the request reach the socket: nats-py's flusher writes on the loop's next turns.
        self._loop.run_until_complete(_a_few_turns())

    def paged_many(self, api_subjects, key, payload=None, in_flight=CONCURRENT_READS, on_listing=None,
                   meanwhile=None):
        """Collect several paged listings at once; return ``{api_subject: items}``.

        Reads only, at most ``in_flight`` listings read at once (the pages of a long listing after
        its first are asked for together): a layout's consumer listings, one per stream, cost one
        round trip's wait instead of one per stream.  ``payload`` (a filter) goes with every page
        request.  ``on_listing(api_subject, items)``, when given, is called as each listing
        completes, so work on it overlaps the server's answers to the others.  ``meanwhile()``,
        when given, is called once the first requests are sent, before any ``on_listing``: work
        that overlaps the server's first answers.  The first failure (of a request, ``meanwhile``
        or ``on_listing``) stops the reads and is raised as ``api`` would raise it.
        """
        api_subjects = list(api_subjects)
        if not api_subjects:
            if meanwhile is not None:
                meanwhile()
            return {}
        return self._loop.run_until_complete(self._paged_many(api_subjects, key, dict(payload or {}), in_flight,
                                                              on_listing, meanwhile))

    async def _paged_many(self, api_subjects, key, payload, in_flight, on_listing=None, meanwhile=None):
        reads = _Reads(self, key, payload, on_listing)
        await reads.start(api_subjects, in_flight, hold=meanwhile is not None)
        return await reads.finish(meanwhile)

    def _no_responders(self, subject):
        return JetStreamUnavailableError(
            'no JetStream answers on %s at %s: JetStream is not enabled for %s, the domain is wrong, '
            'or the user may not publish there' % (subject, self.connected_url, self._where()))

    def _no_answer(self, subject):
        return JetStreamUnavailableError(
            'no answer from JetStream on %s at %s within %ss (is JetStream enabled for %s, and is the '
            'meta leader available?)' % (subject, self.connected_url, self.request_timeout, self._where()))

    def _where(self):
        return 'domain %r' % self.settings['domain'] if self.settings.get('domain') else 'this account'


def _payload_key(payload):
    return json.dumps(payload or {}, sort_keys=True)


async def _a_few_turns(turns=3):
    for _turn in range(turns):
        await asyncio.sleep(0)


class _Reads:
    """Reads (paged listings, or single answers when ``key`` is None) over one reply subscription.

    ``start`` subscribes and sends the first requests, ``finish`` waits for the rest and returns
    ``{api_subject: items or answer}``; between the two the caller may work while the server
    answers (the answers wait in the socket).  At most a window of listings is read at once.
    Each answer is handled as it arrives, in the subscription's callback, which also sends the
    next request (the listing's next page, or the next listing): no task, future or timer per
    request, which is most of what a request costs the client.  A listing whose first page
    gives its total asks for all its other pages at once.  The reads fail as ``api`` fails: an
    error answer, no responders, a permissions violation about their subjects, a lost
    connection, or no answer within the request timeout (counted in ``finish``).
    """

    def __init__(self, client, key, payload, on_listing):
        self.client = client
        self.nc = client._nc
        self.key = key
        self.payload = payload
        self.on_listing = on_listing
        self.subjects = ()
        self.results = {}
        self.pages = {}      # listing -> {offset: page} of pages that came before the ones ahead of them
        self.asked = {}      # listing -> offsets asked for and not answered yet
        self.waiting = {}    # reply subject -> (listing, offset), oldest first
        self.queue = []
        self.sent = self.answered = 0
        self.done = self.inbox = self.held = self.watch = self.subscription = None

    def _lost(self, subject, exc):
        """What a nats-py failure of the connection is for the caller."""
        if isinstance(exc, NatsError):
            return exc
        return NatsConnectionError('request on %s to %s failed: %s' % (
            subject, self.client.connected_url, _describe_failure(exc, self.client.request_timeout)))

    async def _send(self, api_subject, offset):
        self.sent += 1
        reply = '%s.%d' % (self.inbox, self.sent)
        self.waiting[reply] = (api_subject, offset)
        self.asked[api_subject].add(offset)
        body = self.payload if self.key is None else dict(self.payload, offset=offset)
        await self.nc.publish(self.client.prefix + api_subject, json.dumps(body).encode('utf-8'), reply=reply)

    async def _start_next(self):
        if self.queue:
            api_subject = self.queue.pop()
            self.results[api_subject] = []
            self.asked[api_subject] = set()
            await self._send(api_subject, 0)

    async def _on_answer(self, msg):
        found = self.waiting.pop(msg.subject, None)
        if found is None or self.done.done():
            return
        self.answered += 1
        api_subject, offset = found
        subject = self.client.prefix + api_subject
        try:
            if msg.headers and msg.headers.get('Status') == '503':
                raise self.client._no_responders(subject)
            answer = _decode_answer(subject, msg.data)
            asked = self.asked[api_subject]
            asked.discard(offset)
            if self.key is None:
                self.results[api_subject] = answer
            else:
                await self._add_page(api_subject, offset, answer)
            if asked:
                return
            if self.on_listing is not None:
                if self.held is None:
                    self.on_listing(api_subject, self.results[api_subject])
                else:
                    self.held.append(api_subject)  # for after ``meanwhile``
            await self._start_next()
            if not self.waiting:
                self.done.set_result(None)
        except Exception as exc:  # raised to the caller by finish(), as api() would raise it
            if not self.done.done():
                self.done.set_exception(self._lost(subject, exc) if HAS_NATS and isinstance(exc, nats.errors.Error)
                                        else exc)

    async def _add_page(self, api_subject, offset, answer):
        page = answer.get(self.key) or []
        items, later = self.results[api_subject], self.pages.setdefault(api_subject, {})
        later[offset] = page
        while len(items) in later:
            next_page = later.pop(len(items))
            if not next_page:
                break
            items.extend(next_page)
        total = answer.get('total', 0)
        if offset == 0 and page and len(page) < total:
            # The first page says how many there are: ask for every other page at once.
            for start in range(len(page), total, len(page)):
                await self._send(api_subject, start)
        elif not self.asked[api_subject] and page and len(items) < total:
            # The listing changed while it was read: go on from what is there, as one by one would.
            later.clear()
            await self._send(api_subject, len(items))

    async def start(self, api_subjects, in_flight, hold=False):
        """Subscribe and send the first ``in_flight`` listings' first requests."""
        loop = asyncio.get_running_loop()
        client = self.client
        self.done = loop.create_future()
        self.queue = list(reversed(api_subjects))
        self.subjects = tuple(api_subjects)
        self.inbox = self.nc.new_inbox()
        self.watch = _DenialWatch(loop, [client.prefix + subject for subject in api_subjects])
        client._watches.append(self.watch)
        if hold:
            self.held = []
        try:
            self.subscription = await self.nc.subscribe(self.inbox + '.*', cb=self._on_answer)
            for _read in range(min(in_flight, len(api_subjects))):
                await self._start_next()
        except Exception as exc:
            await self._end()
            raise self._lost(client.prefix + api_subjects[0], exc)

    async def finish(self, meanwhile=None):
        """Run ``meanwhile`` (when given), wait for every answer, return the results."""
        client = self.client
        try:
            if meanwhile is not None:
                await _a_few_turns()  # the requests reach the socket before the work starts
                meanwhile()
                held, self.held = self.held, None
                for api_subject in held:
                    self.on_listing(api_subject, self.results[api_subject])
            answered = self.answered
            while True:
                finished, _pending = await asyncio.wait([self.done, self.watch.future], timeout=client.request_timeout,
                                                        return_when=asyncio.FIRST_COMPLETED)
                if self.done in finished:
                    self.done.result()  # the failure an answer brought, if any
                    break
                oldest = client.prefix + next(iter(self.waiting.values()))[0] if self.waiting else ''
                if self.watch.future in finished:
                    raise client._refused(self.watch.subject_named(oldest), self.watch.future.result())
                if self.nc.is_closed:
                    raise NatsConnectionError('request on %s to %s failed: the connection was closed' % (
                        oldest, client.connected_url))
                if self.answered == answered:
                    raise client._no_answer(oldest)
                answered = self.answered  # answers came in meanwhile: wait again for the rest
            return dict((api_subject, self.results[api_subject]) for api_subject in self.subjects)
        finally:
            await self._end()

    async def _end(self):
        self.abandon()
        if self.subscription is not None:
            subscription, self.subscription = self.subscription, None
            try:
                await subscription.unsubscribe()
            except Exception:
                pass  # the connection is gone: the error that ended the reads is the one raised

    def abandon(self):
        """Stop listening for violations; settle the outcome so that asyncio never reports it unread."""
        if self.watch in self.client._watches:
            self.client._watches.remove(self.watch)
        if self.done is None:
            return
        if not self.done.done():
            self.done.cancel()
        elif not self.done.cancelled():
            self.done.exception()
