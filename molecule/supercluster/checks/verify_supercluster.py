#!/usr/bin/env python3
"""The supercluster's claims, proven from the controller against the running servers: messages
cross the gateways and the leaf connection; a stream placed by tag lands on the tagged server;
R3 replicas spread over the zones (unique_tag); a mirror in the edge's JetStream domain follows a
stream of the hub's; a new certificate reaches a node by reload, its gateways stay up; a rolling
restart of the three-node cluster under load loses no acknowledged message.

usage: verify_supercluster.py SETTINGS.json (nodes = the east cluster, west, edge: name -> address)
"""
import asyncio
import json
import os
import sys

import nats

# Molecule runs this file as a script: the cluster scenario's check library and the collection's
# one PLAY RECAP reader (tests/support) are found through these paths, so the imports come after
# them (hence E402).
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "cluster", "checks"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "support"))
from clusterlib import Checks, Settings, wait_until  # noqa: E402
from recap import parse_recap  # noqa: E402
from reliability import Deployment, Publisher, create_stream, server_state, stored_numbers  # noqa: E402

HUB_STREAM = "HUB_EVENTS"
MESSAGES = 100


def other(s, group):
    """A Settings view of another group of servers (west, edge) with the same CA and users."""
    view = Settings.__new__(Settings)
    view.__dict__.update(s.__dict__)
    view.nodes = s.data[group]
    view.names = list(view.nodes)
    return view


async def api(nc, subject, payload=None):
    msg = await nc.request(subject, json.dumps(payload).encode() if payload is not None else b"", timeout=5)
    answer = json.loads(msg.data)
    assert "error" not in answer, f"{subject}: {answer['error']}"
    return answer


