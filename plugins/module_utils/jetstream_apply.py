# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read JetStream objects and carry out plans, over one ``JetStreamClient``.

Shared by the single-object modules and the bulk reconcile: ``read_*`` fetch what the server
has, ``plan_*_on_server`` read and plan one object, ``apply_plan`` executes a plan (create,
update, delete, recreate) and returns what the server stored.  No Ansible in here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cim.nats.plugins.module_utils.connection import JetStreamApiError, NatsError
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    parse_version,
    plan_consumer,
    plan_stream,
    unexpected_drift,
    validate_name,
)

# JetStream API error codes (nats-server server/errors.json).
ERR_STREAM_NOT_FOUND = 10059
ERR_CONSUMER_NOT_FOUND = 10014


class PlanRefusedError(NatsError):
    """Raised by ``apply_plan`` for a plan whose action is ``refuse``; ``str()`` explains why and what to do."""

    def __init__(self, plan):
        self.plan = plan
        super(PlanRefusedError, self).__init__(plan.get('message') or 'refused')


def server_version(client):
    """The release of the server this connection reached, from the INFO it sent on connect.

    A tuple (``(2, 12, 8)``), or None when the server did not say; plans use it to refuse what
    that release cannot do.
    """
    return parse_version(client.server_info.get('version'))


def read_account(client):
    """Return the account's JetStream info ($JS.API.INFO): usage, limits, API level."""
    return client.api('INFO')


def read_stream(client, name):
    """Return the stream's info (``config``, ``state``, ``cluster``...) or None when it does not exist."""
    answer = client.api('STREAM.INFO.%s' % name, allow_errors=(ERR_STREAM_NOT_FOUND,))
    if answer.get('error'):
        return None
    return answer


def read_consumer(client, stream, name):
    """Return the consumer's info or None when the consumer (or its stream) does not exist."""
    answer = client.api('CONSUMER.INFO.%s.%s' % (stream, name),
                        allow_errors=(ERR_CONSUMER_NOT_FOUND, ERR_STREAM_NOT_FOUND))
    if answer.get('error'):
        return None
    return answer


def list_streams(client, subject=None):
    """Return the info of every stream (paged STREAM.LIST), optionally only those listening on ``subject``."""
    payload = {'subject': subject} if subject else None
    return client.paged('STREAM.LIST', 'streams', payload)


def list_stream_names(client, subject=None):
    """Return the names of every stream (paged STREAM.NAMES)."""
    payload = {'subject': subject} if subject else None
    return client.paged('STREAM.NAMES', 'streams', payload)


def list_consumers(client, stream):
    """Return the info of every consumer of ``stream`` (paged CONSUMER.LIST)."""
    return client.paged('CONSUMER.LIST.%s' % stream, 'consumers')


def list_consumers_of(client, streams, on_listing=None, meanwhile=None):
    """Return ``{stream: [consumer info, ...]}`` for several streams, their listings read concurrently.

    ``on_listing(stream, items)``, when given, is called as each stream's listing completes;
    ``meanwhile()`` once the first requests are sent, before any ``on_listing``.
    """
    subjects = dict(('CONSUMER.LIST.%s' % stream, stream) for stream in streams)

    def listed(subject, items):
        on_listing(subjects[subject], items)

    listings = client.paged_many(subjects, 'consumers', on_listing=listed if on_listing is not None else None,
                                 meanwhile=meanwhile)
    return dict((subjects[subject], items) for subject, items in listings.items())


def plan_stream_on_server(client, desired, **options):
    """Read the stream named in ``desired`` and plan it (``options`` go to ``plan_stream``).

    Returns ``(plan, info)`` where ``info`` is the stream's current info or None.
    """
    validate_name('stream', desired.get('name'))
    info = read_stream(client, desired['name'])
    options.setdefault('server_version', server_version(client))
    plan = plan_stream(desired, info['config'] if info else None,
                       current_state=info.get('state') if info else None, **options)
    return plan, info


def plan_consumer_on_server(client, desired, stream, account_limits=None, **options):
    """Read ``stream`` and the consumer named in ``desired`` and plan the consumer.

    Returns ``(plan, info, stream_info)``.  When the stream is missing the plan is made against
    the defaults of an empty stream and ``stream_info`` is None: the caller decides whether that
    is an error (a real run) or a warning (check mode, where an earlier task would create it).
    """
    validate_name('stream', stream)
    validate_name('consumer', desired.get('durable_name') or desired.get('name'))
    stream_info = read_stream(client, stream)
    info = None
    if stream_info is not None:
        info = read_consumer(client, stream, desired.get('durable_name') or desired['name'])
    options.setdefault('server_version', server_version(client))
    plan = plan_consumer(desired, info['config'] if info else None,
                         stream_config=stream_info['config'] if stream_info else None,
                         account_limits=account_limits, stream=stream, **options)
    return plan, info, stream_info


