#!/usr/bin/env python3
"""The example inventory's users on the example's CIM event store: cim_publisher publishes to
events.> and gets its acknowledgements; cim_consumer pulls from the seed's explicit-ack consumers
and acks, and is refused a publish to events.> and any stream management.

usage: consume.py SETTINGS.json   (settings as in molecule/cluster/checks)
"""
import asyncio
import os
import sys
import time

import nats.errors
import nats.js.errors

# The cluster scenario's check library; the imports below need this path first (hence E402).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cluster", "checks"))
from clusterlib import Checks, Settings, wait_until  # noqa: E402

# Where the seed puts its consumers: on the whole event store.
CONSUMERS = [("CIM_EVENTS", "GRAPH_PROJECTION", "events.graph.node.created"),
             ("CIM_EVENTS", "WORKFLOW_PROCESSOR", "events.workflow.step.started")]


async def main(settings_path):
    s = Settings(settings_path)
    checks = Checks("the example's publisher and consumer")
    marker = f"{time.time()}"

    async def publisher_publishes():
        nc = await s.connect("cim_publisher")
        try:
            js = nc.jetstream()
            acks = [await js.publish(subject, f"{marker} {subject}".encode(), timeout=5) for _, _, subject in CONSUMERS]
            assert all(ack.stream == "CIM_EVENTS" for ack in acks), acks
            return ", ".join(f"{subject} stored as CIM_EVENTS seq {ack.seq}" for (_, _, subject), ack in zip(CONSUMERS, acks))
        finally:
            await nc.close()

    async def consumer_pulls_and_acks():
        nc = await s.connect("cim_consumer")
        done = []
        try:
            js = nc.jetstream()
            for stream, consumer, subject in CONSUMERS:
                sub = await js.pull_subscribe_bind(consumer, stream)

                async def mine():
                    for msg in await sub.fetch(batch=100, timeout=2):
                        await msg.ack_sync(timeout=5)
                        if msg.data.decode() == f"{marker} {subject}":
                            return msg
                    return None

                await wait_until(mine, timeout=30, what=f"{subject} through {stream}/{consumer}")
                info = await js.consumer_info(stream, consumer)
                assert info.num_ack_pending == 0, f"{consumer}: {info.num_ack_pending} unacknowledged"
                done.append(f"{stream}/{consumer} fetched and acked (ack floor {info.ack_floor.stream_seq})")
            return "; ".join(done)
        finally:
            await nc.close()

    async def consumer_may_not_publish_events_or_manage():
        errors = []
        nc = await s.connect("cim_consumer", errors=errors)
        try:
            await nc.publish("events.graph.node.created", b"not allowed")
            await nc.flush(timeout=5)
            await wait_until(lambda: any("permissions violation" in e.lower() for e in errors), timeout=5,
                             what="a permissions violation for the publish")
            js = nc.jetstream(timeout=2)
            try:
                await js.delete_stream("CIM_EVENTS")
            except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError) as err:
                refused = type(err).__name__
            else:
                raise AssertionError("cim_consumer deleted CIM_EVENTS")
            return f"publish to events.> refused ({errors[0]}); stream delete refused ({refused})"
        finally:
            await nc.close()

    await checks.run("cim_publisher publishes to events.> and is acknowledged", publisher_publishes)
    await checks.run("cim_consumer pulls and acks from the seed's consumers", consumer_pulls_and_acks)
    await checks.run("cim_consumer may not publish events nor manage streams", consumer_may_not_publish_events_or_manage)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
