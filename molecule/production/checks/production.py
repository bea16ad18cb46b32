#!/usr/bin/env python3
"""The production path's claims, proven against the running cluster:

1. A node key that does not belong to its certificate stops the run on the controller: no host
   changes, the TLS files on every node stay as they were, every server keeps running.
2. A two-play playbook on the same hosts applies both plays' reloadable changes, by reload (no
   server restarts), while a publisher on an R3 stream loses no acknowledged message.
3. Day 2, each with the publisher running and nothing acknowledged lost, the longest stall printed:
   a rollback to the previous real release and the upgrade back roll node by node behind the
   health gates (/varz shows the release on every node); new node certificates from the same CA
   are applied by reload (no restart, the served certificate changes); two hosts added to the
   group join by a run, the old nodes learn the new routes by reload, and the meta group reports
   five peers current; a new CA arrives in three stages (both CAs trusted, new node certificates,
   the new CA alone), each a reload, with no restart and the publisher connected throughout.

usage: production.py SETTINGS.json TWO_PLAYS.yml   (settings as in molecule/cluster/checks)
"""
import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys

from cryptography import x509
from nats.js.api import StreamConfig

# The cluster scenario's check library; the imports below need this path first (hence E402).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cluster", "checks"))
from clusterlib import Checks, Settings, wait_until  # noqa: E402
from reliability import (  # noqa: E402
    STREAM, Deployment, Publisher, create_stream, roll_order, server_state, stored_numbers)
# The collection's one PLAY RECAP reader (tests/support).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "support"))
from recap import parse_recap  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
MAKE_SITE_PKI = os.path.join(ROOT, "tests", "support", "make_site_pki.sh")


