"""JetStream permissions rendered by cim.nats.nats_jetstream_permissions, against a real
nats-server: the example inventory's accounts (inventories/example/group_vars/nats/cluster.yml)
rendered with the filter and written by the role's nats_conf filter, and the example's layout
(group_vars/all/jetstream.yml) created by its admin user. The consumer pulls, acks, naks and
terms on the seed's explicit-ack pull consumers and may do nothing else; the publisher gets its
PubAck; a user who manages one stream manages that stream only; the seed's consumer lines are
refused the pull, as the preflight warning says."""
import asyncio
import copy
import os

import nats
import pytest
import yaml
from nats.js.api import StreamConfig

from ansible_collections.cim.nats.plugins.filter.nats_permissions import (
    nats_jetstream_permission_warnings, nats_jetstream_permissions)
from ansible_collections.cim.nats.plugins.filter.nats_server import nats_conf

from conftest import ROOT, run_module, stream_info
from nats_harness import start_nats_server

EXAMPLE = os.path.join(ROOT, 'inventories', 'example', 'group_vars')
SEED_CONSUMER_PERMISSIONS = {'publish': ['_INBOX.>'], 'subscribe': ['events.>', '$JS.>']}
MANAGED = 'ORDERS'


def _load(*parts):
    with open(os.path.join(EXAMPLE, *parts)) as handle:
        return yaml.safe_load(handle)


def password(user):
    return 'pw-%s-Secret' % user


def example_accounts():
    """The example's accounts with test passwords, plus the seed's consumer as written in the
    seed guide and a user who manages one stream."""
    accounts = copy.deepcopy(_load('nats', 'cluster.yml')['nats_cluster_accounts'])
    for account in accounts.values():
        for user in account['users']:
            user['password'] = password(user['user'])
    accounts['CIM']['users'] += [
        {'user': 'seed_consumer', 'password': password('seed_consumer'), 'permissions': SEED_CONSUMER_PERMISSIONS},
        {'user': 'orders_admin', 'password': password('orders_admin'), 'jetstream': {'manage': [MANAGED]}},
    ]
    return accounts


@pytest.fixture(scope='module')
def cim(tmp_path_factory):
    """A server with the example's accounts and the example's streams and consumers."""
    config = {'accounts': nats_jetstream_permissions(example_accounts()), 'system_account': 'SYS'}
    server = start_nats_server(tmp_path_factory.mktemp('nats-permissions'), nats_conf(config))
    # conftest's helpers (stream_info) look as the admin, who may see everything.
    server.direct_options = {'user': 'cim_admin', 'password': password('cim_admin')}
    layout = _load('all', 'jetstream.yml')
    for stream in layout['jetstream_streams']:
        stream['num_replicas'] = 1
    result = run_module('jetstream_layout', {
        'server': server.url, 'user': 'cim_admin', 'password': password('cim_admin'),
        'streams': layout['jetstream_streams'], 'consumers': layout['jetstream_consumers']})
    assert result.get('failed') is not True, result.get('msg')
    yield server
    server.stop()


async def connect(server, user, errors=None):
    async def on_error(err):
        if errors is not None:
            errors.append(str(err))
    return await nats.connect(server.url, user=user, password=password(user), error_cb=on_error,
                              allow_reconnect=False, max_reconnect_attempts=1)


async def publish(server, subject, data):
    nc = await connect(server, 'cim_publisher')
    try:
        return await nc.jetstream().publish(subject, data)
    finally:
        await nc.close()


async def wait_for_error(errors, words):
    for _attempt in range(40):
        if any(words in error.lower() for error in errors):
            return
        await asyncio.sleep(0.05)
    raise AssertionError('no error with %r: %r' % (words, errors))


def test_the_shipped_example_needs_no_warning_but_the_seeds_lines_do():
    warnings = nats_jetstream_permission_warnings(nats_jetstream_permissions(example_accounts()))
    assert len(warnings) == 1 and warnings[0].startswith('account CIM, user seed_consumer subscribes to $JS.>')


def test_publisher_publishes_events_and_gets_the_puback(cim):
    before = stream_info(cim, 'CIM_EVENTS')['state']['last_seq']
    ack = asyncio.run(publish(cim, 'events.graph.node.created', b'node 1'))
    assert ack.stream == 'CIM_EVENTS' and ack.seq == before + 1


def test_consumer_fetches_and_acks_from_graph_projection(cim):
    asyncio.run(publish(cim, 'events.graph.edge.created', b'edge for the projection'))

    async def consume():
        errors = []
        nc = await connect(cim, 'cim_consumer', errors)
        try:
            js = nc.jetstream()
            # pull_subscribe asks the consumer's info first ($JS.API.CONSUMER.INFO...).
            sub = await js.pull_subscribe('events.graph.>', durable='GRAPH_PROJECTION', stream='CIM_EVENTS')
            seen = None
            while seen is None:  # earlier tests' events come first
                for msg in await sub.fetch(10, timeout=10):
                    await msg.ack_sync()  # acked, and the server confirmed it
                    if msg.data == b'edge for the projection':
                        seen = msg
            info = await js.consumer_info('CIM_EVENTS', 'GRAPH_PROJECTION')
            return seen, info, errors
        finally:
            await nc.close()

    msg, info, errors = asyncio.run(consume())
    assert msg.subject == 'events.graph.edge.created'
    assert info.num_ack_pending == 0 and info.num_pending == 0
    assert info.ack_floor.stream_seq == msg.metadata.sequence.stream
    assert errors == []


