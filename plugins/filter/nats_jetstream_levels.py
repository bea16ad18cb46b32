# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a downgrade can serve: JetStream API levels of releases and of streams and consumers.

Since 2.11 nats-server writes into each stream's and consumer's metadata (``_nats.req.level``) the
JetStream API level its features need, and a server whose own level is lower cannot serve that
object. A release's level is a fact of its source (``JSApiLevel`` in server/jetstream_versioning.go),
confirmed against the real binaries by the tests.

- ``nats_api_level``: the JetStream API level of a nats-server release.
- ``nats_required_api_levels``: from nodes' ``/jsz`` answers, every stream and consumer that needs a
  level above 0, with that level.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

# (first release, its JetStream API level), oldest first. A release before the first has level 0.
API_LEVELS = (
    ((2, 11, 0), 1),
    ((2, 12, 0), 2),
    ((2, 12, 5), 3),
    ((2, 14, 0), 4),
    ((2, 15, 0), 5),
)
REQUIRED_LEVEL_KEY = '_nats.req.level'


def _release(version):
    match = re.match(r'^v?(\d+)\.(\d+)\.(\d+)', str(version).strip())
    if not match:
        raise AnsibleFilterError('nats_api_level: %r is not a nats-server release (X.Y.Z)' % (version,))
    return tuple(int(part) for part in match.groups())


def nats_api_level(version):
    """The JetStream API level of release ``version`` ('2.12.8', 'v2.14.6', '2.15.1-beta')."""
    release, level = _release(version), 0
    for first, first_level in API_LEVELS:
        if release >= first:
            level = first_level
    return level


def _required(config):
    try:
        return int(((config or {}).get('metadata') or {}).get(REQUIRED_LEVEL_KEY) or 0)
    except (TypeError, ValueError):
        return 0


def nats_required_api_levels(answers):
    """Streams and consumers that need API level > 0, from ``/jsz?accounts=true&streams=true&consumers=true&config=true``.

    ``answers`` is a list of those JSON bodies (one per node; a node that did not answer may be
    ``None`` or ``{}``). Returns ``[{'account', 'stream', 'consumer', 'level'}]`` (consumer ''
    for a stream), each object once, highest level first.
    """
    if isinstance(answers, dict):
        answers = [answers]
    if not isinstance(answers, (list, tuple)):
        raise AnsibleFilterError('nats_required_api_levels expects a list of /jsz answers')
    found = {}
    for answer in answers:
        if not isinstance(answer, dict):
            continue
        for account in answer.get('account_details') or []:
            name = account.get('name') or account.get('id') or ''
            for stream in account.get('stream_detail') or []:
                objects = [('', stream.get('config'))] + [
                    (consumer.get('name', ''), consumer.get('config')) for consumer in stream.get('consumer_detail') or []]
                for consumer, config in objects:
                    level = _required(config)
                    if level > 0:
                        found[(name, stream.get('name', ''), consumer)] = level
    rows = [{'account': account, 'stream': stream, 'consumer': consumer, 'level': level}
            for (account, stream, consumer), level in found.items()]
    return sorted(rows, key=lambda row: (-row['level'], row['account'], row['stream'], row['consumer']))


class FilterModule(object):
    def filters(self):
        return {
            'nats_api_level': nats_api_level,
            'nats_required_api_levels': nats_required_api_levels,
        }
