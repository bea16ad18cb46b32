# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a whole-layout reconcile adds to the single-object logic: order, prune scope, the loop.

Comparing, field rules and applying one object live in the shared JetStream module_utils and
are used here as they are; this file only decides in which order objects are handled, which
undeclared objects are in the prune scope, and how one pass over one connection reports.
The ordering and scope functions are pure (no Ansible, no nats-py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

JetStreamApiError,
    NatsError,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_apply import (
    apply_plan,
    list_consumers,
    list_streams,
    read_account,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    ModelError,
    kv_stream_name,
    object_store_stream_name,
    plan_consumer,
    plan_stream,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import (
    consumer_argument_spec,
    consumer_config_from_options,
    kv_bucket_argument_spec,
    kv_bucket_config_from_options,
    object_store_argument_spec,
    object_store_config_from_options,
    stream_argument_spec,
    stream_config_from_options,
    validate_options,
)

KV_STREAM_PREFIX = 'KV_'
OBJECT_STORE_STREAM_PREFIX = 'OBJ_'


def stream_dependencies(config):
    """Names of the streams that a stream config mirrors or sources, in this account and domain.

    ``config`` is a stream's options as the user declares them or as the server returns them
    (both name the origin under ``mirror.name`` and ``sources[].name``).  Origins behind an
    ``external`` API prefix live elsewhere and impose no order here.
    """
    names = []
    mirror = (config or {}).get('mirror') or {}
    if mirror.get('name') and not mirror.get('external'):
        names.append(mirror['name'])
    for source in (config or {}).get('sources') or []:
        if source and source.get('name') and not source.get('external') and source['name'] not in names:
            names.append(source['name'])
    return names


def order_by_dependencies(names, dependencies):
    """Order ``names`` so that each comes after the names it depends on.

    ``dependencies`` maps a name to the names it needs first; names that are not in ``names``
    are ignored (they exist already, or elsewhere).  The order is stable: among names that are
    free to go, the declaration order is kept.  A cycle (two streams sourcing each other, which
    the server allows) cannot be ordered; its members follow in declaration order, which the
    server accepts because a source may be created before its origin.
    """
    position = dict((name, index) for index, name in enumerate(names))
    pending = dict((name, set(dep for dep in dependencies.get(name, ()) if dep in position and dep != name))
                   for name in names)
    ordered = []
    done = set()
    while len(ordered) < len(names):
        ready = [name for name in names if name not in done and not (pending[name] - done)]
        if not ready:
            # A cycle: release the first remaining name in declaration order.
            ready = [min((name for name in names if name not in done), key=position.get)]
        for name in ready:
            ordered.append(name)
            done.add(name)
    return ordered


def in_prune_scope(name, prefixes, names):
    """True when an object ``name`` is inside the prune scope (a prefix or an exact name)."""
    if name in (names or ()):
        return True
    return any(prefix and name.startswith(prefix) for prefix in (prefixes or ()))


def stream_kind(config):
    """Tell what a stream on the server holds: ('kv', bucket), ('object_store', bucket) or ('stream', name).

    KV buckets and object stores are streams named KV_<bucket> and OBJ_<bucket> with their own
    subject spaces; a user stream that only happens to start with KV_ stays a stream.
    """
    name = config.get('name', '')
    subjects = config.get('subjects') or []
    if name.startswith(KV_STREAM_PREFIX):
        bucket = name[len(KV_STREAM_PREFIX):]
        if '$KV.%s.>' % bucket in subjects:
            return 'kv', bucket
    if name.startswith(OBJECT_STORE_STREAM_PREFIX):
        bucket = name[len(OBJECT_STORE_STREAM_PREFIX):]
        if '$O.%s.C.>' % bucket in subjects:
            return 'object_store', bucket
    return 'stream', name


def is_durable(consumer_config):
    """Ephemeral consumers (no durable name) belong to running clients and are never pruned."""
    return bool((consumer_config or {}).get('durable_name'))

