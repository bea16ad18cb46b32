# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one model of JetStream configurations in this collection.

Pure functions only (no Ansible, no network), shared by every module and by the bulk
reconcile:

* ``normalize_stream_config`` / ``normalize_consumer_config`` fill in the defaults the server
  fills in, express durations in nanoseconds, drop server-written ``_nats.*`` metadata and put
  lists in a canonical order, so two configs compare equal exactly when the server would
  treat them alike;
* the fields themselves, with their update rules and releases, are declared once in
  ``jetstream_fields`` (``STREAM_FIELDS``, ``CONSUMER_FIELDS``); the canonical form of each
  field and the refusals derive from those declarations;
* ``plan_stream`` / ``plan_consumer`` compare a desired config with the server's and decide
  create, update, none, refuse, recreate or delete, listing each changed field with its old and
  new value and, when refusing, why and what to do;
* ``kv_bucket_stream_config`` / ``object_store_stream_config`` derive the stream behind a KV
  bucket or an object store, so buckets go through the same stream model.

Configs are plain dicts shaped like the JetStream JSON API (``nats stream info --json``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import functools
import json
import re

from ansible_collections.cim.nats.plugins.module_utils.jetstream_fields import (
    CONSUMER_FIELDS,
    STREAM_FIELDS,
    TURN_ON_ONLY,
    Field,
)
from ansible_collections.cim.nats.plugins.module_utils.units import (
    MINUTE,
    SECOND,
    format_duration,
    format_size,
    normalize_timestamp,
)


# ---------------------------------------------------------------------------------------------
# Markers, errors, releases
# ---------------------------------------------------------------------------------------------
class KeepCurrent:
    """Marker for a field the caller does not manage: the server's current value is kept."""

    def __repr__(self):
        return 'KEEP'


KEEP = KeepCurrent()


class ModelError(ValueError):
    """A desired configuration that is invalid before the server is even asked."""


def parse_version(text):
    """Return a release as a tuple of three ints (``'2.12.8'`` -> ``(2, 12, 8)``), None when unreadable.

    A pre-release suffix (``2.12.0-RC.1``) is ignored: it counts as its release.
    """
    match = re.match(r'^v?(\d+)\.(\d+)(?:\.(\d+))?', str(text or '').strip())
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def format_version(version):
    """``(2, 12, 5)`` -> ``'2.12.5'``."""
    return '.'.join(str(part) for part in version)


# Server constants (nats-server server/stream.go, server/consumer.go, server/jetstream_api.go).
DEFAULT_DUPLICATE_WINDOW = 2 * MINUTE
DEFAULT_ACK_WAIT = 30 * 1000 * 1000 * 1000
DEFAULT_MAX_ACK_PENDING = 1000
DEFAULT_MAX_WAITING = 512
DEFAULT_PRIORITY_TIMEOUT = 2 * MINUTE
# The heartbeat the server gives a consumer with ack_policy flow_control (sourceHealthHB).
FLOW_CONTROL_HEARTBEAT = 1000 * 1000 * 1000
KV_MAX_HISTORY = 64

# Server-written metadata; never part of what a user declares.
SERVER_METADATA_PREFIX = '_nats'

_ASSET_NAME = re.compile(r'^[^.*>\s\\/]+$')
_BUCKET_NAME = re.compile(r'^[a-zA-Z0-9_-]+$')


# ---------------------------------------------------------------------------------------------
# Canonical forms
# ---------------------------------------------------------------------------------------------
def _limit(value):
    """Counts and sizes where 0 or anything below -1 means unlimited (-1), as the server does."""
    if value is None:
        return -1
    value = int(value)
    if value == 0 or value < -1:
        return -1
    return value


def _int(value):
    return int(value) if value is not None else 0


def _metadata(value):
    return dict((str(k), str(v)) for k, v in (value or {}).items()
                if not str(k).startswith(SERVER_METADATA_PREFIX))


def _transforms(value):
    out = []
    for item in value or []:
        out.append({'src': item.get('src') or '', 'dest': item.get('dest') or ''})
    return out


def _source(value):
    """A mirror or source in canonical form: only the keys that differ from their defaults."""
    if not value:
        return None
    out = {'name': value.get('name') or ''}
    if value.get('opt_start_seq'):
        out['opt_start_seq'] = int(value['opt_start_seq'])
    if value.get('opt_start_time'):
        out['opt_start_time'] = normalize_timestamp(value['opt_start_time'])
    if value.get('filter_subject'):
        out['filter_subject'] = value['filter_subject']
    if value.get('subject_transforms'):
        out['subject_transforms'] = _transforms(value['subject_transforms'])
    external = value.get('external')
    if external and (external.get('api') or external.get('deliver')):
        out['external'] = {'api': external.get('api') or '', 'deliver': external.get('deliver') or ''}
    consumer = value.get('consumer')
    if consumer and (consumer.get('name') or consumer.get('deliver_subject')):
        out['consumer'] = {'name': consumer.get('name') or '', 'deliver_subject': consumer.get('deliver_subject') or ''}
    return out


def _sort_key(item):
    return json.dumps(item, sort_keys=True)


def _placement(value):
    if not value:
        return None
    out = {}
    if value.get('cluster'):
        out['cluster'] = value['cluster']
    if value.get('tags'):
        out['tags'] = sorted(value['tags'])
    if value.get('preferred'):
        out['preferred'] = value['preferred']
    return out or None


def _republish(value):
    if not value or not value.get('dest'):
        return None
    return {'src': value.get('src') or '>', 'dest': value['dest'], 'headers_only': bool(value.get('headers_only'))}


def _transform(value):
    if not value or not (value.get('src') or value.get('dest')):
        return None
    return {'src': value.get('src') or '', 'dest': value.get('dest') or ''}


def _consumer_limits(value):
    value = value or {}
    return {'inactive_threshold': _int(value.get('inactive_threshold')),
            'max_ack_pending': _int(value.get('max_ack_pending'))}


def _text(field, value):
    return value or field.server_default or ''


def _number(field, value):
    number = _int(value)
    if field.minimum is not None:
        number = max(number, field.minimum)
    return number or field.server_default or 0


def _sources(value):
    return sorted((_source(s) for s in value or [] if s), key=_sort_key)


def _list(value):
    return list(value or [])


def _subjects(value):
    return sorted(set(value or []))


def _durations(value):
    return [int(d) for d in value or []]


# The canonical form of a field, by its kind (``jetstream_fields``): what the server stores.
# Forms of the value alone, then those that also read the field's declaration.
_VALUE_FORMS = {
    'limit': _limit,
    'bool': bool,
    'time': normalize_timestamp,
    'list': _list,
    'subjects': _subjects,
    'durations': _durations,
    'metadata': _metadata,
    'placement': _placement,
    'source': _source,
    'sources': _sources,
    'transform': _transform,
    'republish': _republish,
    'consumer_limits': _consumer_limits,
}
_FIELD_FORMS = {
    'str': _text,
    'int': _number,
    'duration': _number,
}


def _form_of(field):
    """The canonical form of ``field``'s values: a function of the value."""
    if field.kind in _VALUE_FORMS:
        return _VALUE_FORMS[field.kind]
    return functools.partial(_FIELD_FORMS[field.kind], field)


def _canonical_of_each(fields, config):
    """Every field of ``fields`` in its canonical form, each taken alone (``config`` without ``KEEP``)."""
    return dict((name, _form_of(field)(config.get(name))) for name, field in fields.items())


class _CanonicalForms:
    """The canonical forms of one table of fields, prepared once.

    A field left out (or None, or ``KEEP``) always has the same canonical form, so those are
    computed here once; a config then costs one form per field it sets, not one per field of
    the table (a declared item sets a handful of about forty).  The result is the same dict,
    key for key and in the same order, as taking every field alone.
    """

    def __init__(self, fields):
        self.fields = fields
        self.forms = dict((name, _form_of(field)) for name, field in fields.items())
        self.absent = _canonical_of_each(fields, {})
        # Absent values that are lists or dicts: each result gets its own.
        self.fresh = tuple((name, type(value)) for name, value in self.absent.items() if isinstance(value, (list, dict)))

    def form(self, name, value):
        """The canonical form of field ``name`` with ``value``."""
        if value is None or value is KEEP:
            value = self.absent[name]
            return type(value)(value) if isinstance(value, (list, dict)) else value
        return self.forms[name](value)

    def __call__(self, config):
        out = dict(self.absent)
        for name, make in self.fresh:
            out[name] = make(out[name])
        forms = self.forms
        try:
            for name, value in (config or {}).items():
                if value is None or value is KEEP:
                    continue
                form = forms.get(name)
                if form is not None:
                    out[name] = form(value)
        except Exception:
            # A value that cannot be read: raise as taking every field alone, in table order, does.
            return _canonical_of_each(self.fields, _present(config))
        return out


def _present(config):
    """The config without ``KEEP`` markers (a marker means "whatever the server has")."""
    return dict((k, v) for k, v in (config or {}).items() if v is not KEEP)


def normalize_stream_config(config, server_limits=None):
    """Return the canonical form of a stream config (API-shaped dict), as the server would store it.

    Every field of ``STREAM_FIELDS`` is present; omitted fields get the server's defaults
    (including the dependent ones: ``subjects`` defaults to the stream name unless it mirrors
    or sources, ``duplicate_window`` to 2m or ``max_age`` when shorter, none for mirrors and
    sourced streams); the adjustments the server makes are made too (sealing, delete markers,
    message schedules); durations are nanoseconds; ``_nats.*`` metadata is dropped; subjects,
    sources and placement tags are sorted.  Unknown keys are dropped.  Idempotent.
    ``server_limits`` (the server's ``jetstream { limits }``: ``duplicate_window`` in ns) lowers
    the default window as the server does.
    """
    return _stream_as_stored(_STREAM_FORMS(config), server_limits)


def _stream_as_stored(out, server_limits=None):
    """``normalize_stream_config`` from the fields' canonical forms (``_STREAM_FORMS``): the server's own adjustments.

    Reads only the canonical forms, so equal forms give equal configs; changes ``out`` in place and returns it.
    """
    sourcing = bool(out['mirror']) or bool(out['sources'])
    if not out['subjects'] and not sourcing and out['name']:
        out['subjects'] = [out['name']]
    duplicates = out['duplicate_window']
    if duplicates <= 0:
        duplicates = 0
        if not sourcing:
            duplicates = DEFAULT_DUPLICATE_WINDOW
            cap = _int((server_limits or {}).get('duplicate_window'))
            if 0 < cap < duplicates:
                duplicates = cap
            if 0 < out['max_age'] < duplicates:
                duplicates = out['max_age']
    out['duplicate_window'] = duplicates

    # What the server does on its own (server/stream.go checkStreamCfg, configUpdateCheck).
    if out['subject_delete_marker_ttl'] > 0:
        out['allow_msg_ttl'] = True
        out['allow_rollup_hdrs'] = True
        out['deny_purge'] = False
    if out['allow_msg_schedules']:
        out['allow_rollup_hdrs'] = True
        out['deny_purge'] = False
    if out['sealed']:
        out['max_age'] = 0
        out['discard'] = 'new'
        out['deny_delete'] = True
        out['deny_purge'] = True
        out['allow_rollup_hdrs'] = False
    return out


def normalize_consumer_config(config, stream_config=None, account_limits=None, server_limits=None):
    """Return the canonical form of a consumer config, as the server would store it.

    Defaults that depend on the stream come from ``stream_config`` (its ``consumer_limits``);
    the default ``max_ack_pending`` is also capped by ``account_limits['max_ack_pending']``.
    ``name`` and ``durable_name`` are both the consumer's name.  ``ack_wait`` is ``backoff[0]``
    when a backoff is set, as the server makes it.  Unknown keys are dropped.  Idempotent.
    ``server_limits`` (the server's ``jetstream { limits }``) caps the default ``max_ack_pending``
    too and gives pull consumers its ``max_request_batch`` as their default ``max_batch``.
    """
    limits = _consumer_limits((stream_config or {}).get('consumer_limits'))
    return _consumer_as_stored(_CONSUMER_FORMS(config), limits, account_limits, server_limits)


def _consumer_as_stored(out, limits, account_limits=None, server_limits=None):
    """``normalize_consumer_config`` from the fields' canonical forms (``_CONSUMER_FORMS``): the server's own defaults.

    ``limits`` is the stream's ``consumer_limits`` in canonical form.

    Reads only the canonical forms, so equal forms give equal configs; changes ``out`` in place and returns it.
    """
    name = out['durable_name'] or out['name'] or ''
    out['name'] = name
    out['durable_name'] = name
    out['sample_freq'] = out['sample_freq'].strip()
    if out['priority_policy'] == 'pinned_client' and not out['priority_timeout']:
        out['priority_timeout'] = DEFAULT_PRIORITY_TIMEOUT
    if out['ack_policy'] == 'flow_control':
        # What the server sets for this policy (server/consumer.go setConsumerConfigDefaults).
        out['flow_control'] = True
        out['idle_heartbeat'] = FLOW_CONTROL_HEARTBEAT

    max_waiting = out['max_waiting']
    if max_waiting == 0 and not out['deliver_subject']:
        max_waiting = DEFAULT_MAX_WAITING
    out['max_waiting'] = max_waiting

    ack_wait = out['ack_wait']
    if out['backoff']:
        ack_wait = out['backoff'][0]
    elif ack_wait <= 0 and out['ack_policy'] in ('explicit', 'all'):
        ack_wait = DEFAULT_ACK_WAIT
    out['ack_wait'] = max(ack_wait, 0)

    max_ack_pending = out['max_ack_pending']
    if max_ack_pending < -1:
        max_ack_pending = -1
    if max_ack_pending == 0:
        max_ack_pending = limits['max_ack_pending']
    if max_ack_pending == 0 and out['ack_policy'] != 'none':
        max_ack_pending = DEFAULT_MAX_ACK_PENDING
        for limits_of in (server_limits, account_limits):
            cap = int((limits_of or {}).get('max_ack_pending') or 0)
            if 0 < cap < max_ack_pending:
                max_ack_pending = cap
    out['max_ack_pending'] = max_ack_pending

    out['inactive_threshold'] = out['inactive_threshold'] or limits['inactive_threshold']
    batch_cap = _int((server_limits or {}).get('max_request_batch'))
    if not out['deliver_subject'] and out['max_batch'] == 0 and batch_cap > 0:
        out['max_batch'] = batch_cap
    return out


_STREAM_FORMS = _CanonicalForms(STREAM_FIELDS)
_CONSUMER_FORMS = _CanonicalForms(CONSUMER_FIELDS)


# ---------------------------------------------------------------------------------------------
# Buckets are streams
# ---------------------------------------------------------------------------------------------
def kv_stream_name(bucket):
    """The stream that holds KV bucket ``bucket``."""
    return 'KV_%s' % bucket


def object_store_stream_name(bucket):
    """The stream that holds object store ``bucket``."""
    return 'OBJ_%s' % bucket


# Stream fields a bucket module does not manage: whatever the server has is kept, so a bucket
# made by another client is never silently changed (an object store keeps all of these; a KV
# bucket manages its mirror, sources and limit markers, see KV_UNMANAGED).
BUCKET_UNMANAGED = ('mirror', 'sources', 'mirror_direct', 'allow_msg_ttl', 'subject_delete_marker_ttl',
                    'consumer_limits', 'first_seq', 'sealed', 'deny_purge', 'no_ack', 'subject_transform',
                    'discard_new_per_subject', 'retention')


# What a KV bucket manages of those: its mirror, its sources and its limit markers.
KV_UNMANAGED = tuple(key for key in BUCKET_UNMANAGED if key not in ('mirror', 'sources', 'subject_delete_marker_ttl'))
KV_STREAM_PREFIX = 'KV_'


def kv_subjects(bucket):
    """The subjects of KV bucket ``bucket``'s keys."""
    return '$KV.%s.>' % bucket


def _kv_origin(name):
    """A bucket a mirror or source reads from, as a stream name: ``KV_<bucket>`` (a ``KV_`` name stays)."""
    return name if name.startswith(KV_STREAM_PREFIX) else kv_stream_name(name)


def _kv_source(bucket, source):
    """A source of KV bucket ``bucket``, as the NATS clients write it (nats.go ``jetstream/kv.go``).

    ``name`` is the source bucket; its keys are mapped onto this bucket's subjects, except from a
    bucket of the same name in another domain (the keys are already this bucket's).  A source
    with its own ``subject_transforms`` is taken as it is, ``name`` being the full stream name.
    """
    source = dict(source)
    if source.get('subject_transforms'):
        return source
    if source.get('filter_subject'):
        raise ModelError('sources: %s: a KV source maps the whole source bucket onto this one; to take part of '
                         'it give subject_transforms (with the full stream name) instead of filter_subject'
                         % source['name'])
    origin = _kv_origin(source['name'])
    source['name'] = origin
    origin_bucket = origin[len(KV_STREAM_PREFIX):]
    if not source.get('external') or origin_bucket != bucket:
        source['subject_transforms'] = [{'src': kv_subjects(origin_bucket), 'dest': kv_subjects(bucket)}]
    return source


def _check_bucket(bucket):
    if not bucket or not _BUCKET_NAME.match(bucket):
        raise ModelError('bucket name %r is invalid: use only letters, digits, "_" and "-"' % (bucket,))


def kv_bucket_stream_config(bucket, history=None, ttl=None, max_value_size=None, max_bytes=None, storage=None,
                            num_replicas=None, compression=None, placement=None, republish=None,
                            description=None, metadata=None, limit_marker_ttl=None, mirror=None, sources=None):
    """Return the stream config behind a KV bucket, as the NATS clients create it (ADR-8).

    ``ttl`` and ``limit_marker_ttl`` are in nanoseconds, sizes in bytes; ``None`` means the
    default.  The bucket's fixed settings (subjects ``$KV.<bucket>.>``, roll-ups, deny delete,
    discard new, direct get) are set; the stream fields a bucket does not expose are ``KEEP``.
    ``limit_marker_ttl`` is the stream's ``subject_delete_marker_ttl`` (with message TTLs on).
    ``mirror`` (one source dict) and ``sources`` (a list) name buckets: a mirror has no subjects
    of its own and reads ``KV_<bucket>``; sources are mapped onto this bucket's keys
    (``_kv_source``).
    """
    _check_bucket(bucket)
    if history is not None and not 1 <= history <= KV_MAX_HISTORY:
        raise ModelError('history must be between 1 and %d, not %s' % (KV_MAX_HISTORY, history))
    if mirror and sources:
        raise ModelError('a bucket mirrors another bucket or has sources, not both')
    if limit_marker_ttl is not None and 0 < limit_marker_ttl < SECOND:
        raise ModelError('limit_marker_ttl must be at least 1s (or 0 for none)')
    if mirror and limit_marker_ttl:
        raise ModelError('limit_marker_ttl cannot be set on a mirror: the server forbids delete markers there, '
                         'they would make the mirror diverge from its origin')
    config = {
        'name': kv_stream_name(bucket),
        'subjects': [kv_subjects(bucket)],
        'max_msgs_per_subject': history or 1,
        'max_msgs': -1,
        'max_consumers': -1,
        'allow_rollup_hdrs': True,
        'deny_delete': True,
        'discard': 'new',
        'allow_direct': True,
    }
    _set(config, 'description', description)
    _set(config, 'max_age', ttl)
    _set(config, 'max_msg_size', max_value_size)
    _set(config, 'max_bytes', max_bytes)
    _set(config, 'storage', storage)
    _set(config, 'num_replicas', num_replicas)
    _set(config, 'compression', compression)
    _set(config, 'placement', placement)
    _set(config, 'republish', republish)
    _set(config, 'metadata', metadata)
    for key in KV_UNMANAGED:
        config[key] = KEEP
    if limit_marker_ttl:
        config['subject_delete_marker_ttl'] = limit_marker_ttl
        config['allow_msg_ttl'] = True
    if mirror:
        # Keys are written to the origin; the server sets mirror_direct from the origin's direct get.
        config['mirror'] = dict(mirror, name=_kv_origin(mirror['name']))
        del config['subjects']
    if sources:
        config['sources'] = [_kv_source(bucket, source) for source in sources]
    return config


def object_store_stream_config(bucket, ttl=None, max_bytes=None, storage=None, num_replicas=None,
                               compression=None, placement=None, description=None, metadata=None):
    """Return the stream config behind an object store, as the NATS clients create it (ADR-20).

    Subjects ``$O.<bucket>.C.>`` and ``$O.<bucket>.M.>``, roll-ups, discard new, direct get;
    ``ttl`` in nanoseconds; unexposed stream fields are ``KEEP``.
    """
    _check_bucket(bucket)
    config = {
        'name': object_store_stream_name(bucket),
        'subjects': ['$O.%s.C.>' % bucket, '$O.%s.M.>' % bucket],
        'allow_rollup_hdrs': True,
        'discard': 'new',
        'allow_direct': True,
    }
    _set(config, 'description', description)
    _set(config, 'max_age', ttl)
    _set(config, 'max_bytes', max_bytes)
    _set(config, 'storage', storage)
    _set(config, 'num_replicas', num_replicas)
    _set(config, 'compression', compression)
    _set(config, 'placement', placement)
    _set(config, 'metadata', metadata)
    for key in BUCKET_UNMANAGED + ('deny_delete',):
        config[key] = KEEP
    return config


def _set(config, key, value):
    if value is not None:
        config[key] = value


# ---------------------------------------------------------------------------------------------
# Validation of desired configs (what the server would refuse anyway, said earlier and better)
# ---------------------------------------------------------------------------------------------
def validate_name(kind, name):
    """Raise ModelError unless ``name`` can name a stream or consumer (and be part of an API subject)."""
    if not name or not _ASSET_NAME.match(name):
        raise ModelError('%s name %r is invalid: it must not be empty nor contain ".", "*", ">", "/", "\\" '
                         'or white space' % (kind, name))


def validate_stream_config(config):
    """Raise ModelError for a desired stream config the server would reject outright."""
    name = config.get('name')
    validate_name('stream', name)
    if config.get('mirror') not in (None, KEEP) and config.get('subjects') not in (None, KEEP, []):
        raise ModelError('stream %s: a mirror cannot have subjects; remove subjects or mirror' % name)
    if config.get('mirror') not in (None, KEEP) and config.get('sources') not in (None, KEEP, []):
        raise ModelError('stream %s: a mirror cannot also have sources' % name)
    if config.get('discard_new_per_subject') is True:
        if config.get('discard') != 'new' or not config.get('max_msgs_per_subject') or config['max_msgs_per_subject'] < 1:
            raise ModelError('stream %s: discard_new_per_subject needs discard: new and max_msgs_per_subject > 0' % name)
    if config.get('deny_purge') is True and config.get('allow_rollup_hdrs') is True:
        raise ModelError('stream %s: allow_rollup_hdrs needs the purge permission; it cannot be used with '
                         'deny_purge' % name)
    max_age = config.get('max_age') or 0
    duplicates = config.get('duplicate_window') or 0
    if max_age not in (0, KEEP) and max_age < 100 * 1000 * 1000:
        raise ModelError('stream %s: max_age must be 0 (unlimited) or at least 100ms' % name)
    if duplicates not in (0, KEEP) and max_age not in (0, KEEP) and duplicates > max_age:
        raise ModelError('stream %s: duplicate_window (%s) cannot be longer than max_age (%s)'
                         % (name, format_duration(duplicates), format_duration(max_age)))
    replicas = config.get('num_replicas')
    if replicas not in (None, KEEP) and not 0 <= replicas <= 5:
        raise ModelError('stream %s: num_replicas must be between 1 and 5' % name)


def validate_consumer_config(config):
    """Raise ModelError for a desired consumer config the server would reject outright."""
    name = config.get('durable_name') or config.get('name')
    validate_name('consumer', name)
    if config.get('filter_subject') and config.get('filter_subjects'):
        raise ModelError('consumer %s: set filter_subject or filter_subjects, not both' % name)
    policy = config.get('deliver_policy') or 'all'
    if policy == 'by_start_sequence' and not config.get('opt_start_seq'):
        raise ModelError('consumer %s: deliver_policy by_start_sequence needs opt_start_seq' % name)
    if policy != 'by_start_sequence' and config.get('opt_start_seq'):
        raise ModelError('consumer %s: opt_start_seq needs deliver_policy: by_start_sequence' % name)
    if policy == 'by_start_time' and not config.get('opt_start_time'):
        raise ModelError('consumer %s: deliver_policy by_start_time needs opt_start_time' % name)
    if policy != 'by_start_time' and config.get('opt_start_time'):
        raise ModelError('consumer %s: opt_start_time needs deliver_policy: by_start_time' % name)
    backoff = config.get('backoff') or []
    max_deliver = config.get('max_deliver')
    if backoff and max_deliver not in (None, -1, 0) and len(backoff) > max_deliver:
        raise ModelError('consumer %s: backoff has %d steps but max_deliver is %d; max_deliver must be at least '
                         'the number of backoff steps' % (name, len(backoff), max_deliver))
    if backoff and config.get('ack_wait') and config['ack_wait'] != backoff[0]:
        raise ModelError('consumer %s: with backoff the server uses the first backoff step (%s) as ack_wait; '
                         'drop ack_wait or make it equal (%s given)'
                         % (name, format_duration(backoff[0]), format_duration(config['ack_wait'])))
    if backoff and (config.get('ack_policy') or 'none') == 'none':
        raise ModelError('consumer %s: backoff needs ack_policy explicit or all' % name)
    push = bool(config.get('deliver_subject'))
    if not push:
        for key in ('deliver_group', 'flow_control', 'idle_heartbeat', 'rate_limit_bps'):
            if config.get(key):
                raise ModelError('consumer %s: %s only applies to push consumers; set deliver_subject too' % (name, key))
    else:
        for key in ('max_waiting', 'max_batch', 'max_expires'):
            if config.get(key):
                raise ModelError('consumer %s: %s only applies to pull consumers; remove deliver_subject or %s'
                                 % (name, key, key))
        if config.get('flow_control') and not config.get('idle_heartbeat'):
            raise ModelError('consumer %s: flow_control needs idle_heartbeat' % name)


# ---------------------------------------------------------------------------------------------
# Diff and rules
# ---------------------------------------------------------------------------------------------
def diff_configs(before, after, fields):
    """Return ``{field: {'old': ..., 'new': ...}}`` for every field of ``fields`` that differs.

    Both configs must be canonical (see ``normalize_*``); ``before`` may be None (everything new).
    """
    if before is not None and before == after:
        return {}  # the common case of a run with nothing to change, without a look at each field
    changes = {}
    for name in fields:
        old = before.get(name) if before is not None else None
        new = after.get(name)
        if old != new:
            changes[name] = {'old': old, 'new': new}
    return changes


def _created_fields(defaults, after, fields):
    """For a create: the fields set to something else than the server's default (old is None)."""
    changes = diff_configs(defaults, after, fields)
    for change in changes.values():
        change['old'] = None
    return changes


def describe_value(field, value):
    """Render a field value for a message: durations as "2m", empty values as "(none)"."""
    kind = field.kind if isinstance(field, Field) else field
    if value is None or value == '' or value == [] or value == {}:
        return '(none)'
    if kind == 'duration' and isinstance(value, int):
        return format_duration(value)
    if kind == 'durations' and isinstance(value, list):
        return '[%s]' % ', '.join(format_duration(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def field_refusals(fields, changes):
    """The changes the server refuses by each field's own update rule: ``[{field, old, new, why}]``."""
    return [{'field': name, 'old': change['old'], 'new': change['new'], 'why': fields[name].why}
            for name, change in sorted(changes.items()) if fields[name].refuses(change['old'], change['new'])]


def stream_refusals(before, after, changes):
    """Return the changes a stream update would be refused for: ``[{field, old, new, why}]``."""
    refused = field_refusals(STREAM_FIELDS, changes)
    if 'placement' in changes and 'num_replicas' in changes and after.get('placement') is not None:
        refused.append({'field': 'placement', 'old': changes['placement']['old'], 'new': changes['placement']['new'],
                        'why': 'a stream cannot move (placement) and scale (num_replicas) in one update; '
                               'change one now and the other in a later run'})
    return refused


def consumer_refusals(before, after, changes):
    """Return the changes a consumer update would be refused for: ``[{field, old, new, why}]``."""
    return field_refusals(CONSUMER_FIELDS, changes)


def _needs(subject, since, version):
    return '%s needs nats-server %s or newer; the server runs %s' % (subject, format_version(since),
                                                                     format_version(version))


def version_refusals(fields, defaults, after, changes, version, creating):
    """Return the settings the server at ``version`` cannot take: ``(unsupported, not_updatable)``.

    ``unsupported``: a field, value or key newer than the server, set to something else than
    its default (an older server would silently drop it); no recreate helps.  ``not_updatable``:
    a change the server cannot make in place at that release (``update_since``); a recreate can
    make it.  Both are lists of ``{field, old, new, why}``; empty when ``version`` is None.
    """
    unsupported, not_updatable = [], []
    if version is None:
        return unsupported, not_updatable
    running = format_version(version)
    for name, field in fields.items():
        value = after.get(name)
        old = None if creating else (changes.get(name) or {}).get('old', value)
        why = None
        if field.since and version < field.since and value != defaults.get(name):
            why = _needs(name, field.since, version)
        for special, since in sorted(field.values_since.items()):
            if why is None and value == special and version < since:
                why = _needs('%s: %s' % (name, special), since, version)
        items = value if isinstance(value, list) else [value]
        for key, since in sorted(field.keys_since.items()):
            if why is None and version < since and any(isinstance(item, dict) and item.get(key) for item in items):
                why = _needs('%s.%s' % (name, key) if not isinstance(value, list) else '%s[].%s' % (name, key),
                             since, version)
        if why:
            unsupported.append({'field': name, 'old': old, 'new': value, 'why': why})
            continue
        if creating or name not in changes or not field.update_since or version >= field.update_since:
            continue
        if field.rule == TURN_ON_ONLY:
            if changes[name]['new'] and not changes[name]['old']:
                why = 'nats-server %s cannot turn %s on after the stream is created (%s and newer can)' % (
                    running, name, format_version(field.update_since))
        else:
            why = 'nats-server %s cannot change %s after creation (%s and newer can)' % (
                running, name, format_version(field.update_since))
        if why:
            not_updatable.append({'field': name, 'old': changes[name]['old'], 'new': changes[name]['new'], 'why': why})
    return unsupported, not_updatable


# Fields whose default the server's own jetstream { limits } may change: when the task leaves
# them out, a current value such a limit could have given is the server's default.
SERVER_LIMITED_STREAM_FIELDS = ('duplicate_window',)
SERVER_LIMITED_CONSUMER_FIELDS = ('max_ack_pending', 'max_batch')


def _limit_could_give(name, current, expected):
    """True when a server limit could turn the model's default ``expected`` into ``current``.

    ``duplicate_window`` and ``max_ack_pending`` limits lower the default (never to zero);
    ``max_request_batch`` gives pull consumers a ``max_batch`` where the default is none.
    """
    if current == expected:
        return True
    if name == 'max_batch':
        return expected == 0 and current > 0
    return 0 < current < expected


def server_defaulted(desired, before, expected, names):
    """The omitted fields of ``names`` whose ``before`` value a server limit could have given.

    ``expected`` is the model's canonical form of ``desired``; fields the task sets are never
    in the result.  Used to keep such values (``KEEP``) and not to warn about them after a create.
    """
    out = []
    for name in names:
        if desired.get(name) is not None:
            continue
        if before is None or _limit_could_give(name, before.get(name), expected.get(name)):
            out.append(name)
    return out


# ---------------------------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------------------------
def _overlay(current_raw, desired_raw, fields):
    """The update request: the server's config, with every managed field as desired.

    Managed fields the desired config leaves out are removed, so the server applies its
    default; ``KEEP`` fields and fields this model does not know keep the server's value.
    """
    # A shallow copy is enough: fields are replaced whole, never changed in place.
    request = dict(current_raw)
    for name in fields:
        if name in ('name', 'durable_name'):
            continue
        value = desired_raw.get(name)
        if value is KEEP:
            continue
        if value is None:
            request.pop(name, None)
        else:
            request[name] = _copy(value)
    if 'metadata' in request and isinstance(request['metadata'], dict):
        request['metadata'] = _metadata(request['metadata'])
    return request


def _overlay_forms(current_forms, desired_forms, desired_raw):
    """The canonical forms of ``_overlay(current_raw, desired_raw, fields)``, from those of both sides.

    ``desired_forms`` are those of ``_create_request(desired_raw)`` before any field was made
    ``KEEP``.  The request takes a field's value from the desired config, or drops it when the
    desired config leaves it out (then its form is the absent one, as in ``desired_forms``);
    it keeps the server's value for ``KEEP`` fields and the names (the caller sets a stream's).
    """
    out = dict(desired_forms)
    for name in ('name', 'durable_name'):
        if name in out:
            out[name] = current_forms[name]
    for name, value in desired_raw.items():
        if value is KEEP and name in out:
            out[name] = current_forms[name]
    return out


# Values deepcopy returns as they are.
_ATOMS = (str, int, float, bool, type(None))


def _copy(value):
    if type(value) in _ATOMS:
        return value
    if isinstance(value, list) and all(type(item) in _ATOMS for item in value):
        return list(value)  # subjects and the like: what deepcopy returns, at a fraction of its cost
    return copy.deepcopy(value)


def _create_request(desired_raw):
    atoms = _ATOMS
    return {k: (v if type(v) in atoms else _copy(v)) for k, v in desired_raw.items()
            if v is not None and v is not KEEP and k[:1] != '_'}


def _keeps_nothing_else(plan, current_forms, desired_forms, names):
    """True when the update's forms are the desired ones: the names, and every field kept from
    the server, already have the desired forms (then the update's config is the expected one)."""
    return all(current_forms[key] == desired_forms[key] for key in names + tuple(plan['kept']))


def _new_plan(kind, name, stream=None):
    return {
        'kind': kind,
        'name': name,
        'stream': stream,
        'action': 'none',
        'changes': {},
        'refused': [],
        'reasons': [],
        'before': None,
        'after': None,
        'request': None,
        'current': None,
        'kept': [],
    }


def plan_stream(desired, current, recreate=False, acknowledge_data_loss=False, state='present', current_state=None,
                label=None, server_version=None, server_limits=None):
    """Decide what to do with one stream.

    ``desired`` is an API-shaped config (durations in ns; omitted fields take server defaults;
    ``KEEP`` fields keep the server's value); with ``state='absent'`` only its ``name`` is used.
    ``current`` is the server's config (``STREAM.INFO``'s ``config``) or None when missing;
    ``current_state`` its ``state`` block (used to say what a recreate would lose).

    Returns a plan dict: ``action`` (create, update, none, refuse, recreate, delete),
    ``changes`` ({field: {old, new}}), ``refused`` ([{field, old, new, why}]), ``reasons``
    (sentences), ``before``/``after`` (canonical configs for diff mode), ``request`` (the
    config to send) and ``message`` (one line for people).  ``apply_plan`` carries it out.
    ``server_version`` (a tuple, see ``parse_version``) refuses what that release cannot do.
    ``server_limits`` are the server's ``jetstream { limits }`` when known; when None, an
    omitted field whose current value such a limit could have given keeps that value.
    """
    name = desired.get('name')
    plan = _new_plan('stream', name)
    plan['label'] = label or 'stream %s' % name
    plan['current'] = current
    plan['context'] = {'server_limits': server_limits}
    current_forms = _STREAM_FORMS(current) if current is not None else None
    before = _stream_as_stored(dict(current_forms), server_limits) if current is not None else None
    plan['before'] = before
    plan['data_loss'] = stream_data_loss(current_state) if current is not None else None
    if state == 'absent':
        if current is not None:
            plan['action'] = 'delete'
            plan['reasons'].append('%s exists and state is absent' % plan['label'])
        return _finish(plan)
    validate_stream_config(desired)
    # The forms of the create request (``_create_request(desired)``), which is only built to be sent.
    desired_forms = _STREAM_FORMS(desired)
    expected = _stream_as_stored(dict(desired_forms), server_limits)
    plan['server_defaulted'] = [] if server_limits is not None else server_defaulted(
        desired, before, expected, SERVER_LIMITED_STREAM_FIELDS)
    if current is not None and plan['server_defaulted']:
        desired = dict(desired, **dict((key, KEEP) for key in plan['server_defaulted']))
    plan['kept'] = sorted([k for k, v in desired.items() if v is KEEP])
    if current is None:
        defaults = normalize_stream_config({'name': name}, server_limits)
        unsupported = version_refusals(STREAM_FIELDS, defaults, expected, {}, server_version, True)[0]
        if desired.get('sealed') is True:
            unsupported.append({'field': 'sealed', 'old': None, 'new': True,
                                'why': 'a stream cannot be created sealed; create it first, then seal it'})
        if unsupported:
            plan['action'] = 'refuse'
            plan['refused'] = unsupported
            return _finish(plan)
        plan['action'] = 'create'
        plan['request'] = _create_request(desired)
        plan['after'] = expected
        plan['changes'] = _created_fields(defaults, plan['after'], STREAM_FIELDS)
        return _finish(plan)
    # The update request's canonical forms without building it: the desired ones, the current
    # ones where the request keeps the server's value (it is only built when something changes).
    if _keeps_nothing_else(plan, current_forms, desired_forms, ('name',)):
        after = expected
    else:
        after_forms = _overlay_forms(current_forms, desired_forms, desired)
        after_forms['name'] = _STREAM_FORMS.form('name', current.get('name', name))
        after = _stream_as_stored(after_forms, server_limits)
    plan['after'] = after
    plan['changes'] = diff_configs(before, after, STREAM_FIELDS)
    if not plan['changes']:
        return _finish(plan)
    request = _overlay(current, desired, STREAM_FIELDS)
    request['name'] = current.get('name', name)
    defaults = normalize_stream_config({'name': name}, server_limits)
    unsupported, not_updatable = version_refusals(STREAM_FIELDS, defaults, after, plan['changes'], server_version,
                                                  False)
    if unsupported:
        plan['action'] = 'refuse'
        plan['refused'] = unsupported
        plan['remedy'] = 'upgrade nats-server, or leave these options out'
        return _finish(plan)
    plan['refused'] = stream_refusals(before, after, plan['changes']) + not_updatable
    if not plan['refused']:
        plan['action'] = 'update'
        plan['request'] = request
        return _finish(plan)
    if recreate and acknowledge_data_loss:
        # The new stream carries everything the old one had that the task does not change,
        # fields this model does not know included; the changes list every difference.
        plan['action'] = 'recreate'
        plan['request'] = request
        plan['changes'] = diff_configs(before, after, STREAM_FIELDS)
    else:
        plan['action'] = 'refuse'
        loss = 'its %s' % describe_data_loss(plan['data_loss'])
        if recreate:
            plan['remedy'] = ('recreate: true also needs acknowledge_data_loss: true, because recreating deletes '
                              '%s' % loss)
        else:
            plan['remedy'] = ('set recreate: true and acknowledge_data_loss: true to delete and recreate it (this '
                              'deletes %s), or put the old values back' % loss)
    return _finish(plan)


def stream_data_loss(state):
    """What deleting a stream destroys, from its ``state`` (``STREAM.INFO``): ``{messages, bytes, consumers}``.

    None when the state is unknown.
    """
    if state is None:
        return None
    return {'messages': int(state.get('messages') or 0), 'bytes': int(state.get('bytes') or 0),
            'consumers': int(state.get('consumer_count') or 0)}


def _count(number, word):
    return '%d %s%s' % (number, word, '' if number == 1 else 's')


def describe_data_loss(loss):
    """``{messages, bytes, consumers}`` in words: "3 messages (1.2 KiB) and 1 consumer"."""
    if loss is None:
        return 'all messages and consumers'
    return '%s (%s) and %s' % (_count(loss['messages'], 'message'), format_size(loss['bytes']),
                               _count(loss['consumers'], 'consumer'))


def protect_delete(plan, acknowledge_data_loss=False):
    """Delete protection for a stream plan (a KV bucket and an object store are streams too).

    A ``delete`` of a stream that holds messages, or whose state is unknown, needs the
    acknowledgement a recreate needs: without ``acknowledge_data_loss`` the plan becomes
    ``refuse`` with a message saying what the delete would destroy and how to go ahead.  An
    empty stream is deleted as asked.  Other plans are returned untouched.  Changes ``plan`` in
    place and returns it.
    """
    if plan['kind'] != 'stream' or plan['action'] != 'delete' or acknowledge_data_loss:
        return plan
    loss = plan.get('data_loss')
    if loss is not None and loss['messages'] == 0:
        return plan
    plan['action'] = 'refuse'
    plan['refused'] = [{'field': 'state', 'old': 'present', 'new': 'absent',
                        'why': 'deleting it destroys %s' % describe_data_loss(loss)}]
    plan['remedy'] = 'set acknowledge_data_loss: true to delete it with its messages, or purge it first'
    return _finish(plan)


def plan_consumer(desired, current, stream_config=None, recreate=False, state='present', account_limits=None,
                  stream=None, server_version=None, server_limits=None):
    """Decide what to do with one consumer of ``stream``.

    ``desired`` is an API-shaped consumer config (``name``/``durable_name`` set); ``current``
    the server's consumer config or None; ``stream_config`` the stream's config (defaults such
    as ``consumer_limits`` depend on it).  Returns a plan like ``plan_stream``; a refused change
    becomes ``recreate`` when ``recreate`` is true (the consumer loses its delivery state).
    """
    name = desired.get('durable_name') or desired.get('name')
    plan = _new_plan('consumer', name, stream)
    plan['label'] = 'consumer %s on stream %s' % (name, stream)
    plan['current'] = current
    plan['context'] = {'stream_config': stream_config, 'account_limits': account_limits, 'server_limits': server_limits}
    limits = current_forms = before = None
    if current is not None:
        limits = _consumer_limits((stream_config or {}).get('consumer_limits'))
        current_forms = _CONSUMER_FORMS(current)
        before = _consumer_as_stored(dict(current_forms), limits, account_limits, server_limits)
    plan['before'] = before
    if state == 'absent':
        if current is not None:
            plan['action'] = 'delete'
            plan['reasons'].append('%s exists and state is absent' % plan['label'])
        return _finish(plan)
    validate_consumer_config(desired)
    if limits is None:
        limits = _consumer_limits((stream_config or {}).get('consumer_limits'))
    # The forms of the create request (``_create_request(desired)`` named ``name``), which is only built to be sent.
    desired_forms = _CONSUMER_FORMS(desired)
    desired_forms['name'] = desired_forms['durable_name'] = _CONSUMER_FORMS.form('name', name)
    expected = _consumer_as_stored(dict(desired_forms), limits, account_limits, server_limits)
    plan['server_defaulted'] = [] if server_limits is not None else server_defaulted(
        desired, before, expected, SERVER_LIMITED_CONSUMER_FIELDS)
    if current is not None and plan['server_defaulted']:
        desired = dict(desired, **dict((key, KEEP) for key in plan['server_defaulted']))
    plan['kept'] = sorted([k for k, v in desired.items() if v is KEEP])
    if current is None:
        defaults = normalize_consumer_config({'name': name}, stream_config, account_limits, server_limits)
        unsupported = version_refusals(CONSUMER_FIELDS, defaults, expected, {}, server_version, True)[0]
        if unsupported:
            plan['action'] = 'refuse'
            plan['refused'] = unsupported
            return _finish(plan)
        plan['action'] = 'create'
        plan['request'] = _create_request(desired)
        plan['request']['name'] = plan['request']['durable_name'] = name
        plan['after'] = expected
        plan['changes'] = _created_fields(defaults, plan['after'], CONSUMER_FIELDS)
        return _finish(plan)
    if _keeps_nothing_else(plan, current_forms, desired_forms, ('name', 'durable_name')):
        after = expected
    else:
        after_forms = _overlay_forms(current_forms, desired_forms, desired)
        after = _consumer_as_stored(after_forms, limits, account_limits, server_limits)
    plan['after'] = after
    plan['changes'] = diff_configs(before, after, CONSUMER_FIELDS)
    if not plan['changes']:
        return _finish(plan)
    request = _overlay(current, desired, CONSUMER_FIELDS)
    defaults = normalize_consumer_config({'name': name}, stream_config, account_limits, server_limits)
    unsupported, not_updatable = version_refusals(CONSUMER_FIELDS, defaults, after, plan['changes'],
                                                  server_version, False)
    if unsupported:
        plan['action'] = 'refuse'
        plan['refused'] = unsupported
        plan['remedy'] = 'upgrade nats-server, or leave these options out'
        return _finish(plan)
    plan['refused'] = consumer_refusals(before, after, plan['changes']) + not_updatable
    if not plan['refused']:
        plan['action'] = 'update'
        plan['request'] = request
    elif recreate:
        # As for streams: the new consumer keeps every setting the task does not change.
        plan['action'] = 'recreate'
        plan['request'] = request
        plan['changes'] = diff_configs(before, after, CONSUMER_FIELDS)
    else:
        plan['action'] = 'refuse'
        plan['remedy'] = ('set recreate: true to delete and recreate the consumer (it loses its delivery and '
                          'acknowledgement state and starts again from its deliver_policy), or put the old values back')
    return _finish(plan)


def _describe_change(fields, name, old, new, why=None):
    field = fields.get(name, 'str')
    text = '%s: %s -> %s' % (name, describe_value(field, old), describe_value(field, new))
    return '%s (%s)' % (text, why) if why else text


def _finish(plan):
    fields = STREAM_FIELDS if plan['kind'] == 'stream' else CONSUMER_FIELDS
    action = plan['action']
    refused = [_describe_change(fields, r['field'], r['old'], r['new'], r['why']) for r in plan['refused']]
    if action == 'refuse':
        plan['reasons'] = refused
        if [r['field'] for r in plan['refused']] == ['state']:
            plan['message'] = '%s holds %s: state absent would delete them. To delete it: %s.' % (
                plan['label'], describe_data_loss(plan.get('data_loss')), plan['remedy'])
        elif plan['current'] is None:
            plan['message'] = '%s cannot be created as asked: %s' % (plan['label'], '; '.join(refused))
        else:
            plan['message'] = '%s cannot be changed in place: %s. To apply: %s.' % (
                plan['label'], '; '.join(refused), plan.get('remedy', 'put the old values back'))
    elif action == 'recreate':
        plan['reasons'] = refused
        plan['message'] = '%s: recreate (delete, then create) because %s' % (plan['label'], '; '.join(refused))
        if plan.get('data_loss') is not None:
            plan['message'] += '; this deletes its %s' % describe_data_loss(plan['data_loss'])
    elif action == 'update':
        plan['reasons'] = [_describe_change(fields, name, change['old'], change['new'])
                           for name, change in sorted(plan['changes'].items())]
        plan['message'] = '%s: update %s' % (plan['label'], '; '.join(plan['reasons']))
    elif action == 'create':
        plan['message'] = '%s does not exist: create it' % plan['label']
    elif action == 'delete':
        plan['message'] = '%s exists: delete it' % plan['label']
        if plan.get('data_loss') is not None:
            plan['message'] += ' with its %s' % describe_data_loss(plan['data_loss'])
    elif plan['current'] is None:
        plan['message'] = '%s is absent: nothing to do' % plan['label']
    else:
        plan['message'] = '%s matches: nothing to change' % plan['label']
    plan['changed'] = action in ('create', 'update', 'recreate', 'delete')
    return plan


def unexpected_drift(plan, stored_config, stream_config=None, account_limits=None):
    """After applying, list fields where the server stored something else than planned.

    Such a field would make the next run report a change; returned as
    ``{field: {'planned': ..., 'stored': ...}}`` so callers can warn.
    """
    if plan['after'] is None or stored_config is None:
        return {}
    server_limits = (plan.get('context') or {}).get('server_limits')
    if plan['kind'] == 'stream':
        stored = normalize_stream_config(stored_config, server_limits)
        fields = STREAM_FIELDS
    else:
        stored = normalize_consumer_config(stored_config, stream_config, account_limits, server_limits)
        fields = CONSUMER_FIELDS
    drift = {}
    for name in fields:
        planned = plan['after'].get(name)
        if name in plan.get('kept', ()) or name in plan.get('server_defaulted', ()):
            continue
        if planned != stored.get(name):
            drift[name] = {'planned': planned, 'stored': stored.get(name)}
    return drift
