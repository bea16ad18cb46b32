# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every field of streams, consumers, KV buckets and object stores, each declared once.

A ``Field`` holds all this collection knows of one field: its JetStream API name, the option
users write (and its aliases), the option's type, choices, default and suboptions, the unit
its value is read in, what the server stores when it is left out, how it is compared, its
update rule and the nats-server releases that brought it, and one line saying what it does.
Everything else derives from these tables: the argument specs and the option -> API
conversion (``jetstream_options``), the canonical forms, update refusals and release rules
(``jetstream_model``), and the option list of each module's documentation (checked against
the tables by the unit tests, printed by ``tools/field_docs.py``).

Pure data: no Ansible, no network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

UPDATABLE = 'updatable'
IMMUTABLE = 'immutable'
TURN_ON_ONLY = 'turn_on_only'
CONDITIONAL = 'conditional'

# Units an option value is read in (``units.parse_*``); a field of kind duration, durations or
# time has its unit implied.
COUNT = 'count'
SIZE = 'size'
DURATION = 'duration'
TIMESTAMP = 'timestamp'
_KIND_UNITS = {'duration': DURATION, 'durations': DURATION, 'time': TIMESTAMP}

# The Ansible type of an option, by the field's kind (a count, size or duration option is raw:
# it takes a number or a string with a unit).
_KIND_TYPES = {
    'str': ('str', None), 'bool': ('bool', None), 'int': ('int', None), 'time': ('str', None),
    'list': ('list', 'str'), 'subjects': ('list', 'str'), 'durations': ('list', 'raw'),
    'metadata': ('dict', None), 'placement': ('dict', None), 'source': ('dict', None),
    'sources': ('list', 'dict'), 'transform': ('dict', None), 'republish': ('dict', None),
    'consumer_limits': ('dict', None), 'dict': ('dict', None), 'transforms': ('list', 'dict'),
}

_UNSET = object()

STREAM_RETENTIONS = ('limits', 'interest', 'workqueue')
STREAM_STORAGES = ('file', 'memory')
STREAM_DISCARDS = ('old', 'new')
STREAM_COMPRESSIONS = ('none', 's2')
STREAM_PERSIST_MODES = ('default', 'async')
CONSUMER_DELIVER_POLICIES = ('all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject')
CONSUMER_ACK_POLICIES = ('explicit', 'none', 'all', 'flow_control')
CONSUMER_PRIORITY_POLICIES = ('none', 'overflow', 'pinned_client', 'prioritized')
CONSUMER_REPLAY_POLICIES = ('instant', 'original')


class Field:
    """One field (or suboption): the single declaration everything about it derives from.

    ``name`` is the JetStream API name and ``kind`` how its value is put in canonical form and
    shown (``str``, ``bool``, ``int``, ``limit``, ``duration``, ``time``, ``list``, ...).
    ``option`` is the option's name (the API name unless given; None when no option sets the
    field), ``aliases`` its other names; ``unit`` (``count``, ``size``, ``duration``,
    ``timestamp``) how an option value is read; ``choices``, ``default``, ``required`` and
    ``suboptions`` (Fields) describe the option.  ``server_default`` is what the server stores
    when the field is left out, ``minimum`` a floor below which values count as it.

    ``rule`` is the update rule (``why`` says it in words): updatable, immutable, turn-on-only
    or conditional (``refused_when(old, new)`` says when).  ``since`` is the first release that
    knows the field (older servers silently drop it, so setting it there is refused);
    ``update_since`` the first release that can change it after creation (before, a change is
    refused as if the field were immutable); ``values_since`` maps a value (``ack_policy:
    flow_control``) and ``keys_since`` a key of a dict field, or of the dicts of a list field
    (``placement.preferred``, ``sources[].consumer``), to the release that brought it.
    ``doc`` is one line saying what the field does.
    """

    def __init__(self, name, kind, rule=UPDATABLE, why=None, since=None, update_since=None, values_since=None,
                 keys_since=None, option=_UNSET, aliases=(), unit=None, choices=None, default=None, required=False,
                 suboptions=(), server_default=None, minimum=None, refused_when=None, doc=''):
        self.name = name
        self.kind = kind
        self.rule = rule
        self.why = why
        self.since = since
        self.update_since = update_since
        self.values_since = values_since or {}
        self.keys_since = keys_since or {}
        self.option = name if option is _UNSET else option
        self.aliases = tuple(aliases)
        self.unit = unit or _KIND_UNITS.get(kind)
        self.choices = tuple(choices) if choices else None
        self.default = default
        self.required = required
        self.suboptions = tuple(suboptions)
        self.server_default = server_default
        self.minimum = minimum
        self.refused_when = refused_when
        self.doc = doc

    def __repr__(self):
        return 'Field(%r)' % self.name

    @property
    def type(self):
        """The option's Ansible type: raw for counts, sizes and durations, else by kind."""
        if self.unit in (COUNT, SIZE, DURATION):
            return 'list' if self.kind == 'durations' else 'raw'
        return _KIND_TYPES.get(self.kind, ('str', None))[0]

    @property
    def elements(self):
        """The option's list element type, None for an option that is not a list."""
        if self.kind == 'durations':
            return 'raw'
        return _KIND_TYPES.get(self.kind, ('str', None))[1]

    def refuses(self, old, new):
        """True when the server refuses changing this field from ``old`` to ``new`` in place."""
        if self.rule == IMMUTABLE:
            return True
        if self.rule == TURN_ON_ONLY:
            return bool(old) and not new
        if self.rule == CONDITIONAL:
            return bool(self.refused_when(old, new))
        return False

    def derive(self, **changes):
        """This field under another option (a bucket's ``ttl`` is its stream's ``max_age``)."""
        field = copy.copy(self)
        if 'kind' in changes and 'unit' not in changes:
            field.unit = _KIND_UNITS.get(changes['kind'])
        for key, value in changes.items():
            setattr(field, key, tuple(value) if key == 'aliases' else value)
        return field


