"""Each option of the field tables reaches its API field, read in its unit: what a new field
gets from its one declaration, for streams, consumers, KV buckets and object stores alike."""
import pytest

from ansible_collections.cim.nats.plugins.module_utils.jetstream_fields import KIND_FIELDS
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import ModelError
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
from ansible_collections.cim.nats.plugins.module_utils.units import SECOND

KINDS = {
    'stream': (stream_argument_spec, stream_config_from_options, {'name': 'S1'}),
    'consumer': (consumer_argument_spec, consumer_config_from_options, {'name': 'C1', 'stream': 'S1'}),
    'kv_bucket': (kv_bucket_argument_spec, kv_bucket_config_from_options, {'bucket': 'B1'}),
    'object_store': (object_store_argument_spec, object_store_config_from_options, {'bucket': 'B1'}),
}
# What a user writes in each unit, and what the API gets.
UNIT_SAMPLES = {
    'count': ('unlimited', -1),
    'size': ('1KiB', 1024),
    'duration': ('2s', 2 * SECOND),
    'timestamp': ('2030-01-31T12:00:00+01:00', '2030-01-31T11:00:00Z'),
}


def _config(kind, **options):
    argument_spec, to_config, required = KINDS[kind]
    return to_config(validate_options(argument_spec(), dict(required, **options)))


def _options(predicate):
    return [(kind, option) for kind in sorted(KIND_FIELDS) for option, field in KIND_FIELDS[kind].items()
            if predicate(field)]


@pytest.mark.parametrize('kind, option', _options(lambda field: field.unit))
def test_an_option_with_a_unit_reaches_its_api_field_in_the_api_unit(kind, option):
    field = KIND_FIELDS[kind][option]
    written, sent = UNIT_SAMPLES[field.unit]
    if field.type == 'list':
        written, sent = [written], [sent]
    assert _config(kind, **{option: written})[field.name] == sent


@pytest.mark.parametrize('kind, option', _options(lambda field: field.unit in ('count', 'size', 'duration')))
def test_an_unreadable_value_is_refused_naming_the_option(kind, option):
    field = KIND_FIELDS[kind][option]
    with pytest.raises(ModelError, match='^%s: ' % option):
        _config(kind, **{option: ['ten'] if field.type == 'list' else 'ten'})


@pytest.mark.parametrize('kind, option', _options(
    lambda field: not field.unit and not field.required and field.type in ('str', 'bool', 'int')))
def test_a_plain_option_reaches_its_api_field_as_written(kind, option):
    field = KIND_FIELDS[kind][option]
    value = {'str': field.choices[-1] if field.choices else 'x', 'bool': True, 'int': 3}[field.type]
    assert _config(kind, **{option: value})[field.name] == value


@pytest.mark.parametrize('kind, option', _options(lambda field: field.aliases and not field.required))
def test_an_alias_means_its_option(kind, option):
    field = KIND_FIELDS[kind][option]
    value = UNIT_SAMPLES[field.unit][0] if field.unit else {'bool': True, 'int': 3, 'str': 'x'}[field.type]
    assert _config(kind, **{field.aliases[-1]: value}) == _config(kind, **{option: value})
