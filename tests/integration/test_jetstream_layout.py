"""The `jetstream` role and its bulk module against real nats-servers: the CIM layout applies and
stays put, changes are made in place, pruning stays inside its scope, check and diff mode tell
the truth, and refusals are reported without half-applying the layout."""
import json
import os
import re
import subprocess
import sys
import types

import pytest

from conftest import ROOT, consumer_config, js_api, publish, run_module, stream_config, stream_info
from nats_harness import start_nats_server
from recap import parse_recap

EXAMPLE_LAYOUT = os.path.join(ROOT, 'inventories', 'example', 'group_vars', 'all', 'jetstream.yml')
SECOND = 10 ** 9
DAY = 86400 * SECOND


@pytest.fixture
def server(tmp_path):
    """A server of its own: layouts here use fixed names (CIM_EVENTS...) and prune."""
    nats = start_nats_server(tmp_path)
    nats.args = {'server': nats.url}
    yield nats
    nats.stop()


def layout(server, check=False, diff=False, **kwargs):
    return run_module('jetstream_layout', dict(server.args, **kwargs), check=check, diff=diff)


def by_label(result):
    return dict((o['label'], o) for o in result['objects'])


def stream_names(server):
    return sorted(js_api(server, '$JS.API.STREAM.NAMES', {'offset': 0}).get('streams') or [])


def consumer_names(server, stream):
    return sorted(js_api(server, '$JS.API.CONSUMER.NAMES.%s' % stream, {'offset': 0}).get('consumers') or [])


def playbook(server, *extra, **env):
    """Run playbooks/jetstream.yml as a user does, with only the implicit localhost in the inventory."""
    inventory = os.path.join(str(server.directory), 'inventory.yml')
    with open(inventory, 'w') as handle:
        handle.write('all: {}\n')
    child_env = dict((k, v) for k, v in os.environ.items() if not k.startswith('NATS_'))
    child_env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                     ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                     ANSIBLE_LOCALHOST_WARNING='0', **env)
    # The server goes last: extra vars given later win, and the example layout has its own.
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
               'playbooks/jetstream.yml'] + list(extra) + ['-e', 'jetstream_server=%s' % server.url]
    proc = subprocess.run(command, cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=300, check=False)
    recap = parse_recap(proc.stdout)
    assert 'localhost' in recap, proc.stdout + proc.stderr
    return proc, recap['localhost']


# -- the CIM event store, through the playbook ----------------------------------------------------
def test_cim_layout_applies_from_the_playbook_and_a_second_run_changes_nothing(server):
    proc, recap = playbook(server, '-e', '@' + EXAMPLE_LAYOUT)
    assert recap['failed'] == 0 and recap['changed'] == 1, proc.stdout
    assert '4 streams (4 created); 2 consumers (2 created)' in re.sub(r'\s+', ' ', proc.stdout)

    events = stream_config(server, 'CIM_EVENTS')
    assert events['subjects'] == ['events.>'] and events['retention'] == 'limits'
    assert events['max_msgs'] == -1 and events['max_age'] == 365 * DAY and events['storage'] == 'file'
    assert events['discard'] == 'old' and events['duplicate_window'] == 120 * SECOND
    assert events['num_replicas'] == 1  # one server: as many replicas as the cluster allows
    for name, subject in (('GRAPH_EVENTS', 'events.graph.>'), ('WORKFLOW_EVENTS', 'events.workflow.>')):
        config = stream_config(server, name)
        assert config['max_age'] == 30 * DAY and not config.get('subjects')
        assert config['sources'] == [{'name': 'CIM_EVENTS', 'filter_subject': subject}]
    assert stream_config(server, 'DLQ')['subjects'] == ['dlq.>']
    assert stream_config(server, 'DLQ')['max_age'] == 7 * DAY
    projection = consumer_config(server, 'CIM_EVENTS', 'GRAPH_PROJECTION')
    assert (projection['filter_subject'], projection['deliver_policy'], projection['ack_policy'],
            projection['replay_policy'], projection['max_deliver']) == (
        'events.graph.>', 'all', 'explicit', 'instant', 3)
    processor = consumer_config(server, 'CIM_EVENTS', 'WORKFLOW_PROCESSOR')
    assert (processor['filter_subject'], processor['ack_wait'], processor['max_deliver']) == (
        'events.workflow.>', 5 * SECOND, 5)

    # The seed's intent holds: one publish lands in the event store and in its domain stream only.
    publish(server, 'events.graph.node.created')
    publish(server, 'events.workflow.step.done')
    assert stream_info(server, 'CIM_EVENTS')['state']['messages'] == 2
    for name in ('GRAPH_EVENTS', 'WORKFLOW_EVENTS'):
        assert _wait_for_messages(server, name, 1)

    proc, recap = playbook(server, '-e', '@' + EXAMPLE_LAYOUT)
    assert recap['failed'] == 0 and recap['changed'] == 0, proc.stdout
    assert '4 streams (4 unchanged); 2 consumers (2 unchanged)' in re.sub(r'\s+', ' ', proc.stdout)


