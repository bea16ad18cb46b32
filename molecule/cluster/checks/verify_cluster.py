#!/usr/bin/env python3
"""The cluster as a user sees it, checked from the controller with nats-py and HTTPS:
routes, the JetStream meta group, an R3 stream written through one node and read through
another, TLS and password enforcement, the seed guide's permissions, monitoring over HTTPS only.

usage: verify_cluster.py SETTINGS.json   (see clusterlib.py for the settings)
"""
import asyncio
import json
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request

import nats.errors
from nats.js.api import StreamConfig

from clusterlib import Checks, Settings, wait_until

STREAM = "VERIFY_EVENTS"


async def main(settings_path):
    s = Settings(settings_path)
    checks = Checks(f"cluster checks on {', '.join(f'{n}={a}' for n, a in s.nodes.items())}")
    first, second = s.names[0], s.names[1]

    async def routes():
        seen = {}
        for name in s.names:
            routez = s.monitor(name, "/routez")
            seen[name] = sorted({r["remote_name"] for r in routez.get("routes") or []})
            expected = sorted(set(s.names) - {name})
            assert seen[name] == expected, f"{name} has routes to {seen[name]}, expected {expected}"
        return "; ".join(f"{n} -> {', '.join(p)}" for n, p in seen.items())

    async def meta_group():
        leader, meta = await wait_until(lambda: (lambda lm: lm if lm[0] else None)(s.meta_leader()),
                                        timeout=30, what="a meta leader")
        replicas = meta.get("replicas") or []
        current = sorted(r["name"] for r in replicas if r.get("current") and not r.get("offline"))
        assert meta.get("cluster_size") == len(s.names), f"cluster_size {meta.get('cluster_size')}"
        assert current == sorted(set(s.names) - {leader}), f"leader {leader} reports current peers {current}"
        return f"leader {leader}, {len(current) + 1} of {len(s.names)} peers current"

    async def r3_stream_across_nodes():
        # Written through the first node only, read back through the second node only.
        nc1 = await s.connect("cim_admin", names=[first])
        nc2 = await s.connect("cim_admin", names=[second])
        try:
            js1, js2 = nc1.jetstream(), nc2.jetstream()
            try:
                await js1.delete_stream(STREAM)
            except nats.js.errors.NotFoundError:
                pass
            await js1.add_stream(StreamConfig(name=STREAM, subjects=["events.verify.>"], num_replicas=3))
            payload = f"written through {first} at {time.time()}".encode()
            ack = await js1.publish("events.verify.one", payload, timeout=5)
            assert ack.stream == STREAM, ack
            msg = await js2.get_msg(STREAM, ack.seq)
            assert msg.data == payload, f"read {msg.data!r} through {second}"
            info = await wait_until(lambda: _all_current(js2), timeout=20, what="3 current stream replicas")
            assert nc1.connected_url.hostname == s.nodes[first] and nc2.connected_url.hostname == s.nodes[second]
            return (f"seq {ack.seq} written via {first}, read via {second}; stream leader "
                    f"{info.cluster.leader}, replicas {', '.join(r.name for r in info.cluster.replicas)} current")
        finally:
            await nc1.close()
            await nc2.close()

    async def _all_current(js):
        info = await js.stream_info(STREAM)
        ok = (info.config.num_replicas == 3 and info.cluster.leader
              and len(info.cluster.replicas or []) == 2
              and all(r.current and not r.offline for r in info.cluster.replicas))
        return info if ok else None

    async def plaintext_refused():
        host = s.nodes[first]
        with socket.create_connection((host, s.client_port), timeout=3) as sock:
            info_line = sock.recv(4096).decode()
            assert info_line.startswith("INFO "), info_line[:80]
            info = json.loads(info_line[5:])
            assert info.get("tls_required") is True, "server does not require TLS"
            sock.sendall(b'CONNECT {"verbose":false,"user":"cim_admin","pass":"%s"}\r\nPING\r\n'
                         % s.users["cim_admin"].encode())
            reply = b""
            try:
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        assert b"PONG" not in reply, f"a plaintext client got an answer: {reply[:200]!r}"
        return f"INFO says tls_required; plaintext CONNECT answered with {reply.strip()[:60]!r} and closed"

    async def wrong_password_refused():
        try:
            nc = await s.connect("cim_admin", password="not-the-password", names=[first])
        except (nats.errors.Error, OSError) as err:
            text = str(err) or type(err).__name__
            assert "authorization" in text.lower(), f"refused, but not for authorization: {text}"
            return f"refused: {text}"
        await nc.close()
        raise AssertionError("a client with a wrong password connected")

    async def permissions():
        pub_errors, con_errors = [], []
        admin = await s.connect("cim_admin", names=[first])
        pub = await s.connect("cim_publisher", names=[second], errors=pub_errors)
        con = await s.connect("cim_consumer", names=[s.names[-1]], errors=con_errors)
        try:
            # Allowed: the consumer subscribes to events.>, the publisher publishes to it.
            con_sub = await con.subscribe("events.perm.>")
            await con.flush()
            await asyncio.sleep(0.3)  # let the interest reach every node over the routes
            await pub.publish("events.perm.allowed", b"from publisher")
            got = await con_sub.next_msg(timeout=3)
            assert got.data == b"from publisher"
            # Refused: the publisher subscribing to events.>, the consumer publishing to it.
            admin_sub = await admin.subscribe("events.perm.>")
            await admin.flush()
            await asyncio.sleep(0.3)
            pub_sub = await pub.subscribe("events.>")
            await pub.flush()
            await con.publish("events.perm.forbidden", b"from consumer")
            await con.flush()
            await asyncio.sleep(0.5)
            assert any("permissions violation for subscription" in e.lower() for e in pub_errors), pub_errors
            assert any("permissions violation for publish" in e.lower() for e in con_errors), con_errors
            try:
                leaked = await admin_sub.next_msg(timeout=0.5)
                raise AssertionError(f"the consumer's publish arrived: {leaked.data!r}")
            except nats.errors.TimeoutError:
                pass
            try:
                leaked = await pub_sub.next_msg(timeout=0.2)
                raise AssertionError(f"the publisher received on events.>: {leaked.data!r}")
            except nats.errors.TimeoutError:
                pass
            return "publisher->consumer delivered; " + "; ".join(
                e.split(": ", 1)[-1] for e in (pub_errors[:1] + con_errors[:1]))
        finally:
            for nc in (admin, pub, con):
                await nc.close()

    async def monitoring_https_only():
        for name in s.names:
            varz = s.monitor(name, "/varz")
            assert varz["server_name"] == name, varz["server_name"]
            try:
                with urllib.request.urlopen(s.monitor_url(name, "/varz", scheme="http"), timeout=3) as resp:
                    body = resp.read()
                raise AssertionError(f"{name} answered plain HTTP: {resp.status} {body[:80]!r}")
            except urllib.error.HTTPError as err:
                assert err.code == 400, f"plain HTTP got {err.code}"
            except (urllib.error.URLError, ConnectionError):
                pass
            try:
                urllib.request.urlopen(s.monitor_url(name, "/varz"), context=ssl.create_default_context(),
                                       timeout=3)
                raise AssertionError(f"{name}'s monitoring certificate verified without our CA")
            except urllib.error.URLError as err:
                assert isinstance(err.reason, ssl.SSLCertVerificationError), err
        return "https /varz verified with the CA on every node; plain http refused (400)"

    await checks.run("every node has routes to the other two", routes)
    await checks.run("the meta leader is elected and reports every peer current", meta_group)
    await checks.run("an R3 stream written through one node is read through another", r3_stream_across_nodes)
    await checks.run("a plaintext client is refused", plaintext_refused)
    await checks.run("a wrong password is refused", wrong_password_refused)
    await checks.run("the seed guide's permissions hold", permissions)
    await checks.run("monitoring answers over HTTPS only", monitoring_https_only)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
