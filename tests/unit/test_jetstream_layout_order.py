"""The pure parts of the bulk reconcile: dependency order, prune scope, what a server stream holds,
and the layout's validation (every problem at once, before anything is sent)."""
import pytest

from ansible_collections.cim.nats.plugins.module_utils.jetstream_reconcile import (
    LayoutError,
    in_prune_scope,
    order_by_dependencies,
    parse_layout,
    stream_dependencies,
    stream_kind,
    subjects_overlap,
)


def test_dependencies_are_mirror_and_sources_in_this_domain_only():
    assert stream_dependencies({'name': 'A', 'subjects': ['a.>']}) == []
    assert stream_dependencies({'mirror': {'name': 'ORIGIN'}}) == ['ORIGIN']
    assert stream_dependencies({'sources': [{'name': 'X'}, {'name': 'Y', 'filter_subject': 'y.>'}, {'name': 'X'}]}) \
        == ['X', 'Y']
    assert stream_dependencies({'sources': [{'name': 'REMOTE', 'external': {'api': '$JS.hub.API'}}]}) == []
    assert stream_dependencies(None) == []


def test_order_puts_origins_first_and_keeps_declaration_order_otherwise():
    names = ['COPY', 'MIDDLE', 'ORIGIN', 'OTHER']
    deps = {'COPY': ['MIDDLE'], 'MIDDLE': ['ORIGIN', 'ELSEWHERE']}
    assert order_by_dependencies(names, deps) == ['ORIGIN', 'MIDDLE', 'COPY', 'OTHER']
    assert order_by_dependencies(['A', 'B', 'C'], {}) == ['A', 'B', 'C']


def test_order_of_a_long_chain_is_fast():
    import time
    names = ['S%05d' % i for i in range(20000)]
    deps = dict((names[i], [names[i + 1]]) for i in range(len(names) - 1))  # each needs the next one
    started = time.process_time()
    ordered = order_by_dependencies(names, deps)
    assert ordered == list(reversed(names))
    assert time.process_time() - started < 2.0


def test_a_cycle_does_not_hang_and_keeps_everyone():
    ordered = order_by_dependencies(['A', 'B', 'C'], {'A': ['B'], 'B': ['A'], 'C': ['A']})
    assert ordered == ['A', 'B', 'C']
    # X is not on the cycle A <-> B, it only waits for it: a member of the cycle is released first.
    ordered = order_by_dependencies(['X', 'A', 'B'], {'X': ['A'], 'A': ['B'], 'B': ['A']})
    assert ordered[0] == 'A' and sorted(ordered) == ['A', 'B', 'X']


def test_prune_scope_is_prefixes_or_exact_names_and_empty_means_nothing():
    assert in_prune_scope('CIM_OLD', ['CIM_'], [])
    assert not in_prune_scope('APP_CIM_OLD', ['CIM_'], [])
    assert in_prune_scope('DLQ', [], ['DLQ'])
    assert not in_prune_scope('DLQ2', [], ['DLQ'])
    assert not in_prune_scope('ANY', [], [])
    assert not in_prune_scope('ANY', [''], [])  # an empty prefix is not "everything"


def test_stream_kind_recognises_buckets_by_name_and_subjects():
    assert stream_kind({'name': 'KV_cfg', 'subjects': ['$KV.cfg.>']}) == ('kv_bucket', 'cfg')
    assert stream_kind({'name': 'OBJ_b', 'subjects': ['$O.b.C.>', '$O.b.M.>']}) == ('object_store', 'b')
    assert stream_kind({'name': 'KV_LOOKALIKE', 'subjects': ['kv.>']}) == ('stream', 'KV_LOOKALIKE')


def test_parse_layout_converts_items_with_the_single_object_rules():
    entries = parse_layout({
        'streams': [{'name': 'S', 'subjects': ['s.>'], 'max_age': '1h', 'replicas': 1}],
        'consumers': [{'stream': 'S', 'durable': 'C', 'ack_wait': '5s'}],
        'kv_buckets': [{'bucket': 'cfg', 'history': 2}],
    })
    stream, bucket, consumer = entries
    assert stream['desired']['max_age'] == 3600 * 10 ** 9 and stream['desired']['num_replicas'] == 1
    assert bucket['stream'] == 'KV_cfg' and bucket['label'] == 'KV bucket cfg'
    assert consumer['desired']['durable_name'] == 'C' and consumer['desired']['ack_wait'] == 5 * 10 ** 9
    assert consumer['label'] == 'consumer C on stream S'


def test_parse_layout_reports_every_problem_at_once():
    with pytest.raises(LayoutError) as error:
        parse_layout({
            'streams': [{'name': 'S', 'max_age': 'soon'}, {'name': 'T', 'state': 'absent'}, {'name': 'T'}, 'S'],
            'consumers': [{'stream': 'T', 'name': 'C'}],
            'kv_buckets': [{'bucket': 'bad name'}],
        })
    problems = error.value.problems
    assert len(problems) == 5, problems
    assert any(p.startswith('streams[0] (stream S): max_age') for p in problems)
    assert any('streams[2] (stream T): already declared as streams[1]' in p for p in problems)
    assert any(p.startswith('streams[3]: each item must be a dict') for p in problems)
    assert any('kv_buckets[0]' in p and 'bucket name' in p for p in problems)
    assert any('consumers[0] (consumer C on stream T): its stream is declared with state absent' in p
               for p in problems)