def fields_by_name(*fields):
    """Fields keyed by API name, in declaration order."""
    return dict((field.name, field) for field in fields)


def option_fields(fields):
    """The fields an option sets, keyed by option name (dict of Fields or an iterable)."""
    values = fields.values() if isinstance(fields, dict) else fields
    return dict((field.option, field) for field in values if field.option is not None)


def _to_or_from_workqueue(old, new):
    return 'workqueue' in (old, new)


def _mirror_added_or_changed(old, new):
    return new is not None


def _pull_push_switch(old, new):
    return not old or not new


# ---------------------------------------------------------------------------------------------
# Suboptions shared by several fields
# ---------------------------------------------------------------------------------------------
def _transform_suboptions(dest_doc):
    return (Field('src', 'str', required=True, doc='Subject filter.'),
            Field('dest', 'str', required=True, doc=dest_doc))


PLACEMENT_SUBOPTIONS = (
    Field('cluster', 'str', doc='Name of the cluster.'),
    Field('tags', 'list', doc='Tags the chosen servers must have.'),
    Field('preferred', 'str', doc='Server preferred as the leader (nats-server 2.11 and newer).'),
)

SOURCE_SUBOPTIONS = (
    Field('name', 'str', required=True, doc='Name of the origin stream (for a KV bucket, of the origin bucket).'),
    Field('opt_start_seq', 'int', doc='First sequence to copy.'),
    Field('opt_start_time', 'time', doc='First time to copy, RFC 3339.'),
    Field('filter_subject', 'str', doc='Copy only messages on this subject.'),
    Field('subject_transforms', 'transforms', suboptions=_transform_suboptions('Subject transform destination.'),
          doc='Subject filters with transforms, instead of filter_subject.'),
    Field('external', 'dict', doc='The origin is in another account or JetStream domain.', suboptions=(
        Field('api', 'str', required=True, doc='API prefix of the other domain or account.'),
        Field('deliver', 'str', doc='Delivery prefix.'),
    )),
    # Not an API key: turned into external.api by the option conversion.
    Field('domain', 'str', doc='The origin is in this JetStream domain; shorthand for external.api.'),
    Field('consumer', 'dict', doc='Durable sourcing through a named consumer on the origin (nats-server 2.14 and newer).',
          suboptions=(Field('name', 'str', doc='Name of the consumer on the origin.'),
                      Field('deliver_subject', 'str', doc='Subject the consumer delivers to.'))),
)

REPUBLISH_SUBOPTIONS = (
    Field('src', 'str', doc="Subject filter; the server's default is >."),
    Field('dest', 'str', required=True, doc='Destination subject.'),
    Field('headers_only', 'bool', default=False, doc='Republish only the headers.'),
)

_METADATA_DOC = "Free key/value strings; keys starting with _nats are the server's own and are ignored."

