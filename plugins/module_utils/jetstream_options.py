# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options users write for streams, consumers, KV buckets and object stores.

Each kind has an argument spec (JetStream API field names, with the aliases natscli and the
Terraform provider use) and a function turning validated options into the API-shaped config
of ``jetstream_model``.  The single-object modules and the bulk reconcile validate the same
dicts with the same specs (``validate_options``), so an item of a layout means exactly what
the same options mean in a module task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    CONSUMER_ACK_POLICIES,
    CONSUMER_DELIVER_POLICIES,
    CONSUMER_PRIORITY_POLICIES,
    CONSUMER_REPLAY_POLICIES,
    KEEP,
    ModelError,
    STREAM_COMPRESSIONS,
    STREAM_DISCARDS,
    STREAM_PERSIST_MODES,
    STREAM_RETENTIONS,
    STREAM_STORAGES,
    kv_bucket_stream_config,
    object_store_stream_config,
)
from ansible_collections.cim.nats.plugins.module_utils.units import (
    UnitError,
    normalize_timestamp,
    parse_count,
    parse_duration,
    parse_size,
)


def _placement_spec():
    return dict(
        cluster=dict(type='str'),
        tags=dict(type='list', elements='str'),
        preferred=dict(type='str'),
    )


def _source_spec():
    return dict(
        name=dict(type='str', required=True),
        opt_start_seq=dict(type='int'),
        opt_start_time=dict(type='str'),
        filter_subject=dict(type='str'),
        subject_transforms=dict(type='list', elements='dict', options=dict(
            src=dict(type='str', required=True),
            dest=dict(type='str', required=True),
        )),
        external=dict(type='dict', options=dict(
            api=dict(type='str', required=True),
            deliver=dict(type='str'),
        )),
        domain=dict(type='str'),
        consumer=dict(type='dict', options=dict(
            name=dict(type='str'),
            deliver_subject=dict(type='str'),
        )),
    )


def _republish_spec():
    return dict(
        src=dict(type='str'),
        dest=dict(type='str', required=True),
        headers_only=dict(type='bool', default=False),
    )


def _state_spec():
    return dict(type='str', default='present', choices=['present', 'absent'])


def stream_argument_spec():
    """Argument spec of a stream (``cim.nats.jetstream_stream``, one item of ``jetstream_streams``)."""
    return dict(
        name=dict(type='str', required=True),
        state=_state_spec(),
        subjects=dict(type='list', elements='str'),
        description=dict(type='str'),
        retention=dict(type='str', choices=list(STREAM_RETENTIONS)),
        storage=dict(type='str', choices=list(STREAM_STORAGES)),
        num_replicas=dict(type='int', aliases=['replicas']),
        max_msgs=dict(type='raw'),
        max_bytes=dict(type='raw'),
        max_age=dict(type='raw'),
        max_msg_size=dict(type='raw'),
        max_msgs_per_subject=dict(type='raw', aliases=['max_per_subject']),
        max_consumers=dict(type='raw'),
        discard=dict(type='str', choices=list(STREAM_DISCARDS)),
        discard_new_per_subject=dict(type='bool', aliases=['discard_per_subject']),
        duplicate_window=dict(type='raw', aliases=['dupe_window', 'duplicates']),
        no_ack=dict(type='bool'),
        allow_rollup_hdrs=dict(type='bool', aliases=['allow_rollup']),
        deny_delete=dict(type='bool'),
        deny_purge=dict(type='bool'),
        allow_direct=dict(type='bool'),
        mirror_direct=dict(type='bool'),
        sealed=dict(type='bool'),
        compression=dict(type='str', choices=list(STREAM_COMPRESSIONS)),
        placement=dict(type='dict', options=_placement_spec()),
        mirror=dict(type='dict', options=_source_spec()),
        sources=dict(type='list', elements='dict', options=_source_spec()),
        subject_transform=dict(type='dict', options=dict(
            src=dict(type='str', required=True),
            dest=dict(type='str', required=True),
        )),
        republish=dict(type='dict', options=_republish_spec()),
        metadata=dict(type='dict'),
        allow_msg_ttl=dict(type='bool'),
        subject_delete_marker_ttl=dict(type='raw'),
        allow_msg_counter=dict(type='bool'),
        allow_atomic=dict(type='bool', aliases=['allow_atomic_publish']),
        allow_msg_schedules=dict(type='bool'),
        persist_mode=dict(type='str', choices=list(STREAM_PERSIST_MODES)),
        allow_batched=dict(type='bool', aliases=['allow_batch_publish']),
        consumer_limits=dict(type='dict', options=dict(
            inactive_threshold=dict(type='raw'),
            max_ack_pending=dict(type='int'),
        )),
        first_seq=dict(type='int'),
        recreate=dict(type='bool', default=False),
        acknowledge_data_loss=dict(type='bool', default=False),
    )


