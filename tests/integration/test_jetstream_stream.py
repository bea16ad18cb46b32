"""cim.nats.jetstream_stream against a real nats-server."""
import pytest

from conftest import TESTED_RELEASES, js_api, publish, run_module, stream_config, stream_info, server_for

DAY = 24 * 3600 * 10 ** 9
SECOND = 10 ** 9


@pytest.fixture(params=('plain', 'tls') + TESTED_RELEASES)
def server(request):
    """Every lifecycle test runs without and with TLS and users on the newest release, and on older ones."""
    return server_for(request, request.param)


def stream(server, check=False, diff=False, **args):
    return run_module('jetstream_stream', dict(server.args, **args), check=check, diff=diff)


def test_lifecycle(server, unique):
    subjects = [unique.lower() + '.>']
    # check mode on a missing stream: reports the create, creates nothing
    planned = stream(server, check=True, diff=True, name=unique, subjects=subjects, max_age='30d')
    assert (planned['changed'], planned['action']) == (True, 'create')
    assert planned['diff']['before'] == {} and planned['diff']['after']['max_age'] == 30 * DAY
    assert stream_config(server, unique) is None

    created = stream(server, diff=True, name=unique, subjects=subjects, max_age='30d')
    assert (created['changed'], created['action']) == (True, 'create')
    assert created['diff']['after'] == planned['diff']['after']
    assert stream_config(server, unique)['max_age'] == 30 * DAY

    again = stream(server, name=unique, subjects=subjects, max_age='30d')
    assert (again['changed'], again['action'], again['changes']) == (False, 'none', {})

    # update in place; check mode first reports exactly what the real run then does
    planned = stream(server, check=True, diff=True, name=unique, subjects=subjects, max_age='365d', max_msgs=1000)
    assert planned['changes'] == {'max_age': {'old': 30 * DAY, 'new': 365 * DAY},
                                  'max_msgs': {'old': -1, 'new': 1000}}
    assert stream_config(server, unique)['max_age'] == 30 * DAY
    updated = stream(server, diff=True, name=unique, subjects=subjects, max_age='365d', max_msgs=1000)
    assert (updated['action'], updated['changes']) == ('update', planned['changes'])
    assert updated['diff'] == planned['diff']
    assert updated['diff']['before']['max_age'] == 30 * DAY and updated['diff']['after']['max_age'] == 365 * DAY
    assert updated['message'] == 'stream %s: update max_age: 30d -> 365d; max_msgs: -1 -> 1000' % unique
    config = stream_config(server, unique)
    assert (config['max_age'], config['max_msgs']) == (365 * DAY, 1000)

    # removing options from the task resets them to the server's defaults
    reset = stream(server, name=unique, subjects=subjects)
    assert reset['action'] == 'update'
    config = stream_config(server, unique)
    assert (config['max_age'], config['max_msgs']) == (0, -1)
    assert stream(server, name=unique, subjects=subjects)['changed'] is False

    # a change the server refuses fails before any request, naming field, values and remedy
    publish(server, subjects[0][:-1] + 'x', 3)
    refused = stream(server, name=unique, subjects=subjects, storage='memory', retention='workqueue')
    assert refused['failed'] is True and refused['action'] == 'refuse'
    assert 'storage: file -> memory' in refused['msg']
    assert 'retention: limits -> workqueue' in refused['msg']
    assert 'recreate: true and acknowledge_data_loss: true' in refused['msg']
    assert '3 messages' in refused['msg']
    assert stream_config(server, unique)['storage'] == 'file'

    # recreate without the acknowledgement is refused too; with it the messages are gone
    no_ack = stream(server, name=unique, subjects=subjects, storage='memory', recreate=True)
    assert no_ack['failed'] is True and 'acknowledge_data_loss' in no_ack['msg']
    assert stream_info(server, unique)['state']['messages'] == 3
    planned = stream(server, check=True, name=unique, subjects=subjects, storage='memory', recreate=True,
                     acknowledge_data_loss=True)
    assert (planned['changed'], planned['action']) == (True, 'recreate')
    assert stream_info(server, unique)['state']['messages'] == 3
    recreated = stream(server, name=unique, subjects=subjects, storage='memory', recreate=True,
                       acknowledge_data_loss=True)
    assert (recreated['changed'], recreated['action']) == (True, 'recreate')
    info = stream_info(server, unique)
    assert info['config']['storage'] == 'memory' and info['state']['messages'] == 0
    assert stream(server, name=unique, subjects=subjects, storage='memory')['changed'] is False

    # delete, in check mode first
    planned = stream(server, check=True, diff=True, name=unique, state='absent')
    assert (planned['changed'], planned['action'], planned['diff']['after']) == (True, 'delete', {})
    assert stream_config(server, unique) is not None
    deleted = stream(server, name=unique, state='absent')
    assert (deleted['changed'], deleted['action']) == (True, 'delete')
    assert stream_config(server, unique) is None
    assert stream(server, name=unique, state='absent')['changed'] is False


