"""Rules by server release and the server's own JetStream limits, against real nats-server releases."""
import pytest

from conftest import consumer_config, run_module, stream_config
from nats_harness import release_binary, start_nats_server

SECOND = 10 ** 9
MINUTE = 60 * SECOND


def stream(server, check=False, **args):
    return run_module('jetstream_stream', dict(server.args, **args), check=check)


def consumer(server, check=False, **args):
    return run_module('jetstream_consumer', dict(server.args, **args), check=check)


def test_fields_newer_than_2_10_are_refused_before_any_request(nats_release, unique):
    server = nats_release('2.10.26')
    subjects = [unique.lower() + '.>']
    refused = stream(server, name=unique, subjects=subjects, allow_msg_ttl=True, subject_delete_marker_ttl='5m')
    assert refused['failed'] is True and refused['action'] == 'refuse'
    assert 'allow_msg_ttl needs nats-server 2.11.0 or newer; the server runs 2.10.26' in refused['msg']
    assert 'subject_delete_marker_ttl needs nats-server 2.11.0' in refused['msg']
    # nothing was sent: 2.10 would have created the stream and silently dropped the fields
    assert stream_config(server, unique) is None

    assert stream(server, name=unique, subjects=subjects)['changed'] is True
    refused = consumer(server, stream=unique, name='PINNED', priority_policy='pinned_client', priority_groups=['g'])
    assert refused['failed'] is True and 'priority_policy needs nats-server 2.11.0' in refused['msg']
    assert consumer_config(server, unique, 'PINNED') is None


@pytest.mark.parametrize('version, action', [('2.10.26', 'refuse'), ('2.11.11', 'refuse'), ('2.12.8', 'update')])
def test_max_consumers_changes_in_place_from_2_12_5(nats_release, tmp_path, version, action, unique):
    server = nats_release(version) if version != '2.11.11' else _one_off(tmp_path, version)
    try:
        subjects = [unique.lower() + '.>']
        assert stream(server, name=unique, subjects=subjects, max_consumers=5)['action'] == 'create'
        planned = stream(server, check=True, name=unique, subjects=subjects, max_consumers=10)
        assert planned['action'] == action
        result = stream(server, name=unique, subjects=subjects, max_consumers=10)
        if action == 'refuse':
            assert result['failed'] is True
            assert ('nats-server %s cannot change max_consumers after creation (2.12.5 and newer can)' % version
                    in result['msg'])
            assert 'err_code' not in result  # refused here, not by the server
            assert stream_config(server, unique)['max_consumers'] == 5
            # the way the message offers works on that release
            recreated = stream(server, name=unique, subjects=subjects, max_consumers=10, recreate=True,
                               acknowledge_data_loss=True)
            assert recreated['action'] == 'recreate'
        else:
            assert result['action'] == 'update'
        assert stream_config(server, unique)['max_consumers'] == 10
        assert stream(server, name=unique, subjects=subjects, max_consumers=10)['changed'] is False
    finally:
        if version == '2.11.11':
            server.stop()


def _one_off(tmp_path, version):
    server = start_nats_server(tmp_path, binary=release_binary(version))
    server.args = {'server': server.url}
    return server


def test_newer_fields_work_on_the_releases_that_have_them(nats_plain, nats_release, unique):
    counter = stream(nats_release('2.12.8'), name=unique, subjects=[unique.lower() + '.>'], allow_msg_counter=True,
                     allow_atomic=True)
    assert counter['action'] == 'create', counter.get('msg')
    batched = stream(nats_release('2.12.8'), name=unique + '_B', subjects=[unique.lower() + '_b.>'],
                     allow_batched=True)
    assert batched['failed'] is True and 'allow_batched needs nats-server 2.14.0' in batched['msg']
    options = dict(name=unique, subjects=[unique.lower() + '.>'], allow_batched=True, allow_msg_schedules=True,
                   persist_mode='async')
    assert stream(nats_plain, **options)['action'] == 'create'
    config = stream_config(nats_plain, unique)
    assert (config['allow_batched'], config['allow_msg_schedules'], config['persist_mode']) == (True, True, 'async')
    assert stream(nats_plain, **options)['changed'] is False
    # persist_mode never changes, whatever the release
    other_mode = dict(options)
    other_mode['persist_mode'] = 'default'
    refused = stream(nats_plain, **other_mode)
    assert refused['failed'] is True and 'persist_mode: async -> default' in refused['msg']


# -- the server's own limits -----------------------------------------------------------------------
LIMITS = 'limits { duplicate_window: "1m", max_ack_pending: 500, max_request_batch: 100 }'


@pytest.fixture(scope='module', params=['2.10.26', '2.15.1'])
def limited(request, tmp_path_factory):
    """A server whose jetstream { limits } lower the defaults (on the oldest and the newest release)."""
    binary = release_binary(request.param)
    server = start_nats_server(tmp_path_factory.mktemp('nats-limits'), jetstream_config=LIMITS, binary=binary)
    server.args = {'server': server.url}
    yield server
    server.stop()