def consumer_argument_spec():
    """Argument spec of a consumer (``cim.nats.jetstream_consumer``, one item of ``jetstream_consumers``)."""
    return dict(
        stream=dict(type='str', required=True, aliases=['stream_name']),
        name=dict(type='str', required=True, aliases=['durable_name', 'durable']),
        state=_state_spec(),
        description=dict(type='str'),
        filter_subject=dict(type='str'),
        filter_subjects=dict(type='list', elements='str'),
        deliver_policy=dict(type='str', choices=list(CONSUMER_DELIVER_POLICIES)),
        opt_start_seq=dict(type='int', aliases=['start_sequence']),
        opt_start_time=dict(type='str', aliases=['start_time']),
        ack_policy=dict(type='str', default='explicit', choices=list(CONSUMER_ACK_POLICIES)),
        ack_wait=dict(type='raw'),
        max_deliver=dict(type='raw'),
        backoff=dict(type='list', elements='raw'),
        replay_policy=dict(type='str', choices=list(CONSUMER_REPLAY_POLICIES)),
        max_ack_pending=dict(type='raw', aliases=['max_pending']),
        max_waiting=dict(type='int'),
        max_batch=dict(type='int', aliases=['max_request_batch']),
        max_expires=dict(type='raw', aliases=['max_request_expires']),
        inactive_threshold=dict(type='raw'),
        headers_only=dict(type='bool'),
        sample_freq=dict(type='str', aliases=['sample_frequency']),
        num_replicas=dict(type='int', aliases=['replicas']),
        mem_storage=dict(type='bool', aliases=['memory_storage']),
        metadata=dict(type='dict'),
        deliver_subject=dict(type='str', aliases=['delivery_subject']),
        deliver_group=dict(type='str', aliases=['delivery_group']),
        flow_control=dict(type='bool'),
        idle_heartbeat=dict(type='raw', aliases=['heartbeat']),
        rate_limit_bps=dict(type='int', aliases=['rate_limit']),
        max_bytes=dict(type='raw', aliases=['max_request_max_bytes']),
        priority_policy=dict(type='str', choices=list(CONSUMER_PRIORITY_POLICIES)),
        priority_groups=dict(type='list', elements='str'),
        priority_timeout=dict(type='raw', aliases=['pinned_ttl']),
        pause_until=dict(type='str'),
        recreate=dict(type='bool', default=False),
    )


def kv_bucket_argument_spec():
    """Argument spec of a KV bucket (``cim.nats.jetstream_kv_bucket``)."""
    return dict(
        bucket=dict(type='str', required=True, aliases=['name']),
        state=_state_spec(),
        description=dict(type='str'),
        history=dict(type='int'),
        ttl=dict(type='raw'),
        max_value_size=dict(type='raw'),
        max_bytes=dict(type='raw', aliases=['max_bucket_size']),
        storage=dict(type='str', choices=list(STREAM_STORAGES)),
        num_replicas=dict(type='int', aliases=['replicas']),
        compression=dict(type='str', choices=list(STREAM_COMPRESSIONS)),
        placement=dict(type='dict', options=_placement_spec()),
        republish=dict(type='dict', options=_republish_spec()),
        metadata=dict(type='dict'),
        limit_marker_ttl=dict(type='raw'),
        mirror=dict(type='dict', options=_source_spec()),
        sources=dict(type='list', elements='dict', options=_source_spec()),
        recreate=dict(type='bool', default=False),
        acknowledge_data_loss=dict(type='bool', default=False),
    )


def object_store_argument_spec():
    """Argument spec of an object store (``cim.nats.jetstream_object_store``)."""
    return dict(
        bucket=dict(type='str', required=True, aliases=['name']),
        state=_state_spec(),
        description=dict(type='str'),
        ttl=dict(type='raw'),
        max_bytes=dict(type='raw', aliases=['max_bucket_size']),
        storage=dict(type='str', choices=list(STREAM_STORAGES)),
        num_replicas=dict(type='int', aliases=['replicas']),
        compression=dict(type='str', choices=list(STREAM_COMPRESSIONS)),
        placement=dict(type='dict', options=_placement_spec()),
        metadata=dict(type='dict'),
        recreate=dict(type='bool', default=False),
        acknowledge_data_loss=dict(type='bool', default=False),
    )