def test_every_stream_option_is_honoured_and_stable(nats_plain, unique):
    origin = unique + '_ORIGIN'
    assert stream(nats_plain, name=origin, subjects=[origin.lower() + '.>'], allow_direct=True)['changed']
    options = dict(
        name=unique,
        subjects=[unique.lower() + '.a.>', unique.lower() + '.b.*'],
        description='all the options',
        retention='interest',
        storage='file',
        replicas=1,
        max_msgs='10000',
        max_bytes='1GiB',
        max_age='1h30m',
        max_msg_size='64KB',
        max_msgs_per_subject=100,
        max_consumers=10,
        discard='new',
        discard_new_per_subject=True,
        dupe_window='1m',
        no_ack=False,
        allow_rollup_hdrs=True,
        deny_delete=True,
        deny_purge=False,
        allow_direct=True,
        compression='s2',
        sources=[{'name': origin, 'filter_subject': origin.lower() + '.x',
                  'opt_start_time': '2024-01-01T01:00:00+01:00'}],
        subject_transform={'src': unique.lower() + '.a.>', 'dest': unique.lower() + '.t.>'},
        republish={'dest': 'republished.' + unique.lower() + '.>', 'headers_only': True},
        metadata={'team': 'graph', 'tier': 1},
        allow_msg_ttl=True,
        subject_delete_marker_ttl='10m',
        consumer_limits={'inactive_threshold': '1h', 'max_ack_pending': 500},
        first_seq=1000,
    )
    created = stream(nats_plain, **options)
    assert created['changed'] is True, created.get('msg')
    assert created.get('warnings') is None, created.get('warnings')
    config = stream_config(nats_plain, unique)
    expected = {
        'description': 'all the options', 'retention': 'interest', 'max_msgs': 10000, 'max_bytes': 1 << 30,
        'max_age': 5400 * SECOND, 'max_msg_size': 65536, 'max_msgs_per_subject': 100, 'max_consumers': 10,
        'discard': 'new', 'discard_new_per_subject': True, 'duplicate_window': 60 * SECOND,
        'allow_rollup_hdrs': True, 'deny_delete': True, 'allow_direct': True, 'compression': 's2',
        'allow_msg_ttl': True, 'subject_delete_marker_ttl': 600 * SECOND, 'first_seq': 1000,
        'consumer_limits': {'inactive_threshold': 3600 * SECOND, 'max_ack_pending': 500},
        'subject_transform': {'src': unique.lower() + '.a.>', 'dest': unique.lower() + '.t.>'},
        'republish': {'src': '>', 'dest': 'republished.' + unique.lower() + '.>', 'headers_only': True},
    }
    assert dict((k, config.get(k)) for k in expected) == expected
    assert config['metadata']['team'] == 'graph' and config['metadata']['tier'] == '1'
    assert config['sources'][0]['name'] == origin
    assert stream(nats_plain, **options)['changed'] is False
    # turn-on-only fields stay on: turning them off is refused
    off = {**options, 'deny_delete': False, 'allow_msg_ttl': False}
    del off['subject_delete_marker_ttl']  # delete markers need (and turn on) message TTLs
    off = stream(nats_plain, **off)
    assert off['failed'] is True and 'deny_delete: true -> false' in off['msg']
    assert 'allow_msg_ttl: true -> false' in off['msg']