def _wait_for_messages(server, stream, count, timeout=5.0):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        if stream_info(server, stream)['state']['messages'] == count:
            return True
        time.sleep(0.05)
    return False


def test_the_seeds_commands_as_written_fail_naming_the_overlap_and_report_what_was_applied(server):
    result = layout(server, streams=[
        {'name': 'CIM_EVENTS', 'subjects': ['events.>'], 'max_age': '365d'},
        {'name': 'GRAPH_EVENTS', 'subjects': ['events.graph.>'], 'max_age': '30d'},
        {'name': 'DLQ', 'subjects': ['dlq.>'], 'max_age': '7d'},
    ], consumers=[{'stream': 'GRAPH_EVENTS', 'name': 'GRAPH_PROJECTION', 'filter_subject': 'events.graph.>'}])
    assert result['failed'] is True and result['changed'] is True
    assert 'stream GRAPH_EVENTS: the server refused the request: subjects overlap with an existing stream' \
        in result['msg']
    assert 'err_code 10065' in result['msg']
    assert 'events.graph.> overlaps events.> of stream CIM_EVENTS' in result['msg']
    assert 'Applied: stream CIM_EVENTS, stream DLQ' in result['msg']
    objects = by_label(result)
    assert objects['stream CIM_EVENTS']['status'] == 'created' and objects['stream CIM_EVENTS']['applied']
    assert objects['stream DLQ']['status'] == 'created'
    assert objects['stream GRAPH_EVENTS']['status'] == 'failed'
    assert objects['consumer GRAPH_PROJECTION on stream GRAPH_EVENTS']['status'] == 'skipped'
    assert stream_names(server) == ['CIM_EVENTS', 'DLQ']


# -- changes, in place ------------------------------------------------------------------------------
BASE_STREAMS = [
    {'name': 'ORDERS', 'subjects': ['orders.>'], 'max_age': '30d', 'description': 'orders'},
    {'name': 'ORDERS_ARCHIVE', 'max_age': '365d', 'sources': [{'name': 'ORDERS'}]},
]
BASE_CONSUMERS = [
    {'stream': 'ORDERS', 'name': 'BILLING', 'filter_subject': 'orders.paid.>', 'ack_wait': '30s', 'max_deliver': 5},
    {'stream': 'ORDERS', 'name': 'SHIPPING', 'filter_subject': 'orders.packed.>'},
]


def test_a_changed_field_is_updated_in_place_and_only_that_object_changes(server):
    first = layout(server, streams=BASE_STREAMS, consumers=BASE_CONSUMERS)
    assert first['changed'] is True and not first.get('failed'), first.get('msg')
    publish(server, 'orders.paid.1', count=3)
    created = js_api(server, '$JS.API.CONSUMER.INFO.ORDERS.BILLING')['created']

    streams = [dict(BASE_STREAMS[0], max_age='60d'), BASE_STREAMS[1]]
    consumers = [dict(BASE_CONSUMERS[0], ack_wait='10s'), BASE_CONSUMERS[1]]
    result = layout(server, streams=streams, consumers=consumers)
    assert result['changed'] is True and not result.get('failed'), result.get('msg')
    objects = by_label(result)
    assert objects['stream ORDERS']['status'] == 'updated'
    assert objects['stream ORDERS']['changes'] == {'max_age': {'old': 30 * DAY, 'new': 60 * DAY}}
    assert objects['consumer BILLING on stream ORDERS']['changes'] == {
        'ack_wait': {'old': 30 * SECOND, 'new': 10 * SECOND}}
    assert objects['stream ORDERS_ARCHIVE']['status'] == 'unchanged'
    assert objects['consumer SHIPPING on stream ORDERS']['status'] == 'unchanged'
    assert 'updated stream ORDERS: max_age: 30d -> 60d' in result['report']
    assert re.match(r'2 streams \(1 unchanged, 1 updated\); 2 consumers \(1 unchanged, 1 updated\); 4 objects in',
                    result['summary'])

    assert stream_config(server, 'ORDERS')['max_age'] == 60 * DAY
    assert stream_info(server, 'ORDERS')['state']['messages'] == 3  # updated, not recreated
    info = js_api(server, '$JS.API.CONSUMER.INFO.ORDERS.BILLING')
    assert info['config']['ack_wait'] == 10 * SECOND and info['created'] == created

    again = layout(server, streams=streams, consumers=consumers)
    assert again['changed'] is False and set(o['status'] for o in again['objects']) == {'unchanged'}