# ---------------------------------------------------------------------------------------------
# Options -> API config
# ---------------------------------------------------------------------------------------------
def _convert(option, value, parser):
    try:
        return parser(value)
    except UnitError as exc:
        raise ModelError('%s: %s' % (option, exc))


def _strip(value):
    """Drop unset suboptions (Ansible fills them with None)."""
    if isinstance(value, dict):
        return dict((k, _strip(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _metadata(option, value):
    if value is None:
        return None
    out = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise ModelError('%s: the value of %r must be a string' % (option, key))
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        out[str(key)] = '' if item is None else str(item)
    return out


def _source(option, value):
    if value is None:
        return None
    source = _strip(value)
    domain = source.pop('domain', None)
    if domain:
        if source.get('external'):
            raise ModelError('%s: set domain or external, not both' % option)
        # What natscli does for --source-domain: the other domain's API prefix.
        source['external'] = {'api': '$JS.%s.API' % domain}
    if source.get('consumer') is not None and not source['consumer']:
        del source['consumer']
    if source.get('opt_start_time'):
        source['opt_start_time'] = _convert(option + '.opt_start_time', source['opt_start_time'], normalize_timestamp)
    return source


def _placement(value):
    if value is None:
        return None
    placement = _strip(value)
    return placement or None


def stream_config_from_options(options):
    """Turn validated ``stream_argument_spec`` options into an API-shaped stream config.

    Durations become nanoseconds, sizes bytes, unset options are left out (server default).
    Raises ``ModelError`` naming the option for a value that cannot be read.
    """
    config = {'name': options['name']}
    for key in ('subjects', 'description', 'retention', 'storage', 'num_replicas', 'discard',
                'discard_new_per_subject', 'no_ack', 'allow_rollup_hdrs', 'deny_delete', 'deny_purge',
                'allow_direct', 'mirror_direct', 'sealed', 'compression', 'allow_msg_ttl', 'first_seq',
                'allow_msg_counter', 'allow_atomic', 'allow_msg_schedules', 'persist_mode', 'allow_batched'):
        if options.get(key) is not None:
            config[key] = options[key]
    for key in ('max_msgs', 'max_msgs_per_subject', 'max_consumers'):
        if options.get(key) is not None:
            config[key] = _convert(key, options[key], parse_count)
    for key in ('max_bytes', 'max_msg_size'):
        if options.get(key) is not None:
            config[key] = _convert(key, options[key], parse_size)
    for key in ('max_age', 'duplicate_window', 'subject_delete_marker_ttl'):
        if options.get(key) is not None:
            config[key] = _convert(key, options[key], parse_duration)
    if options.get('placement') is not None:
        config['placement'] = _placement(options['placement'])
    if options.get('mirror') is not None:
        config['mirror'] = _source('mirror', options['mirror'])
        if options.get('mirror_direct') is None:
            # The server copies the origin's allow_direct into mirror_direct.
            config['mirror_direct'] = KEEP
    if options.get('sources') is not None:
        config['sources'] = [_source('sources', s) for s in options['sources']]
    if options.get('subject_transform') is not None:
        config['subject_transform'] = _strip(options['subject_transform'])
    if options.get('republish') is not None:
        config['republish'] = _strip(options['republish'])
    if options.get('metadata') is not None:
        config['metadata'] = _metadata('metadata', options['metadata'])
    limits = options.get('consumer_limits')
    if limits is not None:
        config['consumer_limits'] = {}
        if limits.get('inactive_threshold') is not None:
            config['consumer_limits']['inactive_threshold'] = _convert(
                'consumer_limits.inactive_threshold', limits['inactive_threshold'], parse_duration)
        if limits.get('max_ack_pending') is not None:
            config['consumer_limits']['max_ack_pending'] = limits['max_ack_pending']
    return config


def consumer_config_from_options(options):
    """Turn validated ``consumer_argument_spec`` options into an API-shaped consumer config."""
    name = options['name']
    config = {'name': name, 'durable_name': name}
    for key in ('description', 'filter_subject', 'filter_subjects', 'deliver_policy', 'opt_start_seq',
                'ack_policy', 'replay_policy', 'max_waiting', 'max_batch', 'headers_only', 'sample_freq',
                'num_replicas', 'mem_storage', 'deliver_subject', 'deliver_group', 'flow_control',
                'rate_limit_bps'):
        if options.get(key) is not None:
            config[key] = options[key]
    if options.get('opt_start_time') is not None:
        config['opt_start_time'] = _convert('opt_start_time', options['opt_start_time'], normalize_timestamp)
    for key in ('ack_wait', 'max_expires', 'inactive_threshold', 'idle_heartbeat'):
        if options.get(key) is not None:
            config[key] = _convert(key, options[key], parse_duration)
    for key in ('max_deliver', 'max_ack_pending'):
        if options.get(key) is not None:
            config[key] = _convert(key, options[key], parse_count)
    for key in ('priority_policy', 'priority_groups'):
        if options.get(key) is not None:
            config[key] = options[key]
    if options.get('priority_timeout') is not None:
        config['priority_timeout'] = _convert('priority_timeout', options['priority_timeout'], parse_duration)
    if options.get('max_bytes') is not None:
        config['max_bytes'] = _convert('max_bytes', options['max_bytes'], parse_size)
    if options.get('pause_until') is not None:
        config['pause_until'] = _convert('pause_until', options['pause_until'], normalize_timestamp)
    if options.get('backoff') is not None:
        config['backoff'] = [_convert('backoff', step, parse_duration) for step in options['backoff']]
    if options.get('metadata') is not None:
        config['metadata'] = _metadata('metadata', options['metadata'])
    return config


def kv_bucket_config_from_options(options):
    """Turn validated ``kv_bucket_argument_spec`` options into the API config of the bucket's stream."""
    return kv_bucket_stream_config(
        options['bucket'],
        history=options.get('history'),
        ttl=_convert('ttl', options.get('ttl'), parse_duration),
        max_value_size=_convert('max_value_size', options.get('max_value_size'), parse_size),
        max_bytes=_convert('max_bytes', options.get('max_bytes'), parse_size),
        storage=options.get('storage'),
        num_replicas=options.get('num_replicas'),
        compression=options.get('compression'),
        placement=_placement(options.get('placement')),
        republish=_strip(options['republish']) if options.get('republish') is not None else None,
        description=options.get('description'),
        metadata=_metadata('metadata', options.get('metadata')),
        limit_marker_ttl=_convert('limit_marker_ttl', options.get('limit_marker_ttl'), parse_duration),
        mirror=_source('mirror', options.get('mirror')),
        sources=[_source('sources', s) for s in options['sources']] if options.get('sources') else None,
    )


def object_store_config_from_options(options):
    """Turn validated ``object_store_argument_spec`` options into the API config of the store's stream."""
    return object_store_stream_config(
        options['bucket'],
        ttl=_convert('ttl', options.get('ttl'), parse_duration),
        max_bytes=_convert('max_bytes', options.get('max_bytes'), parse_size),
        storage=options.get('storage'),
        num_replicas=options.get('num_replicas'),
        compression=options.get('compression'),
        placement=_placement(options.get('placement')),
        description=options.get('description'),
        metadata=_metadata('metadata', options.get('metadata')),
    )


def server_limits_from_options(value):
    """Turn the ``server_limits`` option into the model's form (durations in ns); None when unset."""
    if value is None:
        return None
    limits = _strip(value)
    if limits.get('duplicate_window') is not None:
        limits['duplicate_window'] = _convert('server_limits.duplicate_window', limits['duplicate_window'],
                                              parse_duration)
    return limits


def options_validator(argument_spec):
    """Return a function validating one dict of options against ``argument_spec`` outside a module.

    The function returns the validated options (aliases resolved, defaults filled) and raises
    ``ModelError`` with every problem Ansible's validator found.  The spec is prepared once, so
    a layout's hundreds of items of one kind share it.
    """
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    validator = ArgumentSpecValidator(argument_spec)

    def validate(options):
        result = validator.validate(options)
        if result.error_messages:
            raise ModelError('; '.join(result.error_messages))
        return result.validated_parameters

    return validate


def validate_options(argument_spec, options):
    """Validate one dict of options against an argument spec outside a module (see ``options_validator``)."""
    return options_validator(argument_spec)(options)