def test_consumer_naks_and_terms_on_workflow_processor(cim):
    asyncio.run(publish(cim, 'events.workflow.step.ready', b'step 1'))

    async def consume():
        nc = await connect(cim, 'cim_consumer')
        try:
            js = nc.jetstream()
            sub = await js.pull_subscribe_bind('WORKFLOW_PROCESSOR', stream='CIM_EVENTS')
            first = (await sub.fetch(1, timeout=10))[0]
            await first.nak()
            again = (await sub.fetch(1, timeout=10))[0]
            await again.term()
            await nc.flush()
            info = await js.consumer_info('CIM_EVENTS', 'WORKFLOW_PROCESSOR')
            try:
                late = await sub.fetch(1, timeout=1)
            except nats.errors.TimeoutError:
                late = []
            return first, again, info, late
        finally:
            await nc.close()

    first, again, info, late = asyncio.run(consume())
    assert first.data == again.data == b'step 1'
    assert again.metadata.num_delivered == 2  # the nak brought it back
    assert info.num_ack_pending == 0 and info.num_redelivered == 0  # the term settled it
    assert late == []


def test_consumer_may_not_publish_events_nor_delete_the_stream(cim):
    before = stream_info(cim, 'CIM_EVENTS')['state']['messages']

    async def misbehave():
        errors = []
        nc = await connect(cim, 'cim_consumer', errors)
        try:
            await nc.publish('events.x', b'not allowed')
            await nc.flush()
            await wait_for_error(errors, 'permissions violation for publish to "events.x"')
            with pytest.raises(nats.errors.TimeoutError):
                await nc.jetstream(timeout=1).delete_stream('GRAPH_EVENTS')
            await wait_for_error(errors, 'permissions violation for publish to "$js.api.stream.delete.graph_events"')
            return errors
        finally:
            await nc.close()

    asyncio.run(misbehave())
    assert stream_info(cim, 'GRAPH_EVENTS') is not None
    assert stream_info(cim, 'CIM_EVENTS')['state']['messages'] == before


def test_the_seeds_consumer_lines_are_refused_the_fetch(cim):
    async def fetch():
        errors = []
        nc = await connect(cim, 'seed_consumer', errors)
        try:
            sub = await nc.jetstream().pull_subscribe_bind('GRAPH_PROJECTION', stream='CIM_EVENTS')
            with pytest.raises(nats.errors.TimeoutError):
                await sub.fetch(1, timeout=1)
            await wait_for_error(errors, 'permissions violation for publish to '
                                         '"$js.api.consumer.msg.next.cim_events.graph_projection"')
        finally:
            await nc.close()

    asyncio.run(fetch())


def test_a_stream_manager_manages_its_stream_and_no_other(cim):
    async def manage():
        errors = []
        nc = await connect(cim, 'orders_admin', errors)
        try:
            js = nc.jetstream(timeout=2)
            created = await js.add_stream(StreamConfig(name=MANAGED, subjects=['orders.>'], max_msgs=100))
            updated = await js.update_stream(StreamConfig(name=MANAGED, subjects=['orders.>'], max_msgs=10))
            await js.add_consumer(MANAGED, durable_name='BILLING', ack_policy='explicit')
            consumer = await js.consumer_info(MANAGED, 'BILLING')
            await js.delete_consumer(MANAGED, 'BILLING')
            with pytest.raises(nats.errors.TimeoutError):
                await js.add_stream(StreamConfig(name='OTHER', subjects=['other.>']))
            await wait_for_error(errors, 'permissions violation for publish to "$js.api.stream.create.other"')
            with pytest.raises(nats.errors.TimeoutError):
                await js.delete_stream('CIM_EVENTS')
            return created, updated, consumer
        finally:
            await nc.close()

    created, updated, consumer = asyncio.run(manage())
    assert created.config.max_msgs == 100 and updated.config.max_msgs == 10
    assert consumer.name == 'BILLING'
    assert stream_info(cim, 'OTHER') is None and stream_info(cim, 'CIM_EVENTS') is not None

    # The collection's own stream module works with these permissions too.
    args = {'server': cim.url, 'user': 'orders_admin', 'password': password('orders_admin'),
            'name': MANAGED, 'subjects': ['orders.>'], 'max_msgs': 10, 'max_age': '1h'}
    changed = run_module('jetstream_stream', args)
    assert changed.get('failed') is not True and changed['changed'] is True, changed.get('msg')
    assert stream_info(cim, MANAGED)['config']['max_age'] == 3600 * 10 ** 9
    assert run_module('jetstream_stream', args)['changed'] is False
    consumer_args = {'server': cim.url, 'user': 'orders_admin', 'password': password('orders_admin'),
                     'stream': MANAGED, 'name': 'SHIPPING', 'ack_policy': 'explicit'}
    added = run_module('jetstream_consumer', consumer_args)
    assert added.get('failed') is not True and added['changed'] is True, added.get('msg')
    assert run_module('jetstream_consumer', consumer_args)['changed'] is False
    deleted = run_module('jetstream_stream', dict(args, state='absent'))
    assert deleted['changed'] is True and stream_info(cim, MANAGED) is None
