"""Release to JetStream API level, and what /jsz says objects need (the real binaries confirm the
levels in tests/integration/test_jetstream_levels_server.py)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cim.nats.plugins.filter.nats_jetstream_levels import nats_api_level, nats_required_api_levels


@pytest.mark.parametrize('version, level', [
    ('2.9.10', 0), ('2.10.26', 0), ('2.11.0', 1), ('2.12.4', 2), ('2.12.5', 3), ('v2.14.6', 4),
    ('2.15.1', 5), ('2.15.0-RC.1', 5), ('3.0.0', 5)])
def test_release_levels(version, level):
    assert nats_api_level(version) == level


def test_not_a_release():
    with pytest.raises(AnsibleFilterError, match='not a nats-server release'):
        nats_api_level('latest')


def test_required_levels_are_read_once_per_object_highest_first():
    node = {'account_details': [{'name': 'CIM', 'stream_detail': [
        {'name': 'EVENTS', 'config': {'metadata': {'_nats.req.level': '0'}},
         'consumer_detail': [{'name': 'PINNED', 'config': {'metadata': {'_nats.req.level': '1'}}}]},
        {'name': 'BATCHED', 'config': {'metadata': {'_nats.req.level': '4', '_nats.ver': '2.15.1'}}}]}]}
    assert nats_required_api_levels([node, node, None, {}]) == [
        {'account': 'CIM', 'stream': 'BATCHED', 'consumer': '', 'level': 4},
        {'account': 'CIM', 'stream': 'EVENTS', 'consumer': 'PINNED', 'level': 1}]