@pytest.mark.parametrize('first, second, overlap', [
    ('events.>', 'events.graph.>', True),
    ('events.graph.>', 'events.workflow.>', False),
    ('events.*', 'events.graph', True),
    ('events.*', 'events.graph.node', False),
    ('events.>', 'events', False),
    ('*.graph.>', 'events.*.node', True),
    ('dlq.>', 'events.>', False),
    ('a.b', 'a.b', True),
    ('>', 'anything.at.all', True),
])
def test_subjects_overlap_as_nats_server_decides(first, second, overlap):
    # Overlap is symmetric: both orders must agree.
    forward, backward = first, second
    assert subjects_overlap(forward, backward) is overlap
    assert subjects_overlap(backward, forward) is overlap


# Items as users write them: aliases, strings for numbers and booleans, sub-options, mistakes.
VALIDATION_CASES = (
    ('stream', {'name': 'A', 'subjects': ['a.>'], 'max_age': '30d', 'num_replicas': '3'}),
    ('stream', {'name': 'B', 'sources': [{'name': 'A', 'filter_subject': 'a.b.>'}], 'deny_delete': 'yes'}),
    ('stream', {'name': 'C', 'placement': {'cluster': 'east', 'tags': ['ssd']}, 'state': 'absent',
                'acknowledge_data_loss': True, 'recreate': 'true'}),
    ('stream', {'name': 'D', 'republish': {'src': 'd.>', 'dest': 'r.>'}, 'max_bytes': '1GB'}),
    ('stream', {'name': 'E', 'storage': 'tape'}),
    ('stream', {'name': 'F', 'max_msgs': 'many'}),
    ('stream', {'name': 'G', 'subject': ['typo.>']}),
    ('stream', {'subjects': ['no.name']}),
    ('stream', {'name': 'H', 'republish': {'src': 'h.>'}}),
    ('consumer', {'stream_name': 'A', 'durable_name': 'C1', 'ack_wait': '30s', 'max_deliver': '5'}),
    ('consumer', {'stream': 'A', 'durable': 'C2', 'deliver_policy': 'new', 'ack_policy': 'none'}),
    ('consumer', {'stream': 'A', 'name': 'C3', 'ack_policy': 'sometimes'}),
    ('consumer', {'stream': 'A'}),
    ('kv_bucket', {'name': 'cfg', 'history': '5', 'ttl': '1h'}),
    ('kv_bucket', {'bucket': 'cfg', 'history': 'lots'}),
    ('object_store', {'bucket': 'blobs', 'ttl': '1d', 'storage': 'memory'}),
    # Plain values under the options' own names, as most layouts are written.
    ('stream', {'name': 'P', 'subjects': ['p.>'], 'storage': 'file', 'num_replicas': 1, 'max_age': '30d',
                'duplicate_window': 120, 'description': 'plain', 'deny_delete': True}),
    ('stream', {'name': 'Q', 'storage': 'memory', 'state': 'absent', 'acknowledge_data_loss': True}),
    ('stream', {'name': 'R', 'retention': 'forever'}),
    ('stream', {'name': 'S', 'num_replicas': True, 'subjects': ['s', 1]}),
    ('stream', {'name': None}),
    ('consumer', {'stream': 'A', 'name': 'P1', 'filter_subject': 'a.p.>', 'deliver_policy': 'all',
                  'ack_policy': 'explicit', 'ack_wait': '30s', 'max_deliver': 5, 'backoff': ['1s', 2]}),
    ('consumer', {'stream': 'A', 'name': 'P2', 'filter_subjects': ['a.1', 'a.2'], 'replay_policy': 'slow'}),
    ('kv_bucket', {'bucket': 'plain', 'history': 5, 'ttl': '1h', 'storage': 'file'}),
)


@pytest.mark.parametrize('kind,item', VALIDATION_CASES)
def test_an_item_is_validated_exactly_as_the_whole_argument_spec_validates_it(kind, item):
    from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import ModelError
    from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import options_validator
    from ansible_collections.cim.nats.plugins.module_utils.jetstream_reconcile import LAYOUT_KINDS, ItemValidator

    spec = dict((k, s) for _key, k, s, _conv in LAYOUT_KINDS)[kind]()
    to_config = dict((k, conv) for _key, k, _spec, conv in LAYOUT_KINDS)[kind]

    def outcome(validate):
        try:
            return 'ok', validate(dict(item))
        except ModelError as exc:
            return 'error', str(exc)

    fast = ItemValidator(spec)
    assert outcome(fast) == outcome(options_validator(spec))
    assert outcome(fast) == outcome(options_validator(spec))  # again, with the validator of these keys reused
    # A layout converts only the options an item sets: the same API config (or error) as from all of them.
    whole = options_validator(spec)
    assert outcome(lambda i: to_config(fast.given(i))) == outcome(lambda i: to_config(whole(i)))


def test_the_cycle_collector_paused_for_a_pass_runs_again_after_it_whatever_happened():
    import gc

    from ansible_collections.cim.nats.plugins.module_utils.jetstream_reconcile import cyclic_gc_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with cyclic_gc_paused():
            assert not gc.isenabled()
            raise RuntimeError('the connection was lost')
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