def test_mirror_and_promotion(nats_plain, unique):
    origin = unique + '_ORIGIN'
    mirror = unique + '_MIRROR'
    assert stream(nats_plain, name=origin, subjects=[origin.lower() + '.>'], allow_direct=True)['changed']
    created = stream(nats_plain, name=mirror, mirror={'name': origin})
    assert created['changed'] is True, created.get('msg')
    # the server copies allow_direct of the origin into mirror_direct; not a change next time
    assert stream_config(nats_plain, mirror)['mirror_direct'] is True
    assert stream(nats_plain, name=mirror, mirror={'name': origin})['changed'] is False
    changed = stream(nats_plain, name=mirror, mirror={'name': origin, 'filter_subject': origin.lower() + '.x'})
    assert changed['failed'] is True and 'mirror' in changed['msg'] and 'cannot' in changed['msg']
    promoted = stream(nats_plain, name=mirror, subjects=[mirror.lower() + '.>'])
    assert promoted['action'] == 'update', promoted.get('msg')
    assert 'mirror' not in stream_config(nats_plain, mirror)


def test_sealing(nats_plain, unique):
    subjects = [unique.lower()]
    assert stream(nats_plain, name=unique, subjects=subjects, max_age='1d')['changed']
    sealed = stream(nats_plain, name=unique, subjects=subjects, max_age='1d', sealed=True)
    assert sealed['action'] == 'update', sealed.get('msg')
    assert sealed.get('warnings') is None, sealed.get('warnings')
    assert stream_config(nats_plain, unique)['sealed'] is True
    assert stream(nats_plain, name=unique, subjects=subjects, max_age='1d', sealed=True)['changed'] is False
    unseal = stream(nats_plain, name=unique, subjects=subjects, max_age='1d')
    assert unseal['failed'] is True and 'sealed: true -> false' in unseal['msg']


def test_seed_overlap_is_explained_by_the_server(nats_plain, unique):
    events = unique + '_EVENTS'
    assert stream(nats_plain, name=events, subjects=[unique.lower() + '.events.>'])['changed']
    overlap = stream(nats_plain, name=unique + '_GRAPH', subjects=[unique.lower() + '.events.graph.>'])
    assert overlap['failed'] is True
    assert 'subjects overlap with an existing stream' in overlap['msg']
    assert overlap['err_code'] == 10065 and 'BadRequest' not in overlap['msg']


def test_create_in_check_mode_then_real_run_agree(nats_plain, unique):
    args = dict(name=unique, subjects=[unique.lower()], max_bytes='10MB', discard='new', duplicate_window='30s')
    planned = stream(nats_plain, check=True, diff=True, **args)
    created = stream(nats_plain, diff=True, **args)
    assert (planned['action'], planned['changes'], planned['diff']) == (
        created['action'], created['changes'], created['diff'])
    assert created['changes']['max_bytes'] == {'old': None, 'new': 10 << 20}


@pytest.mark.parametrize('args, words', [
    ({'max_age': 'soon'}, 'max_age: cannot read'),
    ({'max_bytes': '1 gigabyte'}, 'max_bytes: cannot read'),
    ({'retention': 'forever'}, 'retention'),
    ({'name': 'bad.name'}, 'stream name'),
    ({'no_such_option': 1}, 'no_such_option'),
    ({'mirror': {'name': 'X'}, 'subjects': ['x']}, 'mirror cannot have subjects'),
    ({'sealed': True}, 'cannot be created sealed'),
])
def test_bad_input(nats_plain, unique, args, words):
    result = stream(nats_plain, **dict({'name': unique}, **args))
    assert result['failed'] is True and words in result['msg']
    assert stream_config(nats_plain, unique) is None


