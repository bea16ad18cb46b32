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

from ansible_collections.cim.nats.plugins.module_utils.jetstream_fields import (
    COUNT,
    DURATION,
    KIND_FIELDS,
    SIZE,
    TIMESTAMP,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    KEEP,
    ModelError,
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

_PARSERS = {COUNT: parse_count, SIZE: parse_size, DURATION: parse_duration, TIMESTAMP: normalize_timestamp}


def option_spec(field):
    """The argument spec entry of one field's option (suboptions included), from its declaration."""
    spec = dict(type=field.type)
    if field.elements:
        spec['elements'] = field.elements
    if field.required:
        spec['required'] = True
    if field.aliases:
        spec['aliases'] = list(field.aliases)
    if field.choices:
        spec['choices'] = list(field.choices)
    if field.default is not None:
        spec['default'] = field.default
    if field.suboptions:
        spec['options'] = dict((sub.option, option_spec(sub)) for sub in field.suboptions)
    return spec


def _fields_spec(kind, **control):
    """The argument spec of ``kind``: its fields' options plus the options that steer the task."""
    spec = dict((option, option_spec(field)) for option, field in KIND_FIELDS[kind].items())
    spec.update(control)
    return spec


def _state_spec():
    return dict(type='str', default='present', choices=['present', 'absent'])


def _data_loss_spec():
    return dict(recreate=dict(type='bool', default=False), acknowledge_data_loss=dict(type='bool', default=False))


def stream_argument_spec():
    """Argument spec of a stream (``cim.nats.jetstream_stream``, one item of ``jetstream_streams``)."""
    return _fields_spec('stream', state=_state_spec(), **_data_loss_spec())


def consumer_argument_spec():
    """Argument spec of a consumer (``cim.nats.jetstream_consumer``, one item of ``jetstream_consumers``)."""
    return _fields_spec('consumer', stream=dict(type='str', required=True, aliases=['stream_name']),
                        state=_state_spec(), recreate=dict(type='bool', default=False))


def kv_bucket_argument_spec():
    """Argument spec of a KV bucket (``cim.nats.jetstream_kv_bucket``)."""
    return _fields_spec('kv_bucket', state=_state_spec(), **_data_loss_spec())


def object_store_argument_spec():
    """Argument spec of an object store (``cim.nats.jetstream_object_store``)."""
    return _fields_spec('object_store', state=_state_spec(), **_data_loss_spec())


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
    out = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)):
            raise ModelError('%s: the value of %r must be a string' % (option, key))
        if isinstance(item, bool):
            item = 'true' if item else 'false'
        out[str(key)] = '' if item is None else str(item)
    return out


def _source(option, source):
    domain = source.pop('domain', None)
    if domain:
        if source.get('external'):
            raise ModelError('%s: set domain or external, not both' % option)
        # What natscli does for --source-domain: the other domain's API prefix.
        source['external'] = {'api': '$JS.%s.API' % domain}
    if source.get('consumer') is not None and not source['consumer']:
        del source['consumer']
    return source


def _placement(option, placement):
    return placement or None


# What an option of these kinds means beyond its suboptions.
_DICT_SHAPES = {'source': _source, 'sources': _source, 'placement': _placement}


def _dict_value(field, option, value):
    value = _strip(value)
    for sub in field.suboptions:
        if value.get(sub.option) is not None:
            value[sub.option] = option_value(sub, '%s.%s' % (option, sub.option), value[sub.option])
    shape = _DICT_SHAPES.get(field.kind)
    return shape(option, value) if shape else value


def option_value(field, option, value):
    """One validated option value (not None) in the API's form: units read, unset suboptions dropped.

    ``option`` names the option in a ``ModelError`` for a value that cannot be read.
    """
    if field.unit:
        parser = _PARSERS[field.unit]
        if isinstance(value, list):
            return [_convert(option, item, parser) for item in value]
        return _convert(option, value, parser)
    if field.kind == 'metadata':
        return _metadata(option, value)
    if field.suboptions:
        if isinstance(value, list):
            return [_dict_value(field, option, item) for item in value]
        return _dict_value(field, option, value)
    return value


def _reads_its_value(field):
    """True when an option's validated value needs reading (units, metadata, suboptions)."""
    return bool(field.unit or field.kind == 'metadata' or field.suboptions)


# kind -> {option: (API name, field, reads its value)}: a layout converts hundreds of items.
_CONVERSIONS = dict((kind, dict((option, (field.name, field, _reads_its_value(field)))
                                for option, field in fields.items()))
                    for kind, fields in KIND_FIELDS.items())


def _set_values(kind, options, by_api_name):
    conversions, out = _CONVERSIONS[kind], {}
    for option, value in options.items():
        if value is None:
            continue
        conversion = conversions.get(option)
        if conversion is not None:
            name, field, reads = conversion
            out[name if by_api_name else option] = option_value(field, option, value) if reads else value
    return out


def config_from_options(kind, options):
    """The set options of ``kind`` as ``{option: API value}``; unset options are left out."""
    return _set_values(kind, options, False)


def _api_config(kind, options):
    return _set_values(kind, options, True)


def stream_config_from_options(options):
    """Turn validated ``stream_argument_spec`` options into an API-shaped stream config.

    Durations become nanoseconds, sizes bytes, unset options are left out (server default).
    Raises ``ModelError`` naming the option for a value that cannot be read.
    """
    config = _api_config('stream', options)
    if 'mirror' in config and options.get('mirror_direct') is None:
        # The server copies the origin's allow_direct into mirror_direct.
        config['mirror_direct'] = KEEP
    return config


def consumer_config_from_options(options):
    """Turn validated ``consumer_argument_spec`` options into an API-shaped consumer config."""
    config = _api_config('consumer', options)
    config['durable_name'] = config['name']
    return config


def kv_bucket_config_from_options(options):
    """Turn validated ``kv_bucket_argument_spec`` options into the API config of the bucket's stream."""
    config = config_from_options('kv_bucket', options)
    return kv_bucket_stream_config(config.pop('bucket'), **config)


def object_store_config_from_options(options):
    """Turn validated ``object_store_argument_spec`` options into the API config of the store's stream."""
    config = config_from_options('object_store', options)
    return object_store_stream_config(config.pop('bucket'), **config)


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
