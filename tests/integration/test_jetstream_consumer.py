"""cim.nats.jetstream_consumer against a real nats-server."""
import pytest

from conftest import TESTED_RELEASES, consumer_config, js_api, run_module, server_for

SECOND = 10 ** 9


@pytest.fixture(params=('plain', 'tls') + TESTED_RELEASES)
def server(request):
    """Every lifecycle test runs without and with TLS and users on the newest release, and on older ones."""
    return server_for(request, request.param)


def consumer(server, check=False, diff=False, **args):
    return run_module('jetstream_consumer', dict(server.args, **args), check=check, diff=diff)


def make_stream(server, name, **args):
    result = run_module('jetstream_stream', dict(server.args, name=name, subjects=[name.lower() + '.>'], **args))
    assert result.get('failed') is not True, result.get('msg')


def test_lifecycle(server, unique):
    make_stream(server, unique)
    base = dict(stream=unique, name='WORKER', filter_subject=unique.lower() + '.work.>', max_deliver=5)
    planned = consumer(server, check=True, diff=True, **base)
    assert (planned['changed'], planned['action']) == (True, 'create')
    assert consumer_config(server, unique, 'WORKER') is None

    created = consumer(server, diff=True, **base)
    assert (created['changed'], created['action']) == (True, 'create')
    assert created['diff'] == planned['diff']
    config = consumer_config(server, unique, 'WORKER')
    assert (config['ack_policy'], config['ack_wait'], config['max_deliver']) == ('explicit', 30 * SECOND, 5)
    assert consumer(server, **base)['changed'] is False

    # allowed in place: ack wait, backoff, filter, max ack pending, description
    change = {**base, 'ack_wait': '5s', 'max_ack_pending': 5000, 'description': 'worker',
              'filter_subject': unique.lower() + '.>'}
    planned = consumer(server, check=True, diff=True, **change)
    assert planned['action'] == 'update'
    assert planned['changes']['ack_wait'] == {'old': 30 * SECOND, 'new': 5 * SECOND}
    assert consumer_config(server, unique, 'WORKER')['ack_wait'] == 30 * SECOND
    updated = consumer(server, diff=True, **change)
    assert (updated['action'], updated['changes'], updated['diff']) == ('update', planned['changes'],
                                                                        planned['diff'])
    config = consumer_config(server, unique, 'WORKER')
    assert (config['ack_wait'], config['max_ack_pending'], config['description']) == (5 * SECOND, 5000, 'worker')
    assert consumer(server, **change)['changed'] is False

    # leaving the options out again resets them
    reset = consumer(server, **base)
    assert reset['action'] == 'update'
    config = consumer_config(server, unique, 'WORKER')
    assert (config['ack_wait'], config['max_ack_pending'], config.get('description')) == (30 * SECOND, 1000, None)

    # the server never changes the deliver policy: refused before any request, with the remedy
    refused = consumer(server, **{**base, 'deliver_policy': 'new', 'replay_policy': 'original'})
    assert refused['failed'] is True and refused['action'] == 'refuse'
    assert 'deliver_policy: all -> new' in refused['msg'] and 'replay_policy: instant -> original' in refused['msg']
    assert 'set recreate: true' in refused['msg']
    assert consumer_config(server, unique, 'WORKER')['deliver_policy'] == 'all'

    planned = consumer(server, check=True, **dict(base, deliver_policy='new', recreate=True))
    assert (planned['changed'], planned['action']) == (True, 'recreate')
    assert consumer_config(server, unique, 'WORKER')['deliver_policy'] == 'all'
    recreated = consumer(server, **dict(base, deliver_policy='new', recreate=True))
    assert (recreated['changed'], recreated['action']) == (True, 'recreate')
    assert consumer_config(server, unique, 'WORKER')['deliver_policy'] == 'new'
    assert consumer(server, **dict(base, deliver_policy='new'))['changed'] is False

    planned = consumer(server, check=True, diff=True, stream=unique, name='WORKER', state='absent')
    assert (planned['changed'], planned['action'], planned['diff']['after']) == (True, 'delete', {})
    assert consumer_config(server, unique, 'WORKER') is not None
    deleted = consumer(server, stream=unique, name='WORKER', state='absent')
    assert (deleted['changed'], deleted['action']) == (True, 'delete')
    assert consumer_config(server, unique, 'WORKER') is None
    assert consumer(server, stream=unique, name='WORKER', state='absent')['changed'] is False


def test_seed_consumers_field_for_field(nats_plain, unique):
    make_stream(nats_plain, unique, max_age='365d', duplicate_window='2m')
    graph = dict(stream=unique, name='GRAPH_PROJECTION', filter_subject=unique.lower() + '.graph.>',
                 deliver_policy='all', ack_policy='explicit', replay_policy='instant', max_deliver=3)
    workflow = dict(stream=unique, name='WORKFLOW_PROCESSOR', filter_subject=unique.lower() + '.workflow.>',
                    deliver_policy='all', ack_policy='explicit', ack_wait='5s', max_deliver=5)
    for args in (graph, workflow):
        assert consumer(nats_plain, **args)['changed'] is True
        assert consumer(nats_plain, **args)['changed'] is False
    config = consumer_config(nats_plain, unique, 'WORKFLOW_PROCESSOR')
    assert (config['ack_wait'], config['max_deliver'], config['filter_subject']) == (
        5 * SECOND, 5, unique.lower() + '.workflow.>')