def apply_plan(client, plan):
    """Carry out ``plan`` and return ``{'info': ..., 'drift': ...}``.

    ``info`` is what the server answered (the stream or consumer info after a create, update or
    recreate; None after a delete or when nothing was to be done); ``drift`` lists fields the
    server stored differently from the plan (a model gap that would show as a change next run).
    A ``refuse`` plan raises ``PlanRefusedError`` without sending anything.
    """
    action = plan['action']
    if action == 'refuse':
        raise PlanRefusedError(plan)
    if action == 'none':
        return {'info': None, 'drift': {}}
    if plan['kind'] == 'stream':
        info = _apply_stream(client, plan)
    else:
        info = _apply_consumer(client, plan)
    drift = {}
    if info is not None:
        context = plan.get('context') or {}
        drift = unexpected_drift(plan, info.get('config'), context.get('stream_config'),
                                 context.get('account_limits'))
    return {'info': info, 'drift': drift}


def _apply_stream(client, plan):
    name = plan['name']
    if action_is(plan, 'delete'):
        client.api('STREAM.DELETE.%s' % name)
        return None
    if action_is(plan, 'update'):
        return client.api('STREAM.UPDATE.%s' % name, plan['request'])
    if action_is(plan, 'recreate'):
        client.api('STREAM.DELETE.%s' % name)
        try:
            return client.api('STREAM.CREATE.%s' % name, plan['request'])
        except JetStreamApiError as exc:
            raise JetStreamApiError('%s was deleted for recreation but creating it again failed: %s'
                                    % (plan['label'], exc.description), exc.err_code, exc.code, exc.subject)
    return client.api('STREAM.CREATE.%s' % name, plan['request'])


def _apply_consumer(client, plan):
    stream, name = plan['stream'], plan['name']
    subject = 'CONSUMER.CREATE.%s.%s' % (stream, name)
    if action_is(plan, 'delete'):
        client.api('CONSUMER.DELETE.%s.%s' % (stream, name))
        return None
    if action_is(plan, 'recreate'):
        client.api('CONSUMER.DELETE.%s.%s' % (stream, name))
    # "create" fails if another definition appeared meanwhile, "update" if the consumer vanished:
    # a create never silently edits someone else's consumer.
    api_action = 'update' if action_is(plan, 'update') else 'create'
    info = client.api(subject, {'stream_name': stream, 'config': plan['request'], 'action': api_action})
    if action_is(plan, 'update') and 'pause_until' in plan['changes']:
        # A config update keeps a pause it leaves out; the pause endpoint sets or lifts it.
        until = plan['changes']['pause_until']['new']
        client.api('CONSUMER.PAUSE.%s.%s' % (stream, name), {'pause_until': until} if until else {})
        info = read_consumer(client, stream, name) or info
    return info


def action_is(plan, action):
    """True when the plan's action is ``action`` (keeps call sites readable)."""
    return plan['action'] == action


def gather_info(client, streams=None, consumers=True):
    """Return a read-only report: server, account, streams (by name) and their consumers.

    ``streams`` limits the report to these stream names (missing ones are listed under
    ``missing``); ``consumers=False`` skips consumer details.  KV buckets and object stores are
    also listed by bucket name (streams ``KV_*`` and ``OBJ_*``).
    """
    server = client.server_info
    account = dict((k, v) for k, v in read_account(client).items() if k != 'type')
    report = {
        'server': {
            'name': server.get('server_name'),
            'id': server.get('server_id'),
            'version': server.get('version'),
            'cluster': server.get('cluster'),
            'domain': server.get('domain'),
            'jetstream': bool(server.get('jetstream')),
            'tls_required': bool(server.get('tls_required')),
            'max_payload': server.get('max_payload'),
            'connected_url': client.connected_url,
        },
        'account': account,
        'streams': {},
        'missing': [],
    }
    if streams:
        infos = []
        for name in streams:
            info = read_stream(client, name)
            if info is None:
                report['missing'].append(name)
            else:
                infos.append(info)
    else:
        infos = list_streams(client)
    for info in infos:
        entry = dict((k, v) for k, v in info.items() if k not in ('type', 'total', 'offset', 'limit'))
        name = entry['config']['name']
        if consumers:
            entry['consumers'] = dict(
                (c['name'], dict((k, v) for k, v in c.items() if k != 'type')) for c in list_consumers(client, name))
        report['streams'][name] = entry
    names = sorted(report['streams'])
    report['kv_buckets'] = [n[len('KV_'):] for n in names if n.startswith('KV_')]
    report['object_stores'] = [n[len('OBJ_'):] for n in names if n.startswith('OBJ_')]
    return report