# ---------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------
STREAM_FIELDS = fields_by_name(
    Field('name', 'str', IMMUTABLE, 'the name identifies the stream', required=True,
          doc='Name of the stream; no ".", "*", ">", "/", "\\" or white space.'),
    Field('description', 'str', doc='Free text.'),
    Field('subjects', 'subjects', doc="Subjects the stream listens on; the server's default is the stream's name."),
    Field('retention', 'str', CONDITIONAL, 'retention can change between limits and interest, never to or from workqueue',
          refused_when=_to_or_from_workqueue, choices=STREAM_RETENTIONS, server_default='limits',
          doc='What removes messages: limits, interest or workqueue.'),
    Field('max_consumers', 'limit', update_since=(2, 12, 5), unit=COUNT, doc='Most consumers; -1 is unlimited.'),
    Field('max_msgs', 'limit', unit=COUNT, doc='Most messages kept; -1 is unlimited.'),
    Field('max_bytes', 'limit', unit=SIZE, doc='Most bytes kept; -1 is unlimited.'),
    Field('max_age', 'duration', doc='Oldest message kept; 0 is unlimited.'),
    Field('max_msgs_per_subject', 'limit', unit=COUNT, aliases=['max_per_subject'],
          doc='Most messages kept per subject; -1 is unlimited.'),
    Field('max_msg_size', 'limit', unit=SIZE, doc='Largest message accepted; -1 is unlimited.'),
    Field('discard', 'str', choices=STREAM_DISCARDS, server_default='old',
          doc='At a limit, drop old messages or refuse new ones.'),
    Field('discard_new_per_subject', 'bool', aliases=['discard_per_subject'], doc='Apply discard new per subject.'),
    Field('storage', 'str', IMMUTABLE, 'the storage type is fixed when the stream is created', choices=STREAM_STORAGES,
          server_default='file', doc='Where messages are stored.'),
    Field('num_replicas', 'int', aliases=['replicas'], server_default=1, doc='Number of replicas (1 to 5).'),
    Field('no_ack', 'bool', doc='Do not acknowledge publishes.'),
    Field('duplicate_window', 'duration', aliases=['dupe_window', 'duplicates'],
          doc='Window in which a repeated Nats-Msg-Id is dropped.'),
    Field('placement', 'placement', keys_since={'preferred': (2, 11, 0)}, suboptions=PLACEMENT_SUBOPTIONS,
          doc='Where a clustered stream is placed.'),
    Field('mirror', 'source', CONDITIONAL, 'a mirror can be removed (promoting the stream) but not added or changed',
          keys_since={'consumer': (2, 14, 0)}, refused_when=_mirror_added_or_changed, suboptions=SOURCE_SUBOPTIONS,
          doc='Make the stream a mirror of another stream.'),
    Field('sources', 'sources', keys_since={'consumer': (2, 14, 0)}, suboptions=SOURCE_SUBOPTIONS,
          doc='Streams to copy messages from.'),
    Field('compression', 'str', choices=STREAM_COMPRESSIONS, server_default='none', doc='On-disk compression.'),
    Field('first_seq', 'int', IMMUTABLE, 'the first sequence only applies when the stream is created',
          doc='Sequence number of the first message.'),
    Field('subject_transform', 'transform', suboptions=_transform_suboptions('Transform destination.'),
          doc='Transform the subject of incoming messages.'),
    Field('republish', 'republish', suboptions=REPUBLISH_SUBOPTIONS, doc='Republish every stored message.'),
    Field('allow_direct', 'bool', doc='Allow direct get from any replica.'),
    Field('mirror_direct', 'bool', doc='Allow direct get on a mirror.'),
    Field('sealed', 'bool', TURN_ON_ONLY, 'a sealed stream can never be unsealed', doc='Seal the stream.'),
    Field('deny_delete', 'bool', TURN_ON_ONLY, 'deny_delete can be turned on, never off',
          doc='Forbid deleting messages through the API.'),
    Field('deny_purge', 'bool', TURN_ON_ONLY, 'deny_purge can be turned on, never off',
          doc='Forbid purging through the API.'),
    Field('allow_rollup_hdrs', 'bool', aliases=['allow_rollup'], doc='Allow Nats-Rollup headers.'),
    Field('consumer_limits', 'consumer_limits', doc="Defaults and limits for the stream's consumers.", suboptions=(
        Field('inactive_threshold', 'duration', doc='Default and largest inactivity threshold of consumers.'),
        Field('max_ack_pending', 'int', doc='Default and largest max ack pending of consumers.'),
    )),
    Field('allow_msg_ttl', 'bool', TURN_ON_ONLY, 'per-message TTLs can be turned on, never off', since=(2, 11, 0),
          update_since=(2, 11, 2), doc='Allow per-message TTLs.'),
    Field('subject_delete_marker_ttl', 'duration', since=(2, 11, 0),
          doc='TTL of the delete marker left when max age removes the last message of a subject.'),
    Field('allow_msg_counter', 'bool', IMMUTABLE, 'a counter stream stays one, and a stream never becomes one',
          since=(2, 12, 0), doc='Make the stream a counter stream.'),
    Field('allow_atomic', 'bool', since=(2, 12, 0), aliases=['allow_atomic_publish'],
          doc='Allow atomic batch publishing.'),
    Field('allow_msg_schedules', 'bool', TURN_ON_ONLY, 'message schedules can be turned on, never off',
          since=(2, 12, 0), doc='Allow scheduled messages.'),
    Field('persist_mode', 'str', IMMUTABLE, 'the persist mode is fixed when the stream is created', since=(2, 12, 0),
          choices=STREAM_PERSIST_MODES, server_default='default', doc='Flush each write, or asynchronously.'),
    Field('allow_batched', 'bool', since=(2, 14, 0), aliases=['allow_batch_publish'],
          doc='Allow fast batch publishing.'),
    Field('metadata', 'metadata', doc=_METADATA_DOC),
)