async def main(path):
    s = Settings(path)
    west, edge = other(s, "west"), other(s, "edge")
    d = Deployment(s)
    checks = Checks("supercluster")
    east_1 = s.names[0]

    async def gateways_connected():
        for view, remote in ((s, "west"), (west, "east")):
            for name in view.names:
                outbound = view.monitor(name, "/gatewayz").get("outbound_gateways") or {}
                assert remote in outbound, f"{name} has no gateway to {remote}: {sorted(outbound)}"
        leafs = edge.monitor(edge.names[0], "/leafz")
        assert leafs.get("leafnodes", 0) >= 1, f"the edge has no leaf connection: {leafs}"
        return f"every east node has a gateway to west and back (mutual TLS); {edge.names[0]} has {leafs['leafnodes']} leaf connection"

    async def messages_cross():
        subscribers = [await s.connect("cim_admin", names=[s.names[1]]), await edge.connect("cim_admin")]
        publisher = await west.connect("cim_admin")
        try:
            subs = [await nc.subscribe("sc.crossing") for nc in subscribers]
            for nc in subscribers:
                await nc.flush()

            async def delivered():
                await publisher.publish("sc.crossing", b"from west")
                await publisher.flush()
                got = []
                for sub in subs:
                    try:
                        got.append((await sub.next_msg(timeout=1)).data)
                    except nats.errors.TimeoutError:
                        return None
                return got
            got = await wait_until(delivered, timeout=30, what="a message from west on east and on the edge")
            assert got == [b"from west", b"from west"], got
            return f"published on {west.names[0]}, received on {s.names[1]} (gateway) and {edge.names[0]} (leaf)"
        finally:
            for nc in subscribers + [publisher]:
                await nc.close()

    async def browsers_and_devices_reach_the_edge():
        address = edge.nodes[edge.names[0]]
        # A browser's way in: NATS over websocket with TLS, here nats-py's websocket transport.
        ws = await nats.connect(f"wss://{address}:8443", tls=s.tls, user="cim_admin",
                                password=s.users["cim_admin"], allow_reconnect=False, connect_timeout=5)
        publisher = await west.connect("cim_admin")
        try:
            sub = await ws.subscribe("sc.browser")
            await ws.flush()

            async def delivered():
                await publisher.publish("sc.browser", b"to the browser")
                await publisher.flush()
                try:
                    return (await sub.next_msg(timeout=1)).data
                except nats.errors.TimeoutError:
                    return None
            await wait_until(delivered, timeout=30, what="a message from west on the edge's websocket")
        finally:
            await ws.close()
            await publisher.close()
        # A device's way in: MQTT 3.1.1 over TLS; CONNECT with the user's password, CONNACK 0.
        reader, writer = await asyncio.open_connection(address, 1883, ssl=s.tls, server_hostname=address)
        try:
            def field(text):
                data = text.encode()
                return len(data).to_bytes(2, "big") + data
            body = field("MQTT") + bytes([4, 0xC2]) + (30).to_bytes(2, "big") + field("verify-1") \
                + field("cim_admin") + field(s.users["cim_admin"])
            writer.write(bytes([0x10, len(body)]) + body)
            await writer.drain()
            connack = await asyncio.wait_for(reader.readexactly(4), timeout=10)
        finally:
            writer.close()
        assert connack == bytes([0x20, 2, 0, 0]), f"MQTT CONNACK {connack.hex()} (want 20020000: accepted)"
        return f"a websocket client on {edge.names[0]} gets a message from west; an MQTT client is accepted (TLS)"

    async def placed_by_tag():
        nc = await s.connect("cim_admin")
        try:
            # Declared by verify.yml with cim.nats.jetstream_stream (placement tags [az:2]).
            info = await api(nc, "$JS.hub.API.STREAM.INFO.TAGGED")
            leader = info["cluster"]["leader"]
            assert leader == s.names[1], f"TAGGED (placement tags az:2) is on {leader}, not {s.names[1]}"
            return f"R1 stream declared with placement tags [az:2] placed on {leader}"
        finally:
            await nc.close()

    async def replicas_spread_and_mirrored():
        nc = await s.connect("cim_admin")
        try:
            # Declared by verify.yml (R3, placement cluster east).
            info = await wait_until(
                lambda: api(nc, f"$JS.hub.API.STREAM.INFO.{HUB_STREAM}"), timeout=30, what=f"{HUB_STREAM} info")
            peers = {info["cluster"]["leader"]} | {r["name"] for r in info["cluster"].get("replicas", [])}
            tags = {name: s.monitor(name, "/varz").get("tags") for name in peers}
            assert len(peers) == 3 and len({tuple(t or []) for t in tags.values()}) == 3, tags
            js = nc.jetstream(domain="hub")
            for number in range(MESSAGES):
                await js.publish("hub.event", b"%d" % number)
        finally:
            await nc.close()
        leaf = await edge.connect("cim_admin")
        try:
            # Declared by verify.yml in the edge's domain (mirror of the hub's stream, domain: hub).
            async def mirrored():
                state = (await api(leaf, "$JS.edge.API.STREAM.INFO.EDGE_MIRROR"))["state"]
                return state if state["messages"] == MESSAGES else None
            await wait_until(mirrored, timeout=60, what=f"EDGE_MIRROR at {MESSAGES} messages")
        finally:
            await leaf.close()
        return (f"{HUB_STREAM} R3 on {sorted(peers)} with tags {sorted(map(str, tags.values()))}; "
                f"EDGE_MIRROR in domain edge holds all {MESSAGES} of its messages")

    async def new_certificate_by_reload():
        before = server_state(s)
        # A node certificate removed on the controller is issued anew by the development CA.
        for suffix in (".crt", ".issued.json"):
            os.remove(os.path.join(s.data["pki"], east_1 + suffix))
        rc, out, seconds = await d.playbook_run({}, "new-certificate")
        assert rc == 0, f"the run failed (exit {rc}):\n{out[-3000:]}"
        after = server_state(s)
        assert after[east_1][0] == before[east_1][0], f"{east_1} restarted: {before[east_1]} -> {after[east_1]}"
        assert after[east_1][1] != before[east_1][1], f"{east_1} did not reload: {after[east_1]}"
        untouched = [n for n in s.names[1:] if after[n] != before[n]]
        assert not untouched, f"other nodes reloaded or restarted: {untouched}"
        changed = {host: counts["changed"] for host, counts in parse_recap(out).items() if counts["changed"]}
        await gateways_connected()
        return f"{east_1} reloaded (no restart) in a {seconds:.0f} s run, gateways up again; changed: {changed}"

    async def roll_east_under_load():
        await create_stream(s)
        before = server_state(s)
        publisher = Publisher(s)
        task = asyncio.create_task(publisher.run())
        await wait_until(lambda: len(publisher.acked) >= 50, timeout=20, what="50 acknowledged publishes")
        rc, out, seconds = await d.playbook_run({"nats_cluster_restart": True}, "restart-east", limit="nats_east")
        await asyncio.sleep(1)
        publisher.stop.set()
        await task
        assert rc == 0, f"the restart run failed (exit {rc}):\n{out[-3000:]}"
        after = server_state(s)
        assert all(after[n][0] != before[n][0] for n in s.names), "not every east node restarted"
        numbers, info = await stored_numbers(s)
        lost = sorted(set(publisher.acked) - set(numbers))
        print(f"     acknowledged {len(publisher.acked)}, stored {info.state.messages}, lost {len(lost)}; "
              f"longest publish stall {publisher.longest_stall:.2f} s", flush=True)
        assert not lost, f"{len(lost)} acknowledged messages lost, e.g. {lost[:10]}"
        assert publisher.longest_stall < float(s.data.get("max_stall_seconds", 5))
        await gateways_connected()
        return (f"3 nodes restarted one at a time in {seconds:.0f} s; {len(publisher.acked)} acknowledged, "
                f"0 lost; longest stall {publisher.longest_stall:.2f} s; gateways and leaf up again")

    await checks.run("gateways and leaf connection up", gateways_connected)
    await checks.run("a message crosses the gateway and the leaf connection", messages_cross)
    await checks.run("browsers (websocket) and devices (MQTT) reach the edge", browsers_and_devices_reach_the_edge)
    await checks.run("a stream placed by tag lands on the tagged server", placed_by_tag)
    await checks.run("R3 replicas spread over the zones; a mirror in the edge domain follows the hub",
                     replicas_spread_and_mirrored)
    await checks.run("a new node certificate is applied by reload, the gateways stay up", new_certificate_by_reload)
    await checks.run("a rolling restart of east under load loses no acknowledged message", roll_east_under_load)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