def test_stream_info_request_is_raw_json(nats_plain, unique):
    # a field nats-py's dataclasses do not model survives an update made by the module
    created = js_api(nats_plain, '$JS.API.STREAM.CREATE.%s' % unique,
                     {'name': unique, 'subjects': [unique.lower()], 'allow_msg_counter': True})
    assert created.get('error') is None, created
    updated = stream(nats_plain, name=unique, subjects=[unique.lower()], max_age='1h', allow_msg_counter=True)
    assert updated['action'] == 'update', updated.get('msg')
    assert list(updated['changes']) == ['max_age']
    assert stream_config(nats_plain, unique).get('allow_msg_counter') is True
    # left out, it would stop being a counter stream, which the server never allows: refused here
    refused = stream(nats_plain, name=unique, subjects=[unique.lower()], max_age='1h')
    assert refused['failed'] is True and 'allow_msg_counter: true -> false' in refused['msg']


@pytest.mark.parametrize('extra', [
    {},
    {'max_age': 30 * SECOND},
    {'max_age': DAY, 'retention': 'interest'},
    {'subjects': None, 'sources': [{'name': 'ORIGIN_FOR_DEFAULTS'}]},
    {'subjects': None, 'mirror': {'name': 'ORIGIN_FOR_DEFAULTS'}},
    {'republish': {'dest': 'defaults.out.>'}},
    {'sealed': None, 'consumer_limits': {'max_ack_pending': 5}},
])
def test_model_defaults_match_the_server(nats_plain, unique, extra):
    """Create with a minimal raw config, read back: the model's normal form of the minimal config
    equals the normal form of what the server stored (so omitted options mean server defaults)."""
    from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
        normalize_consumer_config, normalize_stream_config)
    if stream_config(nats_plain, 'ORIGIN_FOR_DEFAULTS') is None:
        js_api(nats_plain, '$JS.API.STREAM.CREATE.ORIGIN_FOR_DEFAULTS',
               {'name': 'ORIGIN_FOR_DEFAULTS', 'subjects': ['defaults.origin.>']})
    minimal = dict({'name': unique, 'subjects': [unique.lower()]}, **extra)
    minimal = dict((k, v) for k, v in minimal.items() if v is not None)
    answer = js_api(nats_plain, '$JS.API.STREAM.CREATE.%s' % unique, minimal)
    assert answer.get('error') is None, answer
    assert normalize_stream_config(minimal) == normalize_stream_config(answer['config'])
    for consumer in ({'durable_name': 'PULL'}, {'durable_name': 'ACKED', 'ack_policy': 'explicit'},
                     {'durable_name': 'PUSH', 'deliver_subject': 'defaults.push.' + unique.lower()},
                     {'durable_name': 'ALL', 'ack_policy': 'all', 'backoff': [SECOND, 2 * SECOND]}):
        if 'consumer_limits' in extra and 'ack_policy' not in consumer:
            continue  # the server refuses ack none once the stream sets a max ack pending
        created = js_api(nats_plain, '$JS.API.CONSUMER.CREATE.%s.%s' % (unique, consumer['durable_name']),
                         {'stream_name': unique, 'config': consumer, 'action': 'create'})
        assert created.get('error') is None, created
        assert normalize_consumer_config(consumer, answer['config']) == normalize_consumer_config(
            created['config'], answer['config'])


def test_deleting_a_stream_with_messages_needs_the_acknowledgement(nats_plain, unique):
    subjects = [unique.lower() + '.>']
    stream(nats_plain, name=unique, subjects=subjects)
    publish(nats_plain, unique.lower() + '.x', 2)
    planned = stream(nats_plain, check=True, name=unique, state='absent')
    assert planned['failed'] is True and planned['action'] == 'refuse'
    assert 'holds 2 messages' in planned['msg'] and 'acknowledge_data_loss: true' in planned['msg']
    refused = stream(nats_plain, name=unique, state='absent')
    assert refused['failed'] is True and stream_info(nats_plain, unique)['state']['messages'] == 2
    # check mode says what the delete destroys; the real run does it
    planned = stream(nats_plain, check=True, name=unique, state='absent', acknowledge_data_loss=True)
    size = stream_info(nats_plain, unique)['state']['bytes']
    assert (planned['action'], planned['data_loss']) == ('delete', {'messages': 2, 'bytes': size, 'consumers': 0})
    assert 'delete it with its 2 messages' in planned['message']
    deleted = stream(nats_plain, name=unique, state='absent', acknowledge_data_loss=True)
    assert deleted['action'] == 'delete' and stream_info(nats_plain, unique) is None