def test_leaving_an_option_out_resets_it_to_the_server_default(server):
    layout(server, streams=BASE_STREAMS, consumers=BASE_CONSUMERS)
    result = layout(server, streams=[dict((k, v) for k, v in BASE_STREAMS[0].items() if k != 'description'),
                                     BASE_STREAMS[1]], consumers=BASE_CONSUMERS)
    assert by_label(result)['stream ORDERS']['changes'] == {'description': {'old': 'orders', 'new': ''}}
    assert not stream_config(server, 'ORDERS').get('description')


def test_streams_are_created_before_the_streams_that_source_or_mirror_them_and_deleted_after(server):
    streams = [
        {'name': 'COPY', 'mirror': {'name': 'MIDDLE'}},
        {'name': 'MIDDLE', 'sources': [{'name': 'ORIGIN'}]},
        {'name': 'ORIGIN', 'subjects': ['origin.>']},
    ]
    result = layout(server, streams=streams)
    assert not result.get('failed'), result.get('msg')
    assert [o['name'] for o in result['objects']] == ['ORIGIN', 'MIDDLE', 'COPY']
    publish(server, 'origin.1')
    assert _wait_for_messages(server, 'COPY', 1)

    # They hold the message: deleting them needs the acknowledgement.
    gone = [dict(s, state='absent', acknowledge_data_loss=True) for s in streams]
    result = layout(server, streams=gone)
    assert [o['name'] for o in result['objects']] == ['COPY', 'MIDDLE', 'ORIGIN']
    assert [o['status'] for o in result['objects']] == ['deleted'] * 3
    assert stream_names(server) == []


def test_kv_buckets_and_object_stores_in_one_layout(server):
    kwargs = dict(kv_buckets=[{'bucket': 'settings', 'history': 5}], object_stores=[{'bucket': 'blobs', 'ttl': '1d'}],
                  streams=[{'name': 'SETTINGS_AUDIT', 'sources': [{'name': 'KV_settings'}]}])
    result = layout(server, **kwargs)
    assert not result.get('failed'), result.get('msg')
    # The stream that sources the bucket's stream comes after it.
    labels = [o['label'] for o in result['objects']]
    assert sorted(labels) == ['KV bucket settings', 'object store blobs', 'stream SETTINGS_AUDIT']
    assert labels.index('KV bucket settings') < labels.index('stream SETTINGS_AUDIT')
    assert stream_config(server, 'KV_settings')['max_msgs_per_subject'] == 5
    assert stream_config(server, 'OBJ_blobs')['max_age'] == DAY
    assert layout(server, **kwargs)['changed'] is False


# -- pruning ----------------------------------------------------------------------------------------
def _seed_strays(server):
    """Objects the layout will not declare: some inside the scope CIM_* / OLD_TASKS, some outside."""
    layout(server, streams=[
        {'name': 'CIM_EVENTS', 'subjects': ['events.>']},
        {'name': 'CIM_OLD', 'subjects': ['old.>']},          # undeclared, in scope: pruned
        {'name': 'APP_ORDERS', 'subjects': ['app.orders.>']},  # undeclared, out of scope: kept
    ], consumers=[
        {'stream': 'CIM_EVENTS', 'name': 'CIM_PROJECTION'},
        {'stream': 'CIM_EVENTS', 'name': 'CIM_STALE'},     # undeclared, in scope: pruned
        {'stream': 'CIM_EVENTS', 'name': 'APP_READER'},    # undeclared, out of scope: kept
        {'stream': 'APP_ORDERS', 'name': 'CIM_WORKER'},    # stream out of scope: kept
    ], kv_buckets=[{'bucket': 'CIM_cache'}, {'bucket': 'app_settings'}])


def _inventory(server):
    return dict((name, consumer_names(server, name)) for name in stream_names(server))


