"""The one model of JetStream configs: normalisation, field rules, plans, bucket derivation.

Server answers used here were captured from nats-server 2.15.1 (the test wheel): a minimal
create read back, so "omitted means the server's default" is checked against the real thing
(the integration tests check it live as well).
"""
import copy

import pytest

from ansible_collections.cim.nats.plugins.module_utils.jetstream_fields import (
    CONSUMER_FIELDS,
    IMMUTABLE,
    STREAM_FIELDS,
    TURN_ON_ONLY,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    KEEP,
    ModelError,
    kv_bucket_stream_config,
    normalize_consumer_config,
    normalize_stream_config,
    object_store_stream_config,
    plan_consumer,
    plan_stream,
    protect_delete,
    unexpected_drift,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import (
    consumer_argument_spec,
    consumer_config_from_options,
    kv_bucket_argument_spec,
    kv_bucket_config_from_options,
    options_validator,
    stream_argument_spec,
    stream_config_from_options,
    validate_options,
)
from ansible_collections.cim.nats.plugins.module_utils.units import DAY, MINUTE, SECOND

# STREAM.CREATE {"name": "S1", "subjects": ["a.>"]} answered by nats-server 2.15.1
SERVER_MINIMAL_STREAM = {
    "name": "S1", "subjects": ["a.>"], "retention": "limits", "max_consumers": -1, "max_msgs": -1,
    "max_bytes": -1, "max_age": 0, "max_msgs_per_subject": -1, "max_msg_size": -1, "discard": "old",
    "storage": "file", "num_replicas": 1, "duplicate_window": 120000000000, "compression": "none",
    "allow_direct": False, "mirror_direct": False, "sealed": False, "deny_delete": False, "deny_purge": False,
    "allow_rollup_hdrs": False, "consumer_limits": {}, "allow_msg_ttl": False,
    "metadata": {"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.1"},
}
# CONSUMER.CREATE {"durable_name": "C1", "ack_policy": "explicit"} on S1, answered by 2.15.1
SERVER_MINIMAL_CONSUMER = {
    "durable_name": "C1", "name": "C1", "deliver_policy": "all", "ack_policy": "explicit",
    "ack_wait": 30000000000, "max_deliver": -1, "replay_policy": "instant", "max_waiting": 512,
    "max_ack_pending": 1000, "num_replicas": 0,
    "metadata": {"_nats.level": "5", "_nats.req.level": "0", "_nats.ver": "2.15.1"},
}


def stream(**options):
    options.setdefault('name', 'S1')
    return stream_config_from_options(validate_options(stream_argument_spec(), options))


def consumer(**options):
    options.setdefault('stream', 'S1')
    options.setdefault('name', 'C1')
    return consumer_config_from_options(validate_options(consumer_argument_spec(), options))


def test_one_prepared_validator_gives_each_item_only_its_own_options():
    """A layout validates hundreds of items with one prepared spec: nothing may carry over."""
    items = [{'name': 'A', 'subjects': ['a.>'], 'max_age': '1d', 'republish': {'src': 'a.>', 'dest': 'r.>'},
              'placement': {'cluster': 'east', 'tags': ['ssd']}, 'sources': [{'name': 'X', 'filter_subject': 'x.>'}]},
             {'name': 'B'},
             {'name': 'C', 'sources': [{'name': 'Y'}]}]
    validate = options_validator(stream_argument_spec())
    shared = [validate(copy.deepcopy(item)) for item in items]
    fresh = [validate_options(stream_argument_spec(), copy.deepcopy(item)) for item in items]
    assert shared == fresh
    assert shared[1]['republish'] is None and shared[1]['sources'] is None
    assert stream_config_from_options(shared[0])['republish']['dest'] == 'r.>'
    with pytest.raises(ModelError, match='max_agee'):
        validate({'name': 'D', 'max_agee': '1d'})
    assert validate({'name': 'E'}) == validate_options(stream_argument_spec(), {'name': 'E'})


# -- normalisation ----------------------------------------------------------------------------
def test_minimal_stream_equals_what_the_server_stores():
    assert normalize_stream_config({'name': 'S1', 'subjects': ['a.>']}) == normalize_stream_config(
        SERVER_MINIMAL_STREAM)


def test_server_metadata_is_ignored_but_user_metadata_counts():
    server = dict(SERVER_MINIMAL_STREAM, metadata={'_nats.ver': '2.15.1', 'team': 'graph'})
    assert normalize_stream_config(server)['metadata'] == {'team': 'graph'}


def test_stream_defaults_that_depend_on_other_fields():
    assert normalize_stream_config({'name': 'X'})['subjects'] == ['X']
    assert normalize_stream_config({'name': 'X', 'sources': [{'name': 'A'}]})['subjects'] == []
    assert normalize_stream_config({'name': 'X', 'mirror': {'name': 'A'}})['duplicate_window'] == 0
    assert normalize_stream_config({'name': 'X', 'max_age': 60 * SECOND})['duplicate_window'] == 60 * SECOND
    assert normalize_stream_config({'name': 'X', 'max_age': DAY})['duplicate_window'] == 2 * MINUTE
    # 0 and anything below -1 mean unlimited, as the server stores them
    assert normalize_stream_config({'name': 'X', 'max_msgs': 0, 'max_bytes': -5})['max_msgs'] == -1
    assert normalize_stream_config({'name': 'X', 'max_bytes': -5})['max_bytes'] == -1
    assert normalize_stream_config({'name': 'X', 'republish': {'dest': 'out.>'}})['republish'] == {
        'src': '>', 'dest': 'out.>', 'headers_only': False}


def test_sealing_adjusts_what_the_server_adjusts():
    sealed = normalize_stream_config({'name': 'X', 'sealed': True, 'max_age': DAY, 'allow_rollup_hdrs': True})
    assert (sealed['max_age'], sealed['discard'], sealed['deny_delete'], sealed['deny_purge'],
            sealed['allow_rollup_hdrs']) == (0, 'new', True, True, False)


def test_delete_markers_turn_on_ttls_and_rollups():
    marked = normalize_stream_config({'name': 'X', 'subject_delete_marker_ttl': 5 * SECOND, 'deny_purge': True})
    assert marked['allow_msg_ttl'] and marked['allow_rollup_hdrs'] and not marked['deny_purge']


def test_subject_and_source_order_does_not_matter():
    one = normalize_stream_config({'name': 'X', 'subjects': ['b', 'a'], 'sources': [{'name': 'B'}, {'name': 'A'}]})
    two = normalize_stream_config({'name': 'X', 'subjects': ['a', 'b'], 'sources': [{'name': 'A'}, {'name': 'B'}]})
    assert one == two


@pytest.mark.parametrize('config', [
    {'name': 'X'},
    SERVER_MINIMAL_STREAM,
    {'name': 'X', 'sealed': True, 'mirror': {'name': 'A', 'opt_start_time': '2024-01-01T01:00:00+01:00'}},
    {'name': 'X', 'placement': {'cluster': 'c', 'tags': ['b', 'a']}, 'consumer_limits': {'max_ack_pending': 5}},
])
def test_stream_normalisation_is_idempotent(config):
    once = normalize_stream_config(config)
    assert normalize_stream_config(once) == once


def test_minimal_consumer_equals_what_the_server_stores():
    desired = consumer()
    assert normalize_consumer_config(desired) == normalize_consumer_config(SERVER_MINIMAL_CONSUMER)


def test_consumer_defaults_follow_the_stream_and_the_ack_policy():
    limits = {'consumer_limits': {'max_ack_pending': 50, 'inactive_threshold': 60 * SECOND}}
    with_limits = normalize_consumer_config({'name': 'C', 'ack_policy': 'explicit'}, limits)
    assert with_limits['max_ack_pending'] == 50 and with_limits['inactive_threshold'] == 60 * SECOND
    no_acks = normalize_consumer_config({'name': 'C', 'ack_policy': 'none'})
    assert no_acks['ack_wait'] == 0 and no_acks['max_ack_pending'] == 0
    push = normalize_consumer_config({'name': 'C', 'deliver_subject': 'out'})
    assert push['max_waiting'] == 0
    backoff = normalize_consumer_config({'name': 'C', 'ack_policy': 'explicit', 'backoff': [SECOND, 5 * SECOND]})
    assert backoff['ack_wait'] == SECOND
    capped = normalize_consumer_config({'name': 'C', 'ack_policy': 'all'}, None, {'max_ack_pending': 100})
    assert capped['max_ack_pending'] == 100


def test_start_times_compare_by_instant():
    one = normalize_consumer_config({'name': 'C', 'opt_start_time': '2024-01-01T01:00:00+01:00'})
    two = normalize_consumer_config({'name': 'C', 'opt_start_time': '2024-01-01T00:00:00Z'})
    assert one == two


# -- field rules ------------------------------------------------------------------------------
def test_rules_follow_the_server():
    assert {n for n, f in STREAM_FIELDS.items() if f.rule == IMMUTABLE} == {
        'name', 'storage', 'first_seq', 'allow_msg_counter', 'persist_mode'}
    assert {n for n, f in STREAM_FIELDS.items() if f.rule == TURN_ON_ONLY} == {
        'sealed', 'deny_delete', 'deny_purge', 'allow_msg_ttl', 'allow_msg_schedules'}
    assert {n for n, f in CONSUMER_FIELDS.items() if f.rule == IMMUTABLE} == {
        'name', 'durable_name', 'deliver_policy', 'opt_start_seq', 'opt_start_time', 'ack_policy', 'replay_policy',
        'idle_heartbeat', 'flow_control', 'max_waiting', 'mem_storage'}


@pytest.mark.parametrize('current, desired, refused', [
    ({}, {'storage': 'memory'}, ['storage']),
    ({}, {'first_seq': 10}, ['first_seq']),
    ({}, {'retention': 'workqueue'}, ['retention']),
    ({'retention': 'workqueue'}, {'retention': 'limits'}, ['retention']),
    ({'deny_delete': True}, {}, ['deny_delete']),
    ({'deny_purge': True}, {}, ['deny_purge']),
    ({'allow_msg_ttl': True}, {}, ['allow_msg_ttl']),
    # a sealed stream also denies delete and purge (the server sets both when sealing)
    ({'sealed': True}, {}, ['deny_delete', 'deny_purge', 'sealed']),
    ({'mirror': {'name': 'A'}, 'subjects': []}, {'mirror': {'name': 'B'}}, ['mirror']),
    ({}, {'mirror': {'name': 'A'}, 'subjects': None}, ['mirror']),
    ({}, {'num_replicas': 3, 'placement': {'cluster': 'east'}}, ['placement']),
])
def test_refused_stream_changes(current, desired, refused):
    server = dict(SERVER_MINIMAL_STREAM, **current)
    wanted = dict({'name': 'S1', 'subjects': ['a.>']}, **desired)
    wanted = dict((k, v) for k, v in wanted.items() if v is not None)
    if 'mirror' in wanted:
        wanted.pop('subjects', None)
    plan = plan_stream(wanted, server)
    assert plan['action'] == 'refuse'
    assert [r['field'] for r in plan['refused']] == refused
    assert 'recreate: true' in plan['message'] and 'acknowledge_data_loss: true' in plan['message']


@pytest.mark.parametrize('current, desired', [
    ({}, {'retention': 'interest'}),
    ({'retention': 'interest'}, {}),
    ({}, {'deny_delete': True, 'deny_purge': True, 'allow_msg_ttl': True}),
    ({}, {'sealed': True}),
    ({'mirror': {'name': 'A'}, 'subjects': []}, {'subjects': ['a.>']}),
    ({}, {'num_replicas': 3}),
    ({}, {'compression': 's2', 'max_age': DAY, 'subjects': ['a.>', 'b.>']}),
])
def test_allowed_stream_changes_are_updates(current, desired):
    server = dict(SERVER_MINIMAL_STREAM, **current)
    wanted = dict({'name': 'S1', 'subjects': ['a.>']}, **desired)
    plan = plan_stream(wanted, server)
    assert plan['action'] == 'update', plan['message']
    assert plan['request']['name'] == 'S1'


@pytest.mark.parametrize('change, field', [
    ({'deliver_policy': 'new'}, 'deliver_policy'),
    ({'ack_policy': 'all'}, 'ack_policy'),
    ({'replay_policy': 'original'}, 'replay_policy'),
    ({'max_waiting': 10}, 'max_waiting'),
    ({'mem_storage': True}, 'mem_storage'),
    ({'deliver_subject': 'push.here'}, 'deliver_subject'),
    ({'deliver_policy': 'by_start_sequence', 'opt_start_seq': 5}, 'opt_start_seq'),
])
def test_refused_consumer_changes(change, field):
    plan = plan_consumer(consumer(**change), SERVER_MINIMAL_CONSUMER, stream='S1')
    assert plan['action'] == 'refuse'
    assert field in [r['field'] for r in plan['refused']]
    assert 'recreate: true' in plan['message']
    assert plan_consumer(consumer(recreate=True, **change), SERVER_MINIMAL_CONSUMER, recreate=True,
                         stream='S1')['action'] == 'recreate'


def test_push_to_pull_is_refused():
    current = dict(SERVER_MINIMAL_CONSUMER, deliver_subject='push.here', max_waiting=0)
    plan = plan_consumer(consumer(), current, stream='S1')
    # a pull consumer also has a wait queue (max_waiting 512) a push consumer does not have
    assert [r['field'] for r in plan['refused']] == ['deliver_subject', 'max_waiting']
    assert 'pull consumer cannot become a push consumer' in plan['message']


@pytest.mark.parametrize('change', [
    {'ack_wait': '5s'}, {'max_deliver': 3}, {'backoff': ['1s', '5s'], 'max_deliver': 3},
    {'filter_subject': 'a.b'}, {'max_ack_pending': 10}, {'description': 'x'}, {'num_replicas': 1},
    {'metadata': {'team': 'graph'}}, {'inactive_threshold': '1h'}, {'max_batch': 10}, {'max_expires': '30s'},
    {'headers_only': True}, {'sample_freq': '100%'},
])
def test_allowed_consumer_changes_are_updates(change):
    plan = plan_consumer(consumer(**change), SERVER_MINIMAL_CONSUMER, stream='S1')
    assert plan['action'] == 'update', plan['message']
    assert plan['refused'] == []


# -- plans ------------------------------------------------------------------------------------
def test_plan_actions_for_a_stream():
    desired = stream(subjects=['a.>'])
    assert plan_stream(desired, None)['action'] == 'create'
    assert plan_stream(desired, SERVER_MINIMAL_STREAM)['action'] == 'none'
    assert plan_stream(desired, SERVER_MINIMAL_STREAM)['changed'] is False
    assert plan_stream(desired, SERVER_MINIMAL_STREAM, state='absent')['action'] == 'delete'
    assert plan_stream(desired, None, state='absent')['action'] == 'none'


FULL_STATE = {'messages': 3, 'bytes': 1536, 'consumer_count': 1}


def test_deleting_a_stream_with_messages_needs_the_acknowledgement():
    desired = stream(subjects=['a.>'])
    plan = protect_delete(plan_stream(desired, SERVER_MINIMAL_STREAM, state='absent', current_state=FULL_STATE))
    assert (plan['action'], plan['changed']) == ('refuse', False)
    assert plan['message'] == ('stream S1 holds 3 messages (1.5 KiB) and 1 consumer: state absent would delete '
                               'them. To delete it: set acknowledge_data_loss: true to delete it with its messages, '
                               'or purge it first.')
    assert plan['refused'][0]['field'] == 'state'
    acknowledged = protect_delete(plan_stream(desired, SERVER_MINIMAL_STREAM, state='absent',
                                              current_state=FULL_STATE), acknowledge_data_loss=True)
    assert acknowledged['action'] == 'delete'
    assert acknowledged['data_loss'] == {'messages': 3, 'bytes': 1536, 'consumers': 1}
    assert acknowledged['message'] == 'stream S1 exists: delete it with its 3 messages (1.5 KiB) and 1 consumer'


def test_an_empty_stream_deletes_without_acknowledgement_and_an_unknown_one_does_not():
    desired = stream(subjects=['a.>'])
    empty = {'messages': 0, 'bytes': 0, 'consumer_count': 2}
    plan = protect_delete(plan_stream(desired, SERVER_MINIMAL_STREAM, state='absent', current_state=empty))
    assert plan['action'] == 'delete' and '0 messages (0 B) and 2 consumers' in plan['message']
    unknown = protect_delete(plan_stream(desired, SERVER_MINIMAL_STREAM, state='absent'))
    assert unknown['action'] == 'refuse' and 'all messages and consumers' in unknown['message']
    # nothing to delete, or not a delete: untouched
    assert protect_delete(plan_stream(desired, None, state='absent'))['action'] == 'none'
    assert protect_delete(plan_stream(desired, SERVER_MINIMAL_STREAM, current_state=FULL_STATE))['action'] == 'none'


def test_removing_an_option_resets_it_to_the_default():
    current = dict(SERVER_MINIMAL_STREAM, max_age=DAY, description='old text', max_msgs=100)
    plan = plan_stream(stream(subjects=['a.>']), current)
    assert plan['action'] == 'update'
    assert plan['changes'] == {
        'max_age': {'old': DAY, 'new': 0},
        'description': {'old': 'old text', 'new': ''},
        'max_msgs': {'old': 100, 'new': -1},
    }
    assert 'max_age' not in plan['request'] and 'description' not in plan['request']


def test_update_request_keeps_fields_the_model_does_not_know():
    current = dict(SERVER_MINIMAL_STREAM, allow_future_feature=True)
    plan = plan_stream(stream(subjects=['a.>'], max_age='1d'), current)
    assert plan['action'] == 'update'
    assert plan['request']['allow_future_feature'] is True
    assert plan['request']['max_age'] == DAY


def test_newer_stream_fields_follow_the_servers_rules():
    current = dict(SERVER_MINIMAL_STREAM, allow_msg_counter=True, persist_mode='async')
    # left out, a counter stream would stop being one: the server never allows that
    plan = plan_stream(stream(subjects=['a.>']), current)
    assert plan['action'] == 'refuse'
    assert [r['field'] for r in plan['refused']] == ['allow_msg_counter', 'persist_mode']
    kept = plan_stream(stream(subjects=['a.>'], allow_msg_counter=True, persist_mode='async', max_age='1d'), current)
    assert kept['action'] == 'update' and list(kept['changes']) == ['max_age']
    on = plan_stream(stream(subjects=['a.>'], allow_msg_schedules=True, allow_atomic=True, allow_batched=True),
                     SERVER_MINIMAL_STREAM)
    assert on['action'] == 'update'
    assert set(on['changes']) >= {'allow_msg_schedules', 'allow_atomic', 'allow_batched'}
    off = plan_stream(stream(subjects=['a.>']), dict(SERVER_MINIMAL_STREAM, allow_msg_schedules=True,
                                                     allow_rollup_hdrs=True))
    assert off['action'] == 'refuse' and 'never off' in off['message']


def test_recreate_of_a_stream_needs_the_data_loss_acknowledgement():
    current = SERVER_MINIMAL_STREAM
    desired = stream(subjects=['a.>'], storage='memory')
    state = {'messages': 42, 'bytes': 4200, 'consumer_count': 2}
    refused = plan_stream(desired, current, recreate=True, current_state=state)
    assert refused['action'] == 'refuse'
    assert 'acknowledge_data_loss: true' in refused['message'] and '42 messages' in refused['message']
    assert plan_stream(desired, current, recreate=True, acknowledge_data_loss=True)['action'] == 'recreate'


def test_refusal_message_names_field_old_new_and_remedy():
    current = dict(SERVER_MINIMAL_STREAM, max_age=30 * DAY)
    plan = plan_stream(stream(subjects=['a.>'], storage='memory', max_age='365d'), current)
    assert plan['message'].startswith('stream S1 cannot be changed in place: storage: file -> memory')
    assert 'To apply: set recreate: true and acknowledge_data_loss: true' in plan['message']
    update = plan_stream(stream(subjects=['a.>'], max_age='365d'), current)
    assert update['message'] == 'stream S1: update max_age: 30d -> 365d'


def test_a_stream_cannot_be_created_sealed():
    plan = plan_stream(stream(subjects=['a.>'], sealed=True), None)
    assert plan['action'] == 'refuse' and 'cannot be created sealed' in plan['message']


def test_drift_is_reported_when_the_server_stores_something_else():
    plan = plan_stream(stream(subjects=['a.>'], max_age='1d'), None)
    stored = dict(SERVER_MINIMAL_STREAM, max_age=2 * DAY)
    assert unexpected_drift(plan, stored) == {'max_age': {'planned': DAY, 'stored': 2 * DAY}}
    assert unexpected_drift(plan, dict(SERVER_MINIMAL_STREAM, max_age=DAY)) == {}


# -- invalid input, caught before the server ----------------------------------------------------
@pytest.mark.parametrize('options, words', [
    ({'name': 'a.b'}, 'stream name'),
    ({'mirror': {'name': 'A'}, 'subjects': ['x']}, 'mirror cannot have subjects'),
    ({'max_age': '5 minutes'}, 'max_age: cannot read'),
    ({'max_bytes': 'lots'}, 'max_bytes: cannot read'),
    ({'max_age': '1s', 'duplicate_window': '2m'}, 'duplicate_window (2m) cannot be longer than max_age (1s)'),
    ({'discard_new_per_subject': True}, 'discard_new_per_subject needs discard: new'),
    ({'deny_purge': True, 'allow_rollup_hdrs': True}, 'roll'),
])
def test_invalid_streams(options, words):
    with pytest.raises(ModelError) as err:
        plan_stream(stream(**options), None)
    assert words in str(err.value)


@pytest.mark.parametrize('options, words', [
    ({'backoff': ['1s', '2s', '3s'], 'max_deliver': 2}, 'max_deliver must be at least'),
    ({'backoff': ['1s'], 'ack_wait': '30s'}, 'first backoff step'),
    ({'deliver_policy': 'by_start_sequence'}, 'needs opt_start_seq'),
    ({'opt_start_time': '2024-01-01T00:00:00Z'}, 'needs deliver_policy: by_start_time'),
    ({'filter_subject': 'a', 'filter_subjects': ['b']}, 'not both'),
    ({'deliver_group': 'g'}, 'only applies to push consumers'),
    ({'deliver_subject': 'x', 'max_waiting': 5}, 'only applies to pull consumers'),
    ({'deliver_subject': 'x', 'flow_control': True}, 'flow_control needs idle_heartbeat'),
    ({'opt_start_time': 'yesterday', 'deliver_policy': 'by_start_time'}, 'opt_start_time: cannot read'),
])
def test_invalid_consumers(options, words):
    with pytest.raises(ModelError) as err:
        plan_consumer(consumer(**options), None, stream='S1')
    assert words in str(err.value)


# -- options --------------------------------------------------------------------------------------
def test_aliases_from_natscli_and_terraform():
    config = stream(subjects=['a.>'], replicas=3, dupe_window='1m', allow_rollup=True, max_per_subject=5)
    assert (config['num_replicas'], config['duplicate_window'], config['allow_rollup_hdrs'],
            config['max_msgs_per_subject']) == (3, MINUTE, True, 5)
    c = consumer(durable='C9', stream_name='S1', max_pending=10, heartbeat='5s', delivery_subject='p', replicas=1)
    assert (c['durable_name'], c['max_ack_pending'], c['idle_heartbeat'], c['deliver_subject'], c['num_replicas']) == (
        'C9', 10, 5 * SECOND, 'p', 1)


def test_consumer_module_defaults_to_explicit_acks():
    assert consumer()['ack_policy'] == 'explicit'


# -- buckets are streams ----------------------------------------------------------------------
def test_kv_bucket_is_a_stream_with_kv_settings():
    config = kv_bucket_config_from_options(validate_options(kv_bucket_argument_spec(), {
        'bucket': 'cfg', 'history': 5, 'ttl': '1h', 'max_value_size': '1MB'}))
    normal = normalize_stream_config(config)
    assert normal['name'] == 'KV_cfg' and normal['subjects'] == ['$KV.cfg.>']
    assert normal['max_msgs_per_subject'] == 5 and normal['max_age'] == 3600 * SECOND
    assert normal['max_msg_size'] == 1 << 20 and normal['duplicate_window'] == 2 * MINUTE
    assert normal['deny_delete'] and normal['allow_rollup_hdrs'] and normal['allow_direct']
    assert normal['discard'] == 'new'
    # the bucket manages its mirror and sources (none here); message TTLs stay as the server has them
    assert 'mirror' not in config and 'sources' not in config and config['allow_msg_ttl'] is KEEP


def test_kv_bucket_keeps_what_another_client_set():
    # nats-py creates buckets with allow_msg_ttl on, which can never be turned off again
    current = normalize_stream_config(dict(kv_bucket_stream_config('cfg'), allow_msg_ttl=True, mirror=None,
                                           sources=None))
    current = dict(current, allow_msg_ttl=True)
    plan = plan_stream(kv_bucket_stream_config('cfg'), current)
    assert plan['action'] == 'none', plan['message']


@pytest.mark.parametrize('bucket, history', [('bad name', None), ('a.b', None), ('ok', 65), ('ok', 0)])
def test_invalid_buckets(bucket, history):
    with pytest.raises(ModelError):
        kv_bucket_stream_config(bucket, history=history)


def test_object_store_is_a_stream_with_object_settings():
    normal = normalize_stream_config(object_store_stream_config('art', max_bytes=1 << 30))
    assert normal['name'] == 'OBJ_art'
    assert normal['subjects'] == ['$O.art.C.>', '$O.art.M.>']
    assert normal['allow_rollup_hdrs'] and normal['allow_direct'] and normal['discard'] == 'new'


def test_plans_do_not_mutate_their_inputs():
    current = copy.deepcopy(SERVER_MINIMAL_STREAM)
    desired = stream(subjects=['a.>'], max_age='1d')
    kept = (copy.deepcopy(current), copy.deepcopy(desired))
    plan_stream(desired, current)
    assert (current, desired) == kept


def test_kv_mirror_and_sources_are_written_as_the_nats_clients_write_them():
    validate = options_validator(kv_bucket_argument_spec())
    mirror = kv_bucket_config_from_options(validate({'bucket': 'copy', 'mirror': {'name': 'config', 'domain': 'hub'}}))
    assert mirror['mirror'] == {'name': 'KV_config', 'external': {'api': '$JS.hub.API'}}
    assert 'subjects' not in mirror
    merged = kv_bucket_config_from_options(validate({'bucket': 'all', 'sources': [
        {'name': 'a'}, {'name': 'KV_b'}, {'name': 'all', 'domain': 'edge'},
        {'name': 'RAW', 'subject_transforms': [{'src': 'raw.>', 'dest': '$KV.all.>'}]}]}))
    assert merged['subjects'] == ['$KV.all.>']
    assert merged['sources'] == [
        {'name': 'KV_a', 'subject_transforms': [{'src': '$KV.a.>', 'dest': '$KV.all.>'}]},
        {'name': 'KV_b', 'subject_transforms': [{'src': '$KV.b.>', 'dest': '$KV.all.>'}]},
        # the same bucket in another domain: its keys are already this bucket's
        {'name': 'KV_all', 'external': {'api': '$JS.edge.API'}},
        {'name': 'RAW', 'subject_transforms': [{'src': 'raw.>', 'dest': '$KV.all.>'}]},
    ]
    with pytest.raises(ModelError, match='not both'):
        kv_bucket_stream_config('x', mirror={'name': 'a'}, sources=[{'name': 'b'}])
    with pytest.raises(ModelError, match='instead of filter_subject'):
        kv_bucket_stream_config('x', sources=[{'name': 'b', 'filter_subject': '$KV.b.k'}])


def test_kv_limit_marker_ttl_is_the_streams_delete_marker_ttl():
    config = kv_bucket_stream_config('b', limit_marker_ttl=5 * SECOND)
    assert (config['subject_delete_marker_ttl'], config['allow_msg_ttl']) == (5 * SECOND, True)
    current = normalize_stream_config(dict(config, allow_msg_ttl=True, mirror_direct=False))
    # left out: no markers, and message TTLs stay on (turn on only)
    plan = plan_stream(kv_bucket_stream_config('b'), current)
    assert plan['action'] == 'update' and set(plan['changes']) == {'subject_delete_marker_ttl'}
    with pytest.raises(ModelError, match='at least 1s'):
        kv_bucket_stream_config('b', limit_marker_ttl=SECOND // 2)
    with pytest.raises(ModelError, match='cannot be set on a mirror'):
        kv_bucket_stream_config('b', limit_marker_ttl=SECOND, mirror={'name': 'a'})
