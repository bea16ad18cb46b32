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

# The cluster scenario's check library; the imports below need this path first (hence E402).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cluster", "checks"))
from clusterlib import Checks, Settings, wait_until  # noqa: E402
from reliability import (  # noqa: E402
    STREAM, Deployment, Publisher, create_stream, recap, roll_order, server_state, stored_numbers)

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
        changed = {h: c for h, (c, _) in recap(out).items()}
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

    async def scale_out_to_five():
        spare = s.data["spare_nodes"]
        assert len(spare) == 2, spare
        extra_inventory = os.path.join(s.data["work_dir"], "scale-out.yml")
        with open(extra_inventory, "w") as f:
            json.dump({"nats": {"hosts": {name: {} for name in spare}}}, f)
        # From now on the site's inventory holds the added hosts: every later run uses both sources.
        d.more_inventories.append(extra_inventory)
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
    await checks.run("a rollback and an upgrade across real releases roll node by node, under load",
                     rollback_and_upgrade_across_releases)
    await checks.run("new node certificates from the same CA arrive by reload, under load", new_certificates_by_reload)
    await checks.run("two hosts added to the group join, the others reload, under load", scale_out_to_five)
    await checks.run("a new CA in stages, each a reload, no client locked out, under load", ca_rotation_in_stages)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