def test_prune_deletes_only_what_is_undeclared_and_in_scope_and_check_mode_lists_it_first(server):
    _seed_strays(server)
    before = _inventory(server)
    declared = dict(streams=[{'name': 'CIM_EVENTS', 'subjects': ['events.>']}],
                    consumers=[{'stream': 'CIM_EVENTS', 'name': 'CIM_PROJECTION'}],
                    prune=True, prune_prefixes=['CIM_'])
    expected = ['consumer CIM_STALE on stream CIM_EVENTS', 'stream CIM_OLD', 'KV bucket CIM_cache']

    check = layout(server, check=True, **declared)
    assert check['changed'] is True and not check.get('failed'), check.get('msg')
    pruned = [o['label'] for o in check['objects'] if not o['declared']]
    assert sorted(pruned) == sorted(expected)
    assert all(o['status'] == 'deleted' and not o['applied'] for o in check['objects'] if not o['declared'])
    assert _inventory(server) == before  # check mode touched nothing

    real = layout(server, **declared)
    assert real['changed'] is True and not real.get('failed'), real.get('msg')
    assert sorted(o['label'] for o in real['objects'] if not o['declared']) == sorted(expected)
    assert _inventory(server) == {
        'APP_ORDERS': ['CIM_WORKER'],
        'CIM_EVENTS': ['APP_READER', 'CIM_PROJECTION'],
        'KV_app_settings': [],
    }
    assert 'deleted stream CIM_OLD with its 0 messages (0 B) and 0 consumers (pruned: not in the layout, inside the ' \
        'prune scope)' in real['report']
    assert layout(server, **declared)['changed'] is False


def test_pruning_a_stream_or_bucket_that_holds_messages_needs_the_acknowledgement(server):
    _seed_strays(server)
    publish(server, 'old.1', count=3)
    publish(server, '$KV.CIM_cache.colour')
    before = _inventory(server)
    held = stream_info(server, 'CIM_OLD')['state']
    declared = dict(streams=[{'name': 'CIM_EVENTS', 'subjects': ['events.>']}],
                    consumers=[{'stream': 'CIM_EVENTS', 'name': 'CIM_PROJECTION'}],
                    prune=True, prune_prefixes=['CIM_'])

    # Check mode lists what each prune would destroy.
    check = layout(server, check=True, **declared)
    objects = by_label(check)
    assert objects['stream CIM_OLD']['data_loss'] == {'messages': 3, 'bytes': held['bytes'], 'consumers': 0}
    assert objects['KV bucket CIM_cache']['data_loss']['messages'] == 1
    assert objects['stream CIM_OLD']['status'] == 'refused' and objects['KV bucket CIM_cache']['status'] == 'refused'

    # Without the acknowledgement: refused before anything is deleted, the empty consumer prune included.
    refused = layout(server, **declared)
    assert refused['failed'] is True and refused['changed'] is False
    assert 'stream CIM_OLD is not in the layout and is inside the prune scope, but it holds 3 messages (%s B) and ' \
        '0 consumers' % held['bytes'] in refused['msg']
    assert 'prune_acknowledge_data_loss: true' in refused['msg'] and 'KV bucket CIM_cache' in refused['msg']
    assert by_label(refused)['consumer CIM_STALE on stream CIM_EVENTS']['status'] == 'not applied'
    assert _inventory(server) == before
    assert stream_info(server, 'CIM_OLD')['state']['messages'] == 3

    # With it: deleted, and the report says what went.
    done = layout(server, prune_acknowledge_data_loss=True, **declared)
    assert not done.get('failed'), done.get('msg')
    assert 'deleted stream CIM_OLD with its 3 messages (%s B) and 0 consumers (pruned: not in the layout, inside ' \
        'the prune scope)' % held['bytes'] in done['report']
    assert by_label(done)['stream CIM_OLD']['data_loss']['messages'] == 3
    assert 'CIM_OLD' not in stream_names(server) and 'KV_CIM_cache' not in stream_names(server)
    assert consumer_names(server, 'CIM_EVENTS') == ['APP_READER', 'CIM_PROJECTION']


def test_a_declared_delete_of_a_stream_that_holds_messages_needs_its_acknowledgement(server):
    layout(server, streams=BASE_STREAMS + [{'name': 'TEMP', 'subjects': ['temp.>']}], consumers=BASE_CONSUMERS)
    publish(server, 'temp.1', count=2)
    gone = [BASE_STREAMS[0], BASE_STREAMS[1], {'name': 'TEMP', 'state': 'absent'}]

    check = layout(server, check=True, streams=gone)
    assert check['failed'] is True and by_label(check)['stream TEMP']['data_loss']['messages'] == 2
    result = layout(server, streams=gone)
    assert result['failed'] is True and result['changed'] is False
    assert 'stream TEMP holds 2 messages' in result['msg'] and 'acknowledge_data_loss: true' in result['msg']
    assert 'TEMP' in stream_names(server)

    result = layout(server, streams=gone[:2] + [dict(gone[2], acknowledge_data_loss=True)])
    assert not result.get('failed'), result.get('msg')
    assert by_label(result)['stream TEMP']['status'] == 'deleted' and 'TEMP' not in stream_names(server)