# ---------------------------------------------------------------------------------------------
# Consumers
# ---------------------------------------------------------------------------------------------
CONSUMER_FIELDS = fields_by_name(
    Field('name', 'str', IMMUTABLE, 'the name identifies the consumer', aliases=['durable_name', 'durable'],
          required=True, doc='Name of the durable consumer.'),
    # Set from the name option: a durable consumer's name is its durable name.
    Field('durable_name', 'str', IMMUTABLE, 'the name identifies the consumer', option=None),
    Field('description', 'str', doc='Free text.'),
    Field('deliver_policy', 'str', IMMUTABLE, 'the deliver policy is fixed when the consumer is created',
          choices=CONSUMER_DELIVER_POLICIES, server_default='all', doc='Where delivery starts.'),
    Field('opt_start_seq', 'int', IMMUTABLE, 'the start sequence is fixed when the consumer is created',
          aliases=['start_sequence'], doc='First stream sequence, with deliver_policy by_start_sequence.'),
    Field('opt_start_time', 'time', IMMUTABLE, 'the start time is fixed when the consumer is created',
          aliases=['start_time'], doc='First time, RFC 3339, with deliver_policy by_start_time.'),
    Field('ack_policy', 'str', IMMUTABLE, 'the ack policy is fixed when the consumer is created',
          values_since={'flow_control': (2, 14, 0)}, choices=CONSUMER_ACK_POLICIES, default='explicit',
          server_default='none', doc='How messages are acknowledged.'),
    Field('ack_wait', 'duration', minimum=0, doc='Time to wait for an acknowledgement before redelivering.'),
    Field('max_deliver', 'limit', unit=COUNT, doc='Most delivery attempts per message; -1 is unlimited.'),
    Field('backoff', 'durations', doc='Redelivery delays, one per attempt.'),
    Field('filter_subject', 'str', doc='Deliver only messages on this subject.'),
    Field('filter_subjects', 'list', doc='Deliver only messages on these subjects.'),
    Field('replay_policy', 'str', IMMUTABLE, 'the replay policy is fixed when the consumer is created',
          choices=CONSUMER_REPLAY_POLICIES, server_default='instant', doc='Replay at instant or original speed.'),
    Field('rate_limit_bps', 'int', aliases=['rate_limit'], doc='Delivery rate limit in bits per second.'),
    Field('sample_freq', 'str', aliases=['sample_frequency'], doc='Percentage of acknowledgements to sample.'),
    Field('max_waiting', 'int', IMMUTABLE, 'max_waiting is fixed when the consumer is created', minimum=0,
          doc='Most pending pull requests.'),
    Field('max_ack_pending', 'int', unit=COUNT, aliases=['max_pending'],
          doc='Most messages delivered and not yet acknowledged.'),
    Field('flow_control', 'bool', IMMUTABLE, 'flow control is fixed when the consumer is created',
          doc='Flow control for push consumers.'),
    Field('headers_only', 'bool', doc='Deliver only the headers.'),
    Field('max_batch', 'int', aliases=['max_request_batch'], minimum=0,
          doc='Largest batch a pull request may ask for.'),
    Field('max_expires', 'duration', aliases=['max_request_expires'], minimum=0,
          doc='Longest expiry a pull request may ask for.'),
    Field('max_bytes', 'int', unit=SIZE, aliases=['max_request_max_bytes'], minimum=0,
          doc='Largest number of bytes one pull request may ask for.'),
    Field('deliver_subject', 'str', CONDITIONAL, 'a pull consumer cannot become a push consumer nor the reverse',
          refused_when=_pull_push_switch, aliases=['delivery_subject'], doc='Subject to push messages to.'),
    Field('deliver_group', 'str', aliases=['delivery_group'], doc='Queue group that shares the pushed messages.'),
    Field('idle_heartbeat', 'duration', IMMUTABLE, 'the idle heartbeat is fixed when the consumer is created',
          aliases=['heartbeat'], minimum=0, doc='Heartbeat interval when idle.'),
    Field('inactive_threshold', 'duration', minimum=0, doc='Delete the consumer after this long without activity.'),
    Field('num_replicas', 'int', aliases=['replicas'], doc="Replicas of the consumer's state."),
    Field('mem_storage', 'bool', IMMUTABLE, 'the storage type is fixed when the consumer is created',
          aliases=['memory_storage'], doc="Keep the consumer's state in memory."),
    Field('metadata', 'metadata', doc=_METADATA_DOC),
    Field('priority_policy', 'str', since=(2, 11, 0), values_since={'prioritized': (2, 12, 0)},
          choices=CONSUMER_PRIORITY_POLICIES, server_default='none',
          doc='How pull requests of the priority groups share the messages.'),
    Field('priority_groups', 'list', since=(2, 11, 0), doc='Priority groups of a pull consumer.'),
    Field('priority_timeout', 'duration', since=(2, 11, 0), aliases=['pinned_ttl'], minimum=0,
          doc='How long a pinned client keeps its pin without pulling.'),
    Field('pause_until', 'time', since=(2, 11, 0), doc='Pause delivery until this time, RFC 3339.'),
)