def test_every_pull_option_is_honoured_and_stable(nats_plain, unique):
    make_stream(nats_plain, unique)
    options = dict(stream=unique, name='PULL', description='pull, all options',
                   filter_subjects=[unique.lower() + '.a', unique.lower() + '.b'],
                   deliver_policy='by_start_time', opt_start_time='2024-01-01T01:00:00+01:00',
                   ack_policy='all', backoff=['1s', '5s', 30], max_deliver=4, replay_policy='original',
                   max_ack_pending=20, max_waiting=16, max_batch=10, max_expires='30s', inactive_threshold='1h',
                   headers_only=True, sample_freq='50%', num_replicas=1, mem_storage=True,
                   metadata={'owner': 'graph'})
    created = consumer(nats_plain, **options)
    assert created['changed'] is True, created.get('msg')
    assert created.get('warnings') is None, created.get('warnings')
    config = consumer_config(nats_plain, unique, 'PULL')
    assert config['backoff'] == [SECOND, 5 * SECOND, 30 * SECOND] and config['ack_wait'] == SECOND
    assert (config['max_waiting'], config['max_batch'], config['max_expires'], config['inactive_threshold']) == (
        16, 10, 30 * SECOND, 3600 * SECOND)
    assert config['mem_storage'] is True and config['metadata']['owner'] == 'graph'
    assert consumer(nats_plain, **options)['changed'] is False
    # the same start time spelled in UTC is the same consumer
    assert consumer(nats_plain, **{**options, 'opt_start_time': '2024-01-01T00:00:00Z'})['changed'] is False


def test_push_consumer_options(nats_plain, unique):
    make_stream(nats_plain, unique)
    options = dict(stream=unique, name='PUSH', deliver_subject='push.' + unique.lower(), deliver_group='workers',
                   idle_heartbeat='10s', flow_control=True, rate_limit_bps=1000000, deliver_policy='last_per_subject',
                   filter_subject=unique.lower() + '.>')
    created = consumer(nats_plain, **options)
    assert created['changed'] is True, created.get('msg')
    assert created.get('warnings') is None, created.get('warnings')
    config = consumer_config(nats_plain, unique, 'PUSH')
    assert (config['deliver_subject'], config['deliver_group'], config['idle_heartbeat'], config['flow_control'],
            config['rate_limit_bps']) == ('push.' + unique.lower(), 'workers', 10 * SECOND, True, 1000000)
    assert consumer(nats_plain, **options)['changed'] is False
    faster = consumer(nats_plain, **{**options, 'rate_limit_bps': 2000000})
    assert faster['action'] == 'update'
    to_pull = dict(options)
    for key in ('deliver_subject', 'deliver_group', 'idle_heartbeat', 'flow_control', 'rate_limit_bps'):
        del to_pull[key]
    refused = consumer(nats_plain, **to_pull)
    assert refused['failed'] is True and 'pull consumer cannot become a push consumer' in refused['msg']


def test_defaults_follow_the_streams_consumer_limits(nats_plain, unique):
    make_stream(nats_plain, unique, consumer_limits={'max_ack_pending': 77, 'inactive_threshold': '2h'})
    created = consumer(nats_plain, stream=unique, name='LIMITED')
    assert created['changed'] is True
    config = consumer_config(nats_plain, unique, 'LIMITED')
    assert (config['max_ack_pending'], config['inactive_threshold']) == (77, 7200 * SECOND)
    assert consumer(nats_plain, stream=unique, name='LIMITED')['changed'] is False


def test_create_never_edits_a_consumer_defined_meanwhile(nats_plain, unique):
    # The API action "create" makes the server refuse to overwrite a different consumer.
    make_stream(nats_plain, unique)
    js_api(nats_plain, '$JS.API.CONSUMER.CREATE.%s.RACE' % unique,
           {'stream_name': unique, 'config': {'durable_name': 'RACE', 'ack_policy': 'none'}})
    answer = js_api(nats_plain, '$JS.API.CONSUMER.CREATE.%s.RACE' % unique,
                    {'stream_name': unique, 'action': 'create',
                     'config': {'durable_name': 'RACE', 'name': 'RACE', 'ack_policy': 'explicit'}})
    assert answer['error']['err_code'] == 10148
    # and the module, seeing the consumer, refuses the ack policy change instead of creating over it
    refused = consumer(nats_plain, stream=unique, name='RACE')
    assert refused['failed'] is True and 'ack_policy: none -> explicit' in refused['msg']


def test_missing_stream(nats_plain, unique):
    real = consumer(nats_plain, stream=unique, name='C')
    assert real['failed'] is True and 'stream %s does not exist' % unique in real['msg']
    checked = consumer(nats_plain, check=True, stream=unique, name='C')
    assert (checked['changed'], checked['action']) == (True, 'create')
    assert any('does not exist' in warning for warning in checked['warnings'])
    assert consumer(nats_plain, stream=unique, name='C', state='absent')['changed'] is False


@pytest.mark.parametrize('args, words', [
    ({'ack_wait': 'a while'}, 'ack_wait: cannot read'),
    ({'backoff': ['1s', '2s', '3s'], 'max_deliver': 2}, 'max_deliver must be at least'),
    ({'deliver_policy': 'by_start_sequence'}, 'needs opt_start_seq'),
    ({'deliver_policy': 'sometimes'}, 'deliver_policy'),
    ({'name': 'bad.name'}, 'consumer name'),
    ({'deliver_group': 'g'}, 'only applies to push consumers'),
    ({'num_replicas': 3}, 'replicas'),
])
def test_bad_input(nats_plain, unique, args, words):
    make_stream(nats_plain, unique)
    result = consumer(nats_plain, **dict({'stream': unique, 'name': 'C'}, **args))
    assert result['failed'] is True and words in result['msg'], result['msg']
    assert consumer_config(nats_plain, unique, 'C') is None