def test_prune_by_exact_names_and_never_without_a_scope(server):
    _seed_strays(server)
    before = _inventory(server)
    declared = dict(streams=[{'name': 'CIM_EVENTS', 'subjects': ['events.>']}],
                    consumers=[{'stream': 'CIM_EVENTS', 'name': 'CIM_PROJECTION'}])

    result = layout(server, prune=True, **declared)
    assert result['failed'] is True and 'prune needs a scope' in result['msg']
    assert _inventory(server) == before

    result = layout(server, prune=True, prune_names=['APP_READER', 'CIM_OLD'], **declared)
    assert not result.get('failed'), result.get('msg')
    assert sorted(o['label'] for o in result['objects'] if not o['declared']) == [
        'consumer APP_READER on stream CIM_EVENTS', 'stream CIM_OLD']
    assert 'CIM_OLD' not in stream_names(server) and 'APP_ORDERS' in stream_names(server)
    assert consumer_names(server, 'CIM_EVENTS') == ['CIM_PROJECTION', 'CIM_STALE']


def test_a_declared_consumer_on_a_stream_that_would_be_pruned_is_refused(server):
    _seed_strays(server)
    before = _inventory(server)
    result = layout(server, streams=[{'name': 'CIM_EVENTS', 'subjects': ['events.>']}],
                    consumers=[{'stream': 'CIM_OLD', 'name': 'READER'}], prune=True, prune_prefixes=['CIM_'])
    assert result['failed'] is True and 'stream CIM_OLD is not' in result['msg']
    assert _inventory(server) == before


# -- check mode and diff --------------------------------------------------------------------------
def test_check_mode_and_diff_report_exactly_what_the_real_run_does(server):
    layout(server, streams=BASE_STREAMS + [{'name': 'TEMP', 'subjects': ['temp.>']}], consumers=BASE_CONSUMERS)
    before = dict((name, stream_config(server, name)) for name in stream_names(server))
    changes = dict(
        streams=[dict(BASE_STREAMS[0], max_age='7d'), BASE_STREAMS[1], {'name': 'TEMP', 'state': 'absent'},
                 {'name': 'NEW', 'subjects': ['new.>'], 'max_msgs': 1000}],
        consumers=[BASE_CONSUMERS[0], dict(BASE_CONSUMERS[1], max_deliver=3),
                   {'stream': 'NEW', 'name': 'FIRST', 'ack_wait': '1m'}])

    check = layout(server, check=True, diff=True, **changes)
    assert check['changed'] is True and not check.get('failed'), check.get('msg')
    assert check['summary'].startswith('check mode, nothing applied: ')
    assert dict((name, stream_config(server, name)) for name in stream_names(server)) == before

    real = layout(server, diff=True, **changes)
    assert real['changed'] is True and not real.get('failed'), real.get('msg')

    def essence(result):
        return [(o['label'], o['status'], o['changes']) for o in result['objects']]
    assert essence(check) == essence(real)
    assert check['diff'] == real['diff']
    assert [re.sub(r'^would (create|update|delete)', lambda m: m.group(1).rstrip('e') + 'ed', line)
            for line in check['report']] == real['report']
    assert 'would update stream ORDERS: max_age: 30d -> 7d' in check['report']
    assert sorted(d['before_header'] for d in real['diff']) == [
        'consumer FIRST on stream NEW', 'consumer SHIPPING on stream ORDERS', 'stream NEW', 'stream ORDERS',
        'stream TEMP']
    diff = dict((d['before_header'], d) for d in real['diff'])
    assert diff['stream ORDERS']['before']['max_age'] == 30 * DAY
    assert diff['stream ORDERS']['after']['max_age'] == 7 * DAY
    assert diff['stream TEMP']['after'] == {} and diff['stream NEW']['before'] == {}
    assert all(o['applied'] for o in real['objects'] if o['status'] != 'unchanged')
    assert sorted(stream_names(server)) == ['NEW', 'ORDERS', 'ORDERS_ARCHIVE']