# ---------------------------------------------------------------------------------------------
# Buckets: options that set fields of the bucket's stream (same rules, other option names)
# ---------------------------------------------------------------------------------------------
_BUCKET_NAME_DOC = 'Name of the bucket; letters, digits, "_" and "-".'
_SHARED_BUCKET_OPTIONS = ('storage', 'num_replicas', 'compression', 'placement', 'metadata')

KV_BUCKET_FIELDS = (
    STREAM_FIELDS['name'].derive(option='bucket', aliases=['name'], doc=_BUCKET_NAME_DOC),
    STREAM_FIELDS['description'],
    STREAM_FIELDS['max_msgs_per_subject'].derive(option='history', kind='int', aliases=(),
                                                 doc='Values kept per key, 1 to 64.'),
    STREAM_FIELDS['max_age'].derive(option='ttl', doc='How long a value is kept; 0 is forever.'),
    STREAM_FIELDS['max_msg_size'].derive(option='max_value_size', doc='Largest value accepted; -1 is unlimited.'),
    STREAM_FIELDS['max_bytes'].derive(aliases=['max_bucket_size'], doc='Largest size of the whole bucket.'),
) + tuple(STREAM_FIELDS[name] for name in _SHARED_BUCKET_OPTIONS) + (
    STREAM_FIELDS['republish'],
    STREAM_FIELDS['subject_delete_marker_ttl'].derive(
        option='limit_marker_ttl', doc='TTL of the marker left when a value is removed by a limit.'),
    STREAM_FIELDS['mirror'].derive(doc='Make the bucket a read-only copy of another bucket.'),
    STREAM_FIELDS['sources'].derive(doc='Buckets whose keys are copied into this one.'),
)

OBJECT_STORE_FIELDS = (
    STREAM_FIELDS['name'].derive(option='bucket', aliases=['name'], doc=_BUCKET_NAME_DOC),
    STREAM_FIELDS['description'],
    STREAM_FIELDS['max_age'].derive(option='ttl', doc='How long an object is kept; 0 is forever.'),
    STREAM_FIELDS['max_bytes'].derive(aliases=['max_bucket_size'], doc='Largest size of the whole store.'),
) + tuple(STREAM_FIELDS[name] for name in _SHARED_BUCKET_OPTIONS)

# The options of each kind, keyed by option name.
KIND_FIELDS = {
    'stream': option_fields(STREAM_FIELDS),
    'consumer': option_fields(CONSUMER_FIELDS),
    'kv_bucket': option_fields(KV_BUCKET_FIELDS),
    'object_store': option_fields(OBJECT_STORE_FIELDS),
}
