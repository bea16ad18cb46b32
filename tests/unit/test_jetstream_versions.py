"""Rules by server release and defaults a server's own JetStream limits give (pure model)."""
import pytest

from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    format_version,
    normalize_consumer_config,
    parse_version,
    plan_consumer,
    plan_stream,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import (
    consumer_argument_spec,
    consumer_config_from_options,
    stream_argument_spec,
    stream_config_from_options,
    validate_options,
)
from ansible_collections.cim.nats.plugins.module_utils.units import MINUTE, SECOND

CURRENT = {"name": "S1", "subjects": ["a.>"], "retention": "limits", "max_consumers": 5, "max_msgs": -1,
           "max_bytes": -1, "max_age": 0, "max_msgs_per_subject": -1, "max_msg_size": -1, "discard": "old",
           "storage": "file", "num_replicas": 1, "duplicate_window": 120000000000, "compression": "none",
           "sealed": False, "deny_delete": False, "deny_purge": False, "allow_rollup_hdrs": False,
           "allow_direct": False, "mirror_direct": False, "consumer_limits": {}}


def stream(**options):
    options.setdefault('name', 'S1')
    options.setdefault('subjects', ['a.>'])
    return stream_config_from_options(validate_options(stream_argument_spec(), options))


def consumer(**options):
    options.setdefault('stream', 'S1')
    options.setdefault('name', 'C1')
    return consumer_config_from_options(validate_options(consumer_argument_spec(), options))


@pytest.mark.parametrize('text, version', [
    ('2.12.8', (2, 12, 8)), ('v2.10.26', (2, 10, 26)), ('2.12.0-RC.1', (2, 12, 0)), ('2.9', (2, 9, 0)),
    ('', None), (None, None), ('dev', None)])
def test_versions_are_read_from_the_info_text(text, version):
    assert parse_version(text) == version
    if version:
        assert parse_version(format_version(version)) == version


@pytest.mark.parametrize('version, action', [((2, 10, 26), 'refuse'), ((2, 11, 11), 'refuse'),
                                             ((2, 12, 4), 'refuse'), ((2, 12, 5), 'update'), ((2, 15, 1), 'update'),
                                             (None, 'update')])
def test_max_consumers_changes_in_place_from_2_12_5(version, action):
    plan = plan_stream(stream(max_consumers=10), CURRENT, server_version=version)
    assert plan['action'] == action
    if action == 'refuse':
        assert 'nats-server %s cannot change max_consumers after creation (2.12.5 and newer can)' % (
            format_version(version)) in plan['message']
        assert 'recreate: true and acknowledge_data_loss: true' in plan['message']
        # a recreate makes the change, since a new stream takes any max_consumers
        again = plan_stream(stream(max_consumers=10), CURRENT, recreate=True, acknowledge_data_loss=True,
                            server_version=version)
        assert again['action'] == 'recreate'


@pytest.mark.parametrize('version, action', [((2, 11, 0), 'refuse'), ((2, 11, 1), 'refuse'), ((2, 11, 2), 'update'),
                                             ((2, 12, 8), 'update')])
def test_allow_msg_ttl_turned_on_after_creation_needs_2_11_2(version, action):
    plan = plan_stream(stream(allow_msg_ttl=True, max_consumers=5), CURRENT, server_version=version)
    assert plan['action'] == action
    if action == 'refuse':
        assert 'cannot turn allow_msg_ttl on after the stream is created (2.11.2 and newer can)' in plan['message']
        assert format_version(version) in plan['message']
    # creating a stream with it is fine on every 2.11
    assert plan_stream(stream(allow_msg_ttl=True), None, server_version=version)['action'] == 'create'


@pytest.mark.parametrize('options, words', [
    (dict(allow_msg_ttl=True), 'allow_msg_ttl needs nats-server 2.11.0 or newer; the server runs 2.10.26'),
    (dict(subject_delete_marker_ttl='5m'), 'subject_delete_marker_ttl needs nats-server 2.11.0'),
    (dict(allow_msg_counter=True), 'allow_msg_counter needs nats-server 2.12.0'),
    (dict(persist_mode='async'), 'persist_mode needs nats-server 2.12.0'),
    (dict(allow_batched=True), 'allow_batched needs nats-server 2.14.0'),
    (dict(placement={'preferred': 'n1'}), 'placement.preferred needs nats-server 2.11.0'),
    (dict(subjects=[], sources=[{'name': 'O', 'consumer': {'name': 'durable'}}]),
     'sources[].consumer needs nats-server 2.14.0'),
])
def test_stream_fields_newer_than_the_server_are_refused_even_with_recreate(options, words):
    for current in (None, CURRENT):
        plan = plan_stream(stream(**options), current, recreate=True, acknowledge_data_loss=True,
                           server_version=(2, 10, 26))
        assert plan['action'] == 'refuse', plan['message']
        assert words in plan['message']
    # the release that brought the field takes it
    assert plan_stream(stream(**options), None, server_version=(2, 15, 1))['action'] == 'create'