# -- refusals -----------------------------------------------------------------------------------------
def test_refused_objects_are_all_listed_and_nothing_is_applied(server):
    layout(server, streams=BASE_STREAMS, consumers=BASE_CONSUMERS)
    result = layout(server, streams=[
        {'name': 'BRAND_NEW', 'subjects': ['brand.>']},
        dict(BASE_STREAMS[0], storage='memory', max_age='1d'),
        BASE_STREAMS[1],
    ], consumers=[
        dict(BASE_CONSUMERS[0], ack_policy='none'),
        dict(BASE_CONSUMERS[1], max_deliver=2),
        {'stream': 'NOWHERE', 'name': 'LOST'},
    ])
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'].startswith('3 objects are refused, nothing was applied: ')
    assert 'storage: file -> memory' in result['msg'] and 'recreate' in result['msg']
    assert 'ack_policy: explicit -> none' in result['msg']
    assert 'stream NOWHERE does not exist and the layout does not declare it' in result['msg']
    objects = by_label(result)
    assert objects['stream ORDERS']['status'] == 'refused'
    assert objects['stream ORDERS']['refused'][0]['field'] == 'storage'
    assert objects['stream BRAND_NEW']['status'] == 'not applied'
    assert objects['consumer SHIPPING on stream ORDERS']['status'] == 'not applied'
    assert not any(o['applied'] for o in result['objects'])
    assert 'BRAND_NEW' not in stream_names(server)
    assert stream_config(server, 'ORDERS')['max_age'] == 30 * DAY
    assert consumer_config(server, 'ORDERS', 'SHIPPING')['max_deliver'] == -1

    check = layout(server, check=True, streams=[dict(BASE_STREAMS[0], storage='memory')])
    assert check['failed'] is True and check['changed'] is False and 'storage: file -> memory' in check['msg']


def test_recreate_with_acknowledged_data_loss_recreates_the_stream_and_its_declared_consumers(server):
    layout(server, streams=BASE_STREAMS, consumers=BASE_CONSUMERS)
    publish(server, 'orders.paid.1')
    result = layout(server, streams=[dict(BASE_STREAMS[0], storage='memory', recreate=True,
                                          acknowledge_data_loss=True), BASE_STREAMS[1]], consumers=BASE_CONSUMERS)
    assert not result.get('failed'), result.get('msg')
    objects = by_label(result)
    assert objects['stream ORDERS']['status'] == 'recreated'
    assert objects['consumer BILLING on stream ORDERS']['status'] == 'created'
    assert stream_config(server, 'ORDERS')['storage'] == 'memory'
    assert stream_info(server, 'ORDERS')['state']['messages'] == 0
    assert consumer_names(server, 'ORDERS') == ['BILLING', 'SHIPPING']


def test_a_wrong_layout_fails_before_anything_is_sent_naming_each_problem(server):
    result = layout(server, streams=[
        {'name': 'GOOD', 'subjects': ['good.>']},
        {'name': 'BAD', 'max_age': 'forever'},
        {'name': 'GOOD', 'subjects': ['again.>']},
        {'name': 'TYPO', 'subjcts': ['typo.>']},
    ], consumers=[{'name': 'NO_STREAM'}])
    assert result['failed'] is True
    problems = ' | '.join(result['problems'])
    assert "streams[1] (stream BAD): max_age: cannot read 'forever' as a duration" in problems
    assert 'streams[2] (stream GOOD): already declared as streams[0]' in problems
    assert 'streams[3]' in problems and 'subjcts' in problems
    assert 'consumers[0]' in problems and 'stream' in problems
    assert stream_names(server) == []


# -- the role over TLS with a user, as on a production cluster -------------------------------------
def test_role_over_tls_with_user_keeps_the_password_out_of_the_output(nats_tls, unique):
    streams = [{'name': unique, 'subjects': [unique.lower() + '.>'], 'max_age': '1h'}]
    consumers = [{'stream': unique, 'name': 'READER', 'ack_wait': '5s'}]
    extra = json.dumps({
        'jetstream_server': nats_tls.url, 'jetstream_user': 'admin', 'jetstream_password': 's3cret-Pa55',
        'jetstream_tls_ca_file': nats_tls.tls['ca'], 'jetstream_tls_cert_file': nats_tls.tls['client_cert'],
        'jetstream_tls_key_file': nats_tls.tls['client_key'], 'jetstream_domain': 'hub',
        'jetstream_streams': streams, 'jetstream_consumers': consumers})
    proc, recap = playbook(nats_tls, '-e', extra, '-v')
    assert recap['failed'] == 0 and recap['changed'] == 1, proc.stdout
    assert 's3cret-Pa55' not in proc.stdout + proc.stderr
    answer = js_api(nats_tls, '$JS.hub.API.STREAM.INFO.%s' % unique)
    assert answer['config']['max_age'] == 3600 * SECOND


