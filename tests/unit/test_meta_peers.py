"""The refusals of a meta group change, decided before any request (meta_peers.plan)."""
from ansible_collections.cim.nats.plugins.module_utils.meta_peers import plan


def view(**peers):
    """peers: name='ok' | 'offline' | 'behind'."""
    return {'leader': 'n1', 'peers': dict(
        (name, {'current': state == 'ok', 'offline': state == 'offline', 'id': name.upper()})
        for name, state in peers.items())}


def stream(name, replicas):
    return {'account': 'CIM', 'stream': name, 'replicas': replicas, 'leader': 'n4', 'peers': {}}


def test_retire_two_of_five_with_r3_streams():
    to_remove, refusals = plan(view(n1='ok', n2='ok', n3='ok', n4='ok', n5='ok'), ['n1', 'n2', 'n3'], ['n4', 'n5'],
                               False, {'n4': [stream('EVENTS', 3)]})
    assert (to_remove, refusals) == (['n4', 'n5'], [])


def test_only_replica_and_too_many_replicas_are_refused():
    _removed, refusals = plan(view(n1='ok', n2='ok', n3='ok', n4='ok', n5='ok'), ['n1', 'n2', 'n3'], ['n4', 'n5'], False,
                              {'n4': [stream('SOLO', 1)], 'n5': [stream('WIDE', 5)]})
    assert any('stream CIM > SOLO has its only replica on n4' in r for r in refusals)
    assert any('stream CIM > WIDE has 5 replicas, but only 3 servers would remain' in r for r in refusals)


def test_a_majority_must_stay():
    _removed, refusals = plan(view(n1='ok', n2='ok', n3='ok', n4='ok', n5='ok', n6='ok', n7='ok'),
                              ['n1', 'n2', 'n3'], ['n4', 'n5', 'n6', 'n7'], False, {})
    assert any('fewer than a majority' in r for r in refusals)


def test_stale_peers_only_when_asked_and_only_offline_ones():
    state = view(n1='ok', n2='ok', n4='ok', n3='offline')
    assert plan(state, ['n1', 'n2', 'n4'], [], False, {}) == ([], [])
    assert plan(state, ['n1', 'n2', 'n4'], [], True, {}) == (['n3'], [])
    # A running server that is in neither list is never removed: it is an error.
    _removed, refusals = plan(view(n1='ok', n2='ok', n4='ok', n9='ok'), ['n1', 'n2', 'n4'], [], True, {})
    assert refusals and 'n9 is running in the JetStream meta group' in refusals[0]


def test_nothing_is_removed_while_a_member_lags():
    _removed, refusals = plan(view(n1='ok', n2='behind', n4='ok', n3='offline'), ['n1', 'n2', 'n4'], [], True, {})
    assert any('not all current in the meta group (n2)' in r for r in refusals)


def test_already_removed_servers_are_skipped():
    assert plan(view(n1='ok', n2='ok', n3='ok'), ['n1', 'n2', 'n3'], ['n4', 'n5'], False, {}) == ([], [])