def test_fields_at_their_default_are_fine_on_an_old_server():
    plan = plan_stream(stream(allow_msg_ttl=False, persist_mode='default', allow_msg_counter=False), None,
                       server_version=(2, 10, 26))
    assert plan['action'] == 'create'


@pytest.mark.parametrize('options, version, words', [
    (dict(priority_policy='pinned_client', priority_groups=['g']), (2, 10, 26), 'priority_policy needs nats-server 2.11.0'),
    (dict(priority_policy='prioritized', priority_groups=['g']), (2, 11, 11),
     'priority_policy: prioritized needs nats-server 2.12.0 or newer; the server runs 2.11.11'),
    (dict(ack_policy='flow_control', deliver_subject='push.x'), (2, 12, 8),
     'ack_policy: flow_control needs nats-server 2.14.0'),
    (dict(pause_until='2030-01-01T00:00:00Z'), (2, 10, 26), 'pause_until needs nats-server 2.11.0'),
])
def test_consumer_fields_and_values_newer_than_the_server_are_refused(options, version, words):
    plan = plan_consumer(consumer(**options), None, server_version=version)
    assert plan['action'] == 'refuse' and words in plan['message']
    assert plan_consumer(consumer(**options), None, server_version=(2, 15, 1))['action'] == 'create'


# -- defaults a server's jetstream { limits } gives --------------------------------------------
def test_an_omitted_duplicate_window_takes_what_a_server_limit_gave():
    current = dict(CURRENT, duplicate_window=MINUTE)
    assert plan_stream(stream(max_consumers=5), current)['action'] == 'none'
    # other changes do not carry the model's 2m along
    plan = plan_stream(stream(max_consumers=5, max_age='1h'), current)
    assert list(plan['changes']) == ['max_age']
    assert plan['request']['duplicate_window'] == MINUTE
    # declared, the window is what the task says
    declared = plan_stream(stream(max_consumers=5, duplicate_window='2m'), current)
    assert declared['changes'] == {'duplicate_window': {'old': MINUTE, 'new': 2 * MINUTE}}
    # a window no limit could give (above the default) is reset
    longer = plan_stream(stream(max_consumers=5), dict(CURRENT, duplicate_window=10 * MINUTE))
    assert longer['changes'] == {'duplicate_window': {'old': 10 * MINUTE, 'new': 2 * MINUTE}}


def test_consumer_defaults_a_server_limit_gave_are_no_change():
    current = normalize_consumer_config(dict(consumer(), max_ack_pending=500, max_batch=100))
    assert (current['max_ack_pending'], current['max_batch']) == (500, 100)
    plan = plan_consumer(consumer(), current)
    assert plan['action'] == 'none', plan['message']
    plan = plan_consumer(consumer(ack_wait='1m'), current)
    assert plan['changes'] == {'ack_wait': {'old': 30 * SECOND, 'new': MINUTE}}
    assert (plan['request']['max_ack_pending'], plan['request']['max_batch']) == (500, 100)
    # declared values still count
    declared = plan_consumer(consumer(max_ack_pending=1000, max_batch=0), current)
    assert set(declared['changes']) == {'max_ack_pending', 'max_batch'}


def test_a_recreate_keeps_every_setting_the_task_does_not_change():
    current = dict(CURRENT, allow_future_feature=True, metadata={'_nats.ver': '2.15.1', 'team': 'graph'})
    plan = plan_stream(stream(max_consumers=5, storage='memory', metadata={'team': 'graph'}), current,
                       recreate=True, acknowledge_data_loss=True)
    assert plan['action'] == 'recreate'
    assert plan['request']['allow_future_feature'] is True and plan['request']['storage'] == 'memory'
    assert plan['request']['metadata'] == {'team': 'graph'}
    assert plan['changes'] == {'storage': {'old': 'file', 'new': 'memory'}}
    current_consumer = dict(normalize_consumer_config(consumer(priority_policy='overflow', priority_groups=['g'])),
                            future_knob=7)
    plan = plan_consumer(consumer(priority_policy='overflow', priority_groups=['g'], deliver_policy='new'),
                         current_consumer, recreate=True)
    assert plan['action'] == 'recreate'
    assert plan['request']['future_knob'] == 7 and plan['request']['priority_groups'] == ['g']
    assert plan['changes'] == {'deliver_policy': {'old': 'all', 'new': 'new'}}


def test_a_source_domain_is_the_other_domains_api_prefix():
    config = stream(subjects=[], sources=[{'name': 'ORDERS', 'domain': 'hub', 'filter_subject': 'orders.>'}])
    assert config['sources'] == [{'name': 'ORDERS', 'filter_subject': 'orders.>', 'external': {'api': '$JS.hub.API'}}]
    with pytest.raises(Exception, match='set domain or external, not both'):
        stream(subjects=[], mirror={'name': 'ORDERS', 'domain': 'hub', 'external': {'api': '$JS.x.API'}})