def releases():
    """The releases the tests run against, oldest first (tools/server_releases.txt)."""
    with open(os.path.join(ROOT, "tools", "server_releases.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def served_serial(s, name):
    """Serial number of the certificate the node's monitoring port presents right now."""
    with socket.create_connection((s.nodes[name], s.monitor_port), timeout=3) as sock:
        with s.tls.wrap_socket(sock, server_hostname=s.nodes[name]) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


async def under_load(s, run):
    """Run a coroutine while the publisher publishes; return (its result, publisher, lost numbers)."""
    publisher = Publisher(s)
    task = asyncio.create_task(publisher.run())
    await asyncio.sleep(2)
    try:
        result = await run()
    finally:
        await asyncio.sleep(2)
        # What happened to the connection during the change (closing it at the end is no event).
        publisher.events_during = list(publisher.events)
        publisher.stop.set()
        await task
    # Right after a topology change the JetStream API can be unavailable for a moment (an election):
    # the claim is that nothing acknowledged is lost, so read the stream once it answers again.
    numbers, _ = await wait_until(lambda: stored_numbers(s), timeout=30, what=f"{STREAM} readable")
    lost = sorted(set(publisher.acked) - set(numbers))
    assert not lost, f"{len(lost)} acknowledged messages lost, first {lost[:10]}"
    return result, publisher


def load_figures(publisher):
    return (f"{len(publisher.acked)} acknowledged, 0 lost, {publisher.retries} retries, "
            f"longest publish stall {publisher.longest_stall:.2f} s")

TLS_FILES = "/etc/nats/tls/server-cert.pem /etc/nats/tls/server-key.pem /etc/nats/tls/ca.pem"


def tls_checksums(s):
    """{node: sha256sum output of its deployed TLS files}, read with become (the files are root's)."""
    cmd = ["ansible", "nats", "-i", s.data["inventory"], "--become", "-m", "ansible.builtin.command",
           "-a", f"sha256sum {TLS_FILES}"]
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout[-800:] + result.stderr[-800:]
    hosts = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]
    return {name: hosts[name]["stdout"] for name in s.names}


async def main(settings_path, two_plays):
    s = Settings(settings_path)
    d = Deployment(s)
    # Playbook logs where the test run keeps its artifacts, so a failed step can be read afterwards.
    d.work_dir = os.path.join(ROOT, ".artifacts", "production")
    os.makedirs(d.work_dir, exist_ok=True)
    checks = Checks("production path")
    first, second = s.names[0], s.names[1]

    async def bad_key_pair_replaces_nothing():
        before, files_before = server_state(s), tls_checksums(s)
        # The first node is given the second node's key: a pair that does not match.
        wrong_key = {"nats_cluster_tls_key_src":
                     "{{ inventory_dir }}/pki/{{ groups['nats'][1] if inventory_hostname == groups['nats'][0]"
                     " else inventory_hostname }}.key"}
        rc, out, seconds = await d.playbook_run(wrong_key, "wrong-key")
        flat = re.sub(r"\s+", " ", out)
        assert rc != 0, "the playbook ran with a key that does not belong to the certificate"
        assert f"{first}: nats_cluster_tls_key_src" in flat and "does not belong to the certificate" in flat, out[-3000:]
        assert f"pki/{second}.key" in flat, "the message does not name the file"
        changed = {h: counts["changed"] for h, counts in parse_recap(out).items()}
        assert not any(changed.values()), f"hosts changed before the check failed: {changed}"
        assert tls_checksums(s) == files_before, "TLS files on a node were replaced"
        assert server_state(s) == before, "a server restarted or reloaded"
        return f"stopped in {seconds:.0f} s naming {first}, the variable and the file; changed=0, files and servers untouched"

    async def two_plays_apply_both_by_reload_under_load():
        before = server_state(s)
        d.playbook = two_plays
        (rc, out, seconds), publisher = await under_load(s, lambda: d.playbook_run({}, "two-plays"))
        assert rc == 0, out[-4000:]
        varz = {name: s.monitor(name, "/varz") for name in s.names}
        after = server_state(s)
        connections = {name: v.get("max_connections") for name, v in varz.items()}
        assert set(connections.values()) == {1200}, f"max_connections after the second play: {connections}"
        restarted = [n for n in s.names if after[n][0] != before[n][0]]
        assert not restarted, f"restarted instead of reloaded: {restarted}"
        not_reloaded = [n for n in s.names if after[n][1] == before[n][1]]
        assert not not_reloaded, f"not reloaded: {not_reloaded}"
        reloads = len(re.findall(r"^TASK \[cim\.nats\.nats_server : Reload nats-server\]", out, re.M))
        assert reloads == 2, f"expected one reload per play, saw {reloads}"
        return f"both plays applied by reload in {seconds:.0f} s, no restart; {load_figures(publisher)}"

    cluster_playbook = s.data["playbook"]

    async def run_cluster_playbook(extra, label):
        d.playbook = cluster_playbook
        return await d.playbook_run(extra, label)

    async def rollback_and_upgrade_across_releases():
        previous, newest = releases()[-2:]
        lines = []
        for version in (previous, newest):
            before = server_state(s)
            (rc, out, seconds), publisher = await under_load(
                s, lambda: run_cluster_playbook({"nats_server_version": version}, f"release-{version}"))
            assert rc == 0, out[-4000:]
            running = {name: s.monitor(name, "/varz").get("version") for name in s.names}
            assert set(running.values()) == {version}, f"after the roll to {version}: {running}"
            after = server_state(s)
            assert all(after[n][0] != before[n][0] for n in s.names), "a node was not restarted"
            steps = roll_order(out)
            assert sorted(n for n, _ in steps) == sorted(s.names), f"roll order {steps}"
            assert all(gates[:4] == [1, 2, 3, 4] for _, gates in steps), f"gates per node {steps}"
            lines.append(f"{version}: rolled {' -> '.join(n for n, _ in steps)} in {seconds:.0f} s, "
                         f"{load_figures(publisher)}")
        return "; ".join(lines)

    async def delete_stream(name):
        nc = await s.connect("cim_admin")
        try:
            await nc.jetstream().delete_stream(name)
        finally:
            await nc.close()

    async def downgrade_refused_for_a_newer_feature():
        """A stream that needs JetStream API level 4 (batched publishing, 2.14) makes a downgrade
        to the release before (level 3) refused before any node restarts."""
        older = releases()[-3]
        nc = await s.connect("cim_admin")
        try:
            js = nc.jetstream()
            await js.add_stream(StreamConfig(name="BATCHED", subjects=["batched.>"], num_replicas=3,
                                             allow_batched=True))
        finally:
            await nc.close()
        before = server_state(s)
        rc, out, seconds = await run_cluster_playbook({"nats_server_version": older}, f"downgrade-{older}")
        flat = re.sub(r"\s+", " ", out)
        assert rc != 0, f"a downgrade to {older} ran although BATCHED needs a newer API level"
        m = re.search(rf"Downgrade to nats-server {re.escape(older)} refused, nothing was restarted: .*?(?=Stay on)", flat)
        assert m and "CIM > BATCHED (level 4)" in m.group(0), out[-3000:]
        assert not roll_order(out), f"restarted although refused: {roll_order(out)}"
        after = server_state(s)
        assert all(after[n][0] == before[n][0] for n in s.names), "a node restarted"
        await delete_stream("BATCHED")
        return f"refused in {seconds:.0f} s, none restarted: {m.group(0)[:220]!r}"

    async def reload_under_load(label, check_served=None):
        """A run that must reload every node and restart none, with the publisher connected throughout."""
        before = server_state(s)
        (rc, out, seconds), publisher = await under_load(s, lambda: run_cluster_playbook({}, label))
        assert rc == 0, out[-4000:]
        after = server_state(s)
        assert all(after[n][0] == before[n][0] for n in s.names), f"{label}: a node restarted"
        assert all(after[n][1] != before[n][1] for n in s.names), f"{label}: a node was not reloaded"
        disconnects = [e for e in publisher.events_during if "disconnected" in e]
        assert not disconnects, f"{label}: the publisher was disconnected: {disconnects}"
        return f"{label} in {seconds:.0f} s, {load_figures(publisher)}"

    def issue_node_certificates(pki, names, ca_name="Example Site"):
        for name in names:
            path = os.path.join(pki, f"{name}.crt")
            if os.path.exists(path):
                os.remove(path)
        subprocess.run([MAKE_SITE_PKI, pki] + [f"{n}=DNS:{n},IP:{s.nodes[n]}" for n in names], check=True,
                       env=dict(os.environ, SITE_PKI_CA_NAME=ca_name))

    async def new_certificates_by_reload():
        pki = os.path.dirname(s.ca)
        serials = {name: served_serial(s, name) for name in s.names}
        issue_node_certificates(pki, s.names)
        figures = await reload_under_load("new certificates")
        stale = [n for n in s.names if served_serial(s, n) == serials[n]]
        assert not stale, f"nodes still serving the old certificate: {stale}"
        return f"every node reloaded, none restarted, each serves its new certificate; {figures}"

    # The hosts a site adds to (or retires from) its cluster, in an inventory source of its own
    # that every later run uses beside the scenario's.
    site_hosts = os.path.join(s.data["work_dir"], "site-hosts.yml")

    def site_inventory(**groups):
        with open(site_hosts, "w") as f:
            json.dump({group: {"hosts": {name: {} for name in hosts}} for group, hosts in groups.items()}, f)
        if site_hosts not in d.more_inventories:
            d.more_inventories.append(site_hosts)

    spares = dict(s.data["spare_nodes"])
    assert len(spares) == 3, spares
    spare = dict(list(spares.items())[:2])
    replacement = list(spares)[2]

    async def scale_out_to_five():
        site_inventory(nats=list(spare))
        old = list(s.names)
        before = server_state(s)
        (rc, out, seconds), publisher = await under_load(s, lambda: run_cluster_playbook({}, "scale-out"))
        assert rc == 0, out[-4000:]
        after = server_state(s)
        assert all(after[n][0] == before[n][0] for n in old), "an existing node restarted"
        assert all(after[n][1] != before[n][1] for n in old), "an existing node did not reload"
        s.nodes.update(spare)
        s.names = list(s.nodes)
        def five_current():
            leader, meta = s.meta_leader()
            current = [r["name"] for r in meta.get("replicas") or [] if r.get("current") and not r.get("offline")]
            return (leader, meta) if meta.get("cluster_size") == 5 and len(current) == 4 else None

        leader, meta = await wait_until(five_current, timeout=30, what="a meta leader with 4 current peers of 5")
        nc = await s.connect("cim_admin", names=old)
        try:
            info = await nc.jetstream().stream_info(STREAM)
            assert info.config.num_replicas == 3, info.config.num_replicas
        finally:
            await nc.close()
        return (f"{', '.join(spare)} joined in {seconds:.0f} s; old nodes reloaded, none restarted; meta leader "
                f"{leader} with 4 peers current; {STREAM} keeps 3 replicas; {load_figures(publisher)}")

    def meta_peers():
        leader, meta = s.meta_leader()
        return leader, sorted([leader] + [r["name"] for r in meta.get("replicas") or []]), meta

    def all_current(meta, names):
        replicas = {r["name"]: r for r in meta.get("replicas") or []}
        return all(replicas[n].get("current") and not replicas[n].get("offline") for n in names if n in replicas)

    async def placed_on(stream, wanted, absent=(), tries=12):
        """Create R3 `stream` until the meta leader places a replica on `wanted` (and none on
        `absent`): where replicas land is the leader's choice. Returns its peers."""
        nc = await s.connect("cim_admin")
        try:
            js = nc.jetstream()
            for _ in range(tries):
                await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream.lower()}.>"], num_replicas=3))
                info = await js.stream_info(stream)
                peers = {info.cluster.leader} | {r.name for r in info.cluster.replicas or []}
                if wanted in peers and not peers & set(absent):
                    for number in range(100):
                        await js.publish(f"{stream.lower()}.event", str(number).encode())
                    return peers
                await js.delete_stream(stream)
            raise AssertionError(f"the meta leader never placed {stream} on {wanted} in {tries} tries")
        finally:
            await nc.close()

    async def stream_whole(stream, allowed, messages=None):
        """The stream has its three replicas on servers of `allowed`, all current, and every message."""
        nc = await s.connect("cim_admin")
        try:
            info = await nc.jetstream().stream_info(stream)
        finally:
            await nc.close()
        replicas = info.cluster.replicas or []
        peers = {info.cluster.leader} | {r.name for r in replicas}
        ok = (len(peers) == 3 and peers <= set(allowed) and all(r.current and not r.offline for r in replicas)
              and (messages is None or info.state.messages == messages))
        return (sorted(peers), info.state.messages) if ok else None

    async def dead_node_replaced_under_a_new_name():
        """A host dies (killed, not stopped); a new host under a new name takes its place in the
        group. The run starts the new node, the others reload, and the dead peer is removed from
        the meta group, so the streams it held place their replicas anew."""
        dead = list(spare)[1]
        peers = await placed_on("REPLACED", dead)
        subprocess.run(["docker", "kill", dead], check=True, capture_output=True)
        s.nodes.pop(dead)
        s.names = list(s.nodes)
        stay = list(s.names)
        site_inventory(nats=[list(spare)[0], replacement])
        before = server_state(s)
        (rc, out, seconds), publisher = await under_load(s, lambda: run_cluster_playbook({}, "replace-dead-node"))
        assert rc == 0, out[-4000:]
        after = server_state(s)
        assert all(after[n][0] == before[n][0] for n in stay), "a running node restarted"
        assert "Remove the offline peers that are no node of the cluster" in out, "no stale peer removal ran"
        s.nodes[replacement] = spares[replacement]
        s.names = list(s.nodes)
        leader, names, meta = await wait_until(
            lambda: (lambda m: m if m[1] == sorted(s.names) and all_current(m[2], s.names) else None)(meta_peers()),
            timeout=60, what=f"a meta group of {', '.join(s.names)}, all current")
        placed, messages = await wait_until(lambda: stream_whole("REPLACED", s.names, 100), timeout=60,
                                            what="REPLACED at 3 current replicas, none on the dead host")
        return (f"{dead} killed; {replacement} joined in {seconds:.0f} s, the others reloaded, none restarted; "
                f"{dead} removed from the meta group ({len(names)} peers, all current); REPLACED moved from "
                f"{', '.join(sorted(peers))} to {', '.join(placed)} with {messages} of 100 messages; {load_figures(publisher)}")

    async def scale_in_refused_for_an_only_replica():
        """A host to retire holds the only replica of an R1 stream: refused before anything changes."""
        retire = [list(spare)[0], replacement]
        nc = await s.connect("cim_admin")
        try:
            js = nc.jetstream()
            for _ in range(20):
                await js.add_stream(StreamConfig(name="SOLO", subjects=["solo.>"], num_replicas=1))
                holder = (await js.stream_info("SOLO")).cluster.leader
                if holder in retire:
                    break
                await js.delete_stream("SOLO")
            else:
                raise AssertionError(f"the meta leader never placed SOLO on {retire}")
            await js.publish("solo.event", b"only copy")
        finally:
            await nc.close()
        site_inventory(nats_retire=retire)
        before = server_state(s)
        rc, out, seconds = await run_cluster_playbook({}, "scale-in-refused")
        flat = re.sub(r"\s+", " ", out)
        assert rc != 0, "the scale in ran although a host to retire holds an R1 stream's only replica"
        assert f"stream CIM > SOLO has its only replica on {holder}" in flat, out[-3000:]
        changed = {h: counts["changed"] for h, counts in parse_recap(out).items() if counts["changed"]}
        assert not changed, f"hosts changed before the refusal: {changed}"
        assert server_state(s) == before, "a server restarted or reloaded"
        _, names, _ = meta_peers()
        assert names == sorted(s.names), f"the meta group changed: {names}"
        await delete_stream("SOLO")
        return f"refused in {seconds:.0f} s naming SOLO on {holder}; changed=0, servers untouched, meta group of {len(names)}"

    async def scale_in_to_three():
        """Two hosts move to the retire group: each leaves the meta group (its replicas move),
        then stops; the three that stay drop their routes by reload, none restarts."""
        retire = [list(spare)[0], replacement]
        peers = await placed_on("RETIRED", retire[0])
        stay = [n for n in s.names if n not in retire]
        before = server_state(s)
        site_inventory(nats_retire=retire)
        (rc, out, seconds), publisher = await under_load(s, lambda: run_cluster_playbook({}, "scale-in"))
        assert rc == 0, out[-4000:]
        for name in retire:
            s.nodes.pop(name)
        s.names = list(s.nodes)
        after = server_state(s)
        assert all(after[n][0] == before[n][0] for n in stay), "a node that stays restarted"
        assert all(after[n][1] != before[n][1] for n in stay), "a node that stays did not reload"
        leader, names, meta = meta_peers()
        assert names == sorted(stay) and all_current(meta, stay), f"meta group after the scale in: {names}"
        routes = {n: sorted(r["remote_name"] for r in s.monitor(n, "/routez").get("routes") or []) for n in stay}
        assert all(set(r) == set(stay) - {n} for n, r in routes.items()), f"routes after the scale in: {routes}"
        # is-enabled exits non-zero for a disabled unit, the state asserted below from its output.
        stopped = d.adhoc(",".join(retire), "ansible.builtin.shell", "systemctl is-enabled nats-server || true")
        states = {h: r.get("stdout", "").strip() for h, r in stopped.items()}
        assert set(states.values()) == {"disabled"}, f"nats-server on the retired hosts: {states}"
        placed, messages = await wait_until(lambda: stream_whole("RETIRED", stay, 100), timeout=60,
                                            what="RETIRED on the three that stay")
        whole, _ = await wait_until(lambda: stream_whole(STREAM, stay), timeout=60, what=f"{STREAM} on the three")
        return (f"{', '.join(retire)} retired in {seconds:.0f} s (RETIRED moved from {', '.join(sorted(peers))} to "
                f"{', '.join(placed)}, {messages} of 100 messages); meta group {', '.join(names)}, all current; the "
                f"three reloaded, none restarted; retired hosts' nats-server disabled; {load_figures(publisher)}")

    async def lost_disk_comes_back_under_the_same_name():
        """A node loses everything the role put on it (binary, config, certificates, data): a run
        installs and starts it again, and its R3 streams return to three current replicas."""
        node = s.names[-1]
        wipe = ("systemctl disable --now nats-server; rm -rf /opt/nats-server /etc/nats /var/lib/nats "
                "/var/log/nats /etc/systemd/system/nats-server.service; systemctl daemon-reload")
        d.adhoc(node, "ansible.builtin.shell", wipe, become=True)
        (rc, out, seconds), publisher = await under_load(s, lambda: run_cluster_playbook({}, "lost-disk"))
        assert rc == 0, out[-4000:]
        _, info = await stored_numbers(s)
        peers, messages = await wait_until(lambda: stream_whole(STREAM, s.names, info.state.messages), timeout=60,
                                           what=f"{STREAM} at three current replicas")
        held = s.monitor(node, "/jsz?accounts=true&streams=true")
        on_node = {st["name"]: st["state"]["messages"] for a in held.get("account_details") or []
                   for st in a.get("stream_detail") or []}
        assert on_node.get(STREAM) == messages, f"{node} holds {on_node.get(STREAM)} of {messages} messages"
        return (f"{node} wiped; the run reinstalled and started it in {seconds:.0f} s; {STREAM} back at 3 current "
                f"replicas, {node} holds all {messages} messages; {load_figures(publisher)}")

    async def ca_rotation_in_stages():
        """Old CA + new CA in the CA file, then node certificates of the new CA, then the new CA
        alone: each stage a reload, no restart, the publisher connected throughout. A client moves
        its trust with the cluster: the bundle from stage 1, the new CA alone after stage 3."""
        pki = os.path.dirname(s.ca)
        new_pki = os.path.join(s.data["work_dir"], "pki-new-ca")
        issue_node_certificates(new_pki, s.names, ca_name="Example Site 2027")
        with open(s.ca, "rb") as f:
            old_ca = f.read()
        with open(os.path.join(new_pki, "ca.crt"), "rb") as f:
            new_ca = f.read()
        client_ca = os.path.join(s.data["work_dir"], "client-ca.pem")
        stages = []

        def trust(pem):
            with open(client_ca, "wb") as f:
                f.write(pem)
            s.tls = ssl.create_default_context(cafile=client_ca)

        with open(s.ca, "wb") as f:
            f.write(old_ca + new_ca)
        trust(old_ca + new_ca)
        stages.append(await reload_under_load("stage 1, both CAs trusted"))
        for name in s.names:
            for ext in ("crt", "key"):
                shutil.copy(os.path.join(new_pki, f"{name}.{ext}"), os.path.join(pki, f"{name}.{ext}"))
        stages.append(await reload_under_load("stage 2, node certificates of the new CA"))
        with open(s.ca, "wb") as f:
            f.write(new_ca)
        trust(new_ca)
        stages.append(await reload_under_load("stage 3, the new CA alone"))
        # Only the new CA is trusted now, and every node is verified with it.
        serials = {name: served_serial(s, name) for name in s.names}
        return f"{'; '.join(stages)}; all {len(serials)} nodes verified with the new CA alone"

    await checks.run("a key that does not match its certificate replaces nothing", bad_key_pair_replaces_nothing)
    await checks.run("an R3 stream for the load", lambda: create_stream(s))
    await checks.run("a two-play playbook applies both plays' changes, under load",
                     two_plays_apply_both_by_reload_under_load)
    await checks.run("a downgrade to a release that cannot serve a stream is refused before any restart",
                     downgrade_refused_for_a_newer_feature)
    await checks.run("a rollback and an upgrade across real releases roll node by node, under load",
                     rollback_and_upgrade_across_releases)
    await checks.run("new node certificates from the same CA arrive by reload, under load", new_certificates_by_reload)
    await checks.run("two hosts added to the group join, the others reload, under load", scale_out_to_five)
    await checks.run("a dead host replaced under a new name: it joins, the dead peer is removed, under load",
                     dead_node_replaced_under_a_new_name)
    await checks.run("a scale in that would lose an R1 stream's only replica is refused, nothing changes",
                     scale_in_refused_for_an_only_replica)
    await checks.run("two hosts retired (5 -> 3): replicas move, they stop, the rest reload, under load",
                     scale_in_to_three)
    await checks.run("a new CA in stages, each a reload, no client locked out, under load", ca_rotation_in_stages)
    await checks.run("a node whose disk is lost comes back under its name, streams whole, under load",
                     lost_disk_comes_back_under_the_same_name)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
