# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Moving JetStream leadership off one server before it stops.

A server in lame duck mode steps down from what it leads too, but only after it has stopped
accepting clients, and then shuts JetStream down a second later. Asked while the server is still
whole, each stream and consumer it leads hands over to a current replica first, so publishers see
one short hand-over instead of an election at shutdown. Which objects the server leads comes
from the server itself (its JSZ, through the system account); a stream or consumer step-down is an
API call inside the object's account, so it needs a user of that account; the meta group's
step-down goes through the system account.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cim.nats.plugins.module_utils.connection import (
    JetStreamApiError,
    JetStreamClient,
    JetStreamUnavailableError,
    NatsError,
)


def jsz_leaders(server):
    """The system account ping options that make ``server`` (only) report what it leads."""
    return {'server_name': server, 'accounts': True, 'streams': True, 'consumer': True}


def led_by(jsz_data, server):
    """What ``server`` leads, from its own JSZ answer (accounts, streams and consumers asked):
    ``{account: {'streams': [stream], 'consumers': [(stream, consumer)]}}``. Only replicated
    objects count: an R1 stream or consumer has nowhere to go."""
    out = {}
    for account in jsz_data.get('account_details') or []:
        name = account.get('name') or account.get('id')
        for stream in account.get('stream_detail') or []:
            cluster = stream.get('cluster') or {}
            entry = out.setdefault(name, {'streams': [], 'consumers': []})
            if cluster.get('leader') == server and cluster.get('replicas'):
                entry['streams'].append(stream['name'])
            for consumer in stream.get('consumer_detail') or []:
                ccluster = consumer.get('cluster') or {}
                if ccluster.get('leader') == server and ccluster.get('replicas'):
                    entry['consumers'].append((stream['name'], consumer['name']))
        if name in out and not (out[name]['streams'] or out[name]['consumers']):
            del out[name]
    return out


def describe(account, stream, consumer=None):
    return '%s > %s' % (account, stream) + (' > %s' % consumer if consumer else '')


def step_down_account(settings, account, led):
    """Ask every stream and consumer of ``led`` (one account's part of led_by) to step down,
    connected with ``settings`` (a user of that account). Returns ``(asked, refused)``: the
    objects that accepted, and ``{object: reason}`` for the ones that did not."""
    asked, refused = [], {}
    try:
        with JetStreamClient(settings) as client:
            requests = [(describe(account, stream), 'STREAM.LEADER.STEPDOWN.%s' % stream) for stream in led['streams']]
            requests += [(describe(account, stream, consumer), 'CONSUMER.LEADER.STEPDOWN.%s.%s' % (stream, consumer))
                         for stream, consumer in led['consumers']]
            for label, subject in requests:
                try:
                    client.api(subject, {})
                    asked.append(label)
                except (JetStreamApiError, JetStreamUnavailableError) as exc:
                    refused[label] = str(exc)
    except NatsError as exc:
        for stream in led['streams']:
            refused[describe(account, stream)] = str(exc)
        for stream, consumer in led['consumers']:
            refused[describe(account, stream, consumer)] = str(exc)
    return asked, refused


def wait_handed_over(system, server, wait, timeout):
    """Wait until ``server`` leads none of the replicated objects it led; returns what it still
    leads (led_by form) when ``timeout`` runs out, {} when the hand-over is done or the server
    stopped answering."""
    deadline = time.monotonic() + timeout
    while True:
        answers = system.jsz(jsz_leaders(server), 1, wait)
        still = led_by(answers[server], server) if server in answers else {}
        if not still or time.monotonic() >= deadline:
            return still
        time.sleep(0.2)