# -- the role's task: in the controller's worker, or as a plain module ------------------------------
def test_role_check_mode_and_refusal_through_the_playbook(server):
    streams = json.dumps({'jetstream_streams': BASE_STREAMS})
    proc, recap = playbook(server, '-e', streams, '-C')
    assert recap['failed'] == 0 and recap['changed'] == 1, proc.stdout
    assert 'would create stream ORDERS' in proc.stdout and stream_names(server) == []

    playbook(server, '-e', streams)
    refused = json.dumps({'jetstream_streams': [dict(BASE_STREAMS[0], storage='memory'), BASE_STREAMS[1]]})
    proc, recap = playbook(server, '-e', refused)
    assert recap['failed'] == 1, proc.stdout
    assert '1 object is refused, nothing was applied: stream ORDERS cannot be changed in place: storage: file' \
        in re.sub(r'\s+', ' ', proc.stdout)
    assert stream_config(server, 'ORDERS')['storage'] == 'file'


def test_wrong_variables_are_all_named_by_the_playbook_and_by_the_role_spec(server, tmp_path):
    """playbooks/jetstream.yml leaves the checks to the module, which names every wrong option;
    a user's play that includes the role gets the role's own argument spec check first."""
    wrong = json.dumps({'jetstream_streams': 'CIM_EVENTS', 'jetstream_connect_timeout': 'soon'})
    proc, recap = playbook(server, '-e', wrong)
    output = re.sub(r'\s+', ' ', proc.stdout)
    assert recap['failed'] == 1, proc.stdout
    assert "argument 'connect_timeout' is of type str" in output and "option 'streams' is of type str" in output
    assert stream_names(server) == []

    play = tmp_path / 'play.yml'
    play.write_text('- hosts: localhost\n  gather_facts: false\n  roles: [cim.nats.jetstream]\n')
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text('all: {}\n')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           str(play), '-e', wrong, '-e', 'jetstream_server=%s' % server.url],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = re.sub(r'\s+', ' ', proc.stdout)
    assert proc.returncode != 0 and 'Validation of arguments failed' in output, output
    assert 'jetstream_streams' in output and 'jetstream_connect_timeout' in output


def test_with_a_task_environment_the_module_runs_as_a_plain_module_with_the_same_result(server, tmp_path):
    """In-process execution would ignore `environment:`; then the module runs as usual and sees it."""
    play = tmp_path / 'play.yml'
    play.write_text('''
- name: The role with the server in the environment
  hosts: localhost
  gather_facts: false
  environment:
    NATS_URL: "%s"
  roles:
    - role: cim.nats.jetstream
''' % server.url)
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('NATS_'))
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text('all: {}\n')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           str(play), '-e', json.dumps({'jetstream_streams': BASE_STREAMS})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '2 streams (2 created)' in re.sub(r'\s+', ' ', proc.stdout)
    assert stream_names(server) == ['ORDERS', 'ORDERS_ARCHIVE']


def test_consumer_listings_read_at_once_include_every_page(server):
    """The plan reads all streams' consumer listings concurrently; a stream with more consumers
    than one page (256) is still read whole, so a second run finds every consumer unchanged."""
    streams = [{'name': 'WIDE', 'subjects': ['wide.>']}]
    consumers = [{'stream': 'WIDE', 'name': 'W%03d' % n, 'filter_subject': 'wide.%d' % n} for n in range(300)]
    for number in range(30):
        name = 'NARROW_%02d' % number
        streams.append({'name': name, 'subjects': ['narrow.%d.>' % number]})
        consumers += [{'stream': name, 'name': 'C%d' % n} for n in range(2)]
    first = layout(server, streams=streams, consumers=consumers)
    assert first.get('failed') is not True, first.get('msg')
    page = js_api(server, '$JS.API.CONSUMER.LIST.WIDE', {'offset': 0})
    assert page['total'] == 300 and len(page['consumers']) < 300  # a listing of more than one page
    second = layout(server, streams=streams, consumers=consumers)
    assert second['changed'] is False, second['summary']
    assert second['summary'].startswith('31 streams (31 unchanged); 360 consumers (360 unchanged)'), second['summary']


def test_a_stream_listing_of_several_pages_is_read_whole(server):
    """More streams than one page of STREAM.LIST (256): the pages after the first are asked for
    at once, and a second run still finds every stream, unchanged and declared once."""
    streams = [{'name': 'MANY_%03d' % n, 'subjects': ['many.%d' % n], 'storage': 'memory'} for n in range(300)]
    first = layout(server, streams=streams)
    assert first.get('failed') is not True, first.get('msg')
    page = js_api(server, '$JS.API.STREAM.LIST', {'offset': 0})
    assert page['total'] == 300 and len(page['streams']) < 300  # a listing of more than one page
    second = layout(server, streams=streams, prune=True, prune_prefixes=['MANY_'])
    assert second['changed'] is False, second['summary']
    assert second['summary'].startswith('300 streams (300 unchanged)'), second['summary']
    assert sorted(o['name'] for o in second['objects']) == sorted(s['name'] for s in streams)