def test_omitted_options_mean_what_the_servers_limits_give(limited, unique):
    subjects = [unique.lower() + '.>']
    created = stream(limited, name=unique, subjects=subjects)
    assert created['action'] == 'create' and not created.get('warnings')
    assert stream_config(limited, unique)['duplicate_window'] == MINUTE
    assert stream(limited, name=unique, subjects=subjects)['changed'] is False
    # another change leaves the server's window alone
    updated = stream(limited, name=unique, subjects=subjects, max_age='1h')
    assert list(updated['changes']) == ['max_age']
    assert stream_config(limited, unique)['duplicate_window'] == MINUTE

    created = consumer(limited, stream=unique, name='WORKER')
    assert created['action'] == 'create' and not created.get('warnings')
    config = consumer_config(limited, unique, 'WORKER')
    assert (config['max_ack_pending'], config['max_batch']) == (500, 100)
    assert consumer(limited, stream=unique, name='WORKER')['changed'] is False
    assert consumer(limited, stream=unique, name='WORKER', ack_wait='1m')['changes'] == {
        'ack_wait': {'old': 30 * SECOND, 'new': MINUTE}}


def test_declared_server_limits_make_defaults_exact(limited, unique):
    limits = {'duplicate_window': '1m', 'max_ack_pending': 500, 'max_request_batch': 100}
    subjects = [unique.lower() + '.>']
    assert stream(limited, name=unique, subjects=subjects, server_limits=limits)['action'] == 'create'
    assert stream(limited, name=unique, subjects=subjects, server_limits=limits)['changed'] is False
    # a window set and then left out goes back to the server's default
    assert stream(limited, name=unique, subjects=subjects, duplicate_window='30s', server_limits=limits)['changed']
    reset = stream(limited, name=unique, subjects=subjects, server_limits=limits)
    assert reset['changes'] == {'duplicate_window': {'old': 30 * SECOND, 'new': MINUTE}}
    assert stream_config(limited, unique)['duplicate_window'] == MINUTE

    assert consumer(limited, stream=unique, name='W', max_ack_pending=50, server_limits=limits)['changed']
    reset = consumer(limited, stream=unique, name='W', server_limits=limits)
    assert reset['changes'] == {'max_ack_pending': {'old': 50, 'new': 500}}
    assert consumer_config(limited, unique, 'W')['max_ack_pending'] == 500
    assert consumer(limited, stream=unique, name='W', server_limits=limits)['changed'] is False
    # the server refuses more than its limit, in its own words
    above = stream(limited, name=unique, subjects=subjects, duplicate_window='5m', server_limits=limits)
    assert above['failed'] is True and 'server limit' in above['msg']


def test_layout_on_a_limited_server_is_stable(limited, unique):
    layout = dict(limited.args, streams=[{'name': unique, 'subjects': [unique.lower() + '.>']}],
                  consumers=[{'stream': unique, 'name': 'PROJECTION'}])
    first = run_module('jetstream_layout', layout)
    assert first['changed'] is True and not first.get('warnings'), first
    second = run_module('jetstream_layout', layout)
    assert second['changed'] is False, second['report']


def test_newer_consumer_fields_are_honoured_and_stable(nats_plain, unique):
    assert stream(nats_plain, name=unique, subjects=[unique.lower() + '.>'])['changed'] is True
    options = dict(stream=unique, name='PINNED', priority_policy='pinned_client', priority_groups=['jobs'],
                   priority_timeout='30s', max_bytes='1MiB', pause_until='2099-01-01T01:00:00+01:00')
    created = consumer(nats_plain, **options)
    assert created['action'] == 'create' and not created.get('warnings'), created
    config = consumer_config(nats_plain, unique, 'PINNED')
    assert (config['priority_policy'], config['priority_groups'], config['priority_timeout'], config['max_bytes']) == (
        'pinned_client', ['jobs'], 30 * SECOND, 1024 * 1024)
    assert config['pause_until'].startswith('2099-01-01T00:00:00')
    assert consumer(nats_plain, **options)['changed'] is False
    # the policy and the pause change in place; leaving pause_until out resumes
    options.update(priority_policy='overflow', priority_timeout=None)
    del options['pause_until'], options['priority_timeout']
    updated = consumer(nats_plain, **options)
    assert updated['action'] == 'update', updated.get('msg')
    assert set(updated['changes']) == {'priority_policy', 'priority_timeout', 'pause_until'}
    config = consumer_config(nats_plain, unique, 'PINNED')
    assert config['priority_policy'] == 'overflow' and not config.get('pause_until')
    assert consumer(nats_plain, **options)['changed'] is False


def test_durable_sourcing_is_stable(nats_plain, unique):
    origin = unique + '_ORIGIN'
    assert stream(nats_plain, name=origin, subjects=[origin.lower() + '.>'])['changed'] is True
    options = dict(name=unique, sources=[{'name': origin, 'consumer': {'name': 'SOURCER', 'deliver_subject': 'src.' + unique.lower()}}])
    created = stream(nats_plain, **options)
    assert created['action'] == 'create' and not created.get('warnings'), created
    assert stream_config(nats_plain, unique)['sources'][0]['consumer']['name'] == 'SOURCER'
    assert stream(nats_plain, **options)['changed'] is False