ACCOUNTS = '''
accounts {
  JS: {
    jetstream: enabled
    users: [
      {user: js, password: js-pass}
      {user: noinfo, password: noinfo-pass, permissions: {publish: {deny: ["$JS.API.INFO"]}}}
    ]
  }
  PLAIN: {users: [{user: plain, password: plain-pass}]}
}
'''


def as_user(nats, user, password):
    return types.SimpleNamespace(args={'server': nats.url, 'user': user, 'password': password})


@pytest.fixture(scope='module')
def accounts(tmp_path_factory):
    """A server with a JetStream account (a user who may not read the account info) and an account without JetStream."""
    nats = start_nats_server(tmp_path_factory.mktemp('accounts'), ACCOUNTS)
    yield nats
    nats.stop()


def test_a_read_the_server_answers_with_an_error_fails_the_pass(accounts):
    """An account without JetStream: the first reads of the pass are answered with an error, and
    the run fails saying so (in check mode too) instead of planning against an empty server."""
    plain = as_user(accounts, 'plain', 'plain-pass')
    streams = [{'name': 'ORDERS', 'subjects': ['orders.>']}]
    with_consumers = layout(plain, streams=streams, consumers=[{'stream': 'ORDERS', 'name': 'READER'}])
    assert with_consumers['failed'] is True and 'JetStream not enabled' in with_consumers['msg'], with_consumers
    checked = layout(plain, check=True, streams=streams)
    assert checked['failed'] is True and 'JetStream not enabled' in checked['msg'], checked


def test_a_refusal_is_said_for_the_read_it_refuses(accounts):
    """A user who may not read the account info: a layout that needs it fails naming that read;
    one that only deletes consumers does not need it, and the refusal of a read sent ahead is
    blamed on nothing else."""
    noinfo = as_user(accounts, 'noinfo', 'noinfo-pass')
    # Enough streams that their listing is still being read when the refusal comes in.
    streams = [{'name': 'WORK', 'subjects': ['work.>']}] + [
        {'name': 'MORE_%03d' % n, 'subjects': ['more.%d' % n], 'storage': 'memory'} for n in range(300)]
    made = layout(as_user(accounts, 'js', 'js-pass'), streams=streams, consumers=[{'stream': 'WORK', 'name': 'OLD'}])
    assert made.get('failed') is not True, made.get('msg')
    needs_info = layout(noinfo, streams=streams, consumers=[{'stream': 'WORK', 'name': 'NEW'}])
    assert needs_info['failed'] is True, needs_info
    assert 'the server refused $JS.API.INFO to this user' in needs_info['msg'], needs_info['msg']
    deletes = layout(noinfo, streams=streams, consumers=[{'stream': 'WORK', 'name': 'OLD', 'state': 'absent'}])
    assert deletes.get('failed') is not True, deletes.get('msg')
    assert deletes['summary'].startswith('301 streams (301 unchanged); 1 consumer (1 deleted)'), deletes['summary']


def test_a_refused_consumer_listing_fails_the_plan_at_once_naming_it(nats_tls, unique):
    """A user who may not list one stream's consumers: the concurrent reads stop at the refusal,
    well within the request timeout, the error names the subject, and nothing is applied."""
    private, open_stream = 'PRIVATE', unique
    admin = run_module('jetstream_layout', dict(nats_tls.args, streams=[
        {'name': private, 'subjects': ['private.>']}, {'name': open_stream, 'subjects': [unique.lower() + '.>']}]))
    assert admin.get('failed') is not True, admin.get('msg')
    args = dict(nats_tls.args, user='nolist', password='nolist-pass', request_timeout=5)
    result = run_module('jetstream_layout', dict(args, consumers=[
        {'stream': open_stream, 'name': 'READER'}, {'stream': private, 'name': 'READER'}]))
    assert result['failed'] is True
    assert 'CONSUMER.LIST.PRIVATE' in result['msg'] and 'ermissions' in result['msg'], result['msg']
    assert result['_seconds'] < 5
    assert 'nolist-pass' not in json.dumps(result)
    for stream in (private, open_stream):
        assert js_api(nats_tls, '$JS.API.CONSUMER.NAMES.%s' % stream, {'offset': 0}).get('consumers') in (None, [])
