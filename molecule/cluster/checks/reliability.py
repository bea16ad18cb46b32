#!/usr/bin/env python3
"""The reliability claims of the nats_cluster role, proven against the running cluster:

1. A change that needs a restart rolls through the cluster while a client publishes to an R3
   stream with acks and retries: every acknowledged message is in the stream afterwards, never
   more than one node is down at a time, and the longest publish stall stays under the target.
   A restart on demand (nats_cluster_restart=true, no config change) rolls the same way.
2. With one node's nats-server stopped the cluster keeps accepting writes; a roll limited to
   another node is refused before anything restarts, naming the stopped node; re-running the
   playbook brings the node back (without touching the others) and its replica catches up.
3. A config that nats-server rejects stops the run before any node applies it: every node keeps
   serving on its old config (same process, same config load time, same file on disk).

usage: reliability.py SETTINGS.json
Beyond clusterlib's settings: inventory, playbook (paths), restart_vars and rejected_vars
(extra vars for the playbook), config_path (nats-server's config file on the nodes),
max_stall_seconds, work_dir (where playbook logs go).
"""
import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
import time

import nats.errors
import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from clusterlib import Checks, Settings, wait_until

# The collection's one PLAY RECAP reader (tests/support); the import below needs this path first (hence E402).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "support"))
from recap import parse_recap  # noqa: E402

STREAM = "RELIABILITY"
SUBJECT = "events.reliability.tick"


class Deployment:
    """Re-runs the playbook and ad-hoc commands on the nodes, as a user would."""

    def __init__(self, s):
        self.s = s
        self.inventory = s.data["inventory"]
        self.playbook = s.data["playbook"]
        self.work_dir = s.data["work_dir"]
        self.runs = 0
        # More inventory sources, as a site adds hosts in a file of its own.
        self.more_inventories = []

    def _vars_file(self, extra):
        path = os.path.join(self.work_dir, f"reliability-vars-{self.runs}.json")
        with open(path, "w") as f:
            json.dump(extra, f)
        return path

    async def playbook_run(self, extra, label, limit=None):
        """Run the playbook (on the hosts of `limit` only, if given); return (rc, output, seconds).
        Output also goes to a log file."""
        self.runs += 1
        log_path = os.path.join(self.work_dir, f"reliability-{self.runs}-{label}.log")
        cmd = (["ansible-playbook", "-i", self.inventory]
               + [arg for inventory in self.more_inventories for arg in ("-i", inventory)]
               + [self.playbook, "-e", "@" + self._vars_file(extra)])
        if limit:
            cmd += ["--limit", limit]
        started = time.monotonic()
        # Task timings in the log, for whoever reads it after a slow or failed run.
        env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
        proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT, env=env)
        out, _ = await proc.communicate()
        seconds = time.monotonic() - started
        text = out.decode(errors="replace")
        with open(log_path, "w") as f:
            f.write(f"$ {shlex.join(cmd)}\n{text}")
        print(f"     playbook ({label}): exit {proc.returncode} in {seconds:.1f} s, log {log_path}", flush=True)
        return proc.returncode, text, seconds

    def adhoc(self, pattern, module, args, become=False):
        """An ad-hoc module run on some nodes; returns {host: result} (fails on any error)."""
        cmd = ["ansible", pattern, "-i", self.inventory, "-m", module, "-a", args] + (["--become"] if become else [])
        env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, f"{shlex.join(cmd)} failed: {result.stdout[-800:]}{result.stderr[-800:]}"
        return json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]

    def service_report(self, name):
        """nats-server's unit state and the last lines of its journal on one node, for a failure message."""
        try:
            found = self.adhoc(name, "ansible.builtin.shell",
                               "systemctl show nats-server -p ActiveState,SubState,NRestarts,ExecMainStatus,"
                               "ExecMainStartTimestamp; journalctl -u nats-server -n 30 --no-pager")
            return f"{name}: " + found[name].get("stdout", "")
        except (AssertionError, KeyError, ValueError, subprocess.SubprocessError) as err:
            # The node may not answer at all: the failure being reported must still be raised.
            return f"{name}: no report of nats-server ({err})"


def task_results(output):
    """From a playbook's output: (task name, 'ok' | 'changed', host) for every host result line, in order."""
    task = ""
    for line in output.splitlines():
        m = re.match(r"^TASK \[(?:[^:\]]+ : )?(.*)\] \**$", line)
        if m:
            task = m.group(1)
            continue
        m = re.match(r"^(ok|changed): \[([^\]\s]+)", line)
        if m:
            yield task, m.group(1), m.group(2)


def roll_order(output):
    """From a playbook's output: the nodes restarted, in order, each with the health gates it
    passed before the next restart began. [(node, [gate numbers])]"""
    steps = []
    for task, status, host in task_results(output):
        if task.startswith("Restart nats-server") and status == "changed":
            steps.append((host, []))
        gate = re.match(r"^Gate (\d+):", task)
        # A gate asked again (gate 4 after the meta leader moved) counts once.
        if gate and steps and steps[-1][0] == host and int(gate.group(1)) not in steps[-1][1]:
            steps[-1][1].append(int(gate.group(1)))
    return steps


def step_downs(output):
    """From a playbook's output: {node: 'changed' | 'ok' | 'warned'} for the hand-over of its
    leaders before its stop ('warned': the step-down could not run and the roll said why)."""
    found = {}
    for task, status, host in task_results(output):
        if task.startswith("Move the JetStream leaders off this node"):
            found[host] = status
        elif task.startswith("Say why the leaders were not moved"):
            found[host] = "warned"
    return found


def server_state(s):
    """{node: (start, config_load_time)} from each node's /varz: a restart moves start, a reload
    moves config_load_time."""
    state = {}
    for name in s.names:
        varz = s.monitor(name, "/varz")
        state[name] = (varz.get("start"), varz.get("config_load_time"))
    return state


class Publisher:
    """Publishes numbered messages to the R3 stream as cim_publisher: JetStream acks, a 0.5 s
    ack timeout, and retries of the same message (same Nats-Msg-Id, so the stream dedupes)
    until it is acknowledged. Records every acknowledged number and the longest stall: the
    longest time between two consecutive acknowledgements."""

    def __init__(self, s, interval=0.01):
        self.s = s
        self.interval = interval
        self.acked = {}
        self.retries = 0
        self.errors = {}
        self.longest_stall = 0.0
        self.longest_stall_at = None
        self.longest_stall_offset = 0.0
        self.started = time.monotonic()
        self.events = []
        # (monotonic time the stall began, seconds) of every gap over 0.05 s between two acks.
        self.stalls = []
        self.stop = asyncio.Event()
        self.nc = None

    async def run(self):
        async def event(what):
            url = self.nc.connected_url.netloc if self.nc and self.nc.connected_url else "?"
            self.events.append(f"{time.monotonic() - self.started:.1f} s {what} {url}")

        async def disconnected():
            await event("disconnected from")

        async def reconnected():
            await event("reconnected to")

        async def lame_duck():
            await event("lame duck notice from")

        self.nc = await self.s.connect(
            "cim_publisher", allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.1,
            connect_timeout=2, disconnected_cb=disconnected, reconnected_cb=reconnected,
            lame_duck_mode_cb=lame_duck)
        await event("connected to")
        js = self.nc.jetstream()
        # Numbers (and message ids) of this publisher only: a later publisher on the same stream
        # must neither be deduplicated against this one nor count as its duplicates.
        number = time.time_ns() // 1_000_000 * 1_000_000
        last_ack = time.monotonic()
        while not self.stop.is_set():
            number += 1
            while True:
                try:
                    ack = await js.publish(SUBJECT, str(number).encode(), timeout=0.5,
                                           headers={"Nats-Msg-Id": f"tick-{number}"})
                    break
                except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError, OSError) as err:
                    self.retries += 1
                    self.errors[type(err).__name__] = self.errors.get(type(err).__name__, 0) + 1
                    await asyncio.sleep(0.05)
            now = time.monotonic()
            self.acked[number] = ack.seq
            if now - last_ack > 0.05:
                self.stalls.append((last_ack, now - last_ack))
            if now - last_ack > self.longest_stall:
                self.longest_stall, self.longest_stall_at = now - last_ack, time.strftime("%H:%M:%S")
                self.longest_stall_offset = last_ack - self.started
            last_ack = now
            await asyncio.sleep(self.interval)
        await self.nc.close()


class DownWatcher:
    """Polls every node's /healthz?js-enabled-only=true ten times a second and keeps, per node,
    the intervals it was down (refused, or answered non-200; no answer in time keeps the last
    state). A node without clients restarts in a fraction of a second, so short downs may pass
    unseen; the roll order itself is checked from the playbook's output."""

    def __init__(self, s):
        self.s = s
        self.stop = asyncio.Event()
        self.intervals = {name: [] for name in s.names}
        self.started = time.monotonic()
        self.leaders = []  # (seconds into the run, stream leader) at every change

    async def watch_leader(self):
        """Record the R3 stream's leader (as the servers report it) at every change."""
        nc = await self.s.connect("cim_admin", allow_reconnect=True, max_reconnect_attempts=-1,
                                  reconnect_time_wait=0.1)
        js = nc.jetstream(timeout=1)
        last = None
        while not self.stop.is_set():
            try:
                leader = (await js.stream_info(STREAM)).cluster.leader or "none"
            except (nats.errors.Error, nats.js.errors.Error, asyncio.TimeoutError, OSError) as err:
                leader = f"unknown ({type(err).__name__})"
            if leader != last:
                self.leaders.append((round(time.monotonic() - self.started, 1), leader))
                last = leader
            await asyncio.sleep(0.2)
        await nc.close()

    async def run(self):
        loop = asyncio.get_running_loop()
        down_since = {}
        while not self.stop.is_set():
            t0 = time.monotonic()
            up = await asyncio.gather(*(loop.run_in_executor(
                None, self.s.healthy, name, "/healthz?js-enabled-only=true", 1) for name in self.s.names))
            now = time.monotonic()
            for name, ok in zip(self.s.names, up):
                if ok is False:
                    down_since.setdefault(name, now)
                elif ok is True and name in down_since:
                    self.intervals[name].append((down_since.pop(name), now))
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
        for name, since in down_since.items():
            self.intervals[name].append((since, time.monotonic()))

    def down_seconds(self):
        return {n: sum(b - a for a, b in spans) for n, spans in self.intervals.items()}

    def overlaps(self):
        """Pairs of nodes that were down at the same time, with when (seconds into the run)."""
        found = []
        names = list(self.intervals)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                for a0, a1 in self.intervals[a]:
                    for b0, b1 in self.intervals[b]:
                        if max(a0, b0) < min(a1, b1):
                            found.append((a, b, round(max(a0, b0) - self.started, 1),
                                          round(min(a1, b1) - max(a0, b0), 2)))
        return found

    def stall_per_node(self, stalls):
        """{node: longest stall} over the stalls that began while the node was down or in the 3 s
        before (its leaders hand over and its lame duck mode begins while it still answers), up to
        1 s after."""
        out = {}
        for name, spans in self.intervals.items():
            near = [length for began, length in stalls for a, b in spans if a - 3 <= began <= b + 1]
            out[name] = max(near, default=0.0)
        return out

    def describe(self):
        return "; ".join(f"{n}: " + (", ".join(f"{a - self.started:.1f}-{b - self.started:.1f} s"
                                                for a, b in spans) or "never seen down")
                         for n, spans in self.intervals.items())


async def create_stream(s):
    """The R3 stream the Publisher publishes to, created anew."""
    nc = await s.connect("cim_admin")
    try:
        js = nc.jetstream()
        try:
            await js.delete_stream(STREAM)
        except nats.js.errors.NotFoundError:
            pass
        await js.add_stream(StreamConfig(name=STREAM, subjects=["events.reliability.>"], num_replicas=3,
                                         duplicate_window=120))
        return f"R3 stream {STREAM} on events.reliability.>"
    finally:
        await nc.close()


async def stored_numbers(s):
    """Every message number in the stream, read back through an ack-none ordered pull."""
    nc = await s.connect("cim_admin")
    try:
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        sub = await js.pull_subscribe(SUBJECT, durable=None, stream=STREAM,
                                      config=ConsumerConfig(ack_policy=AckPolicy.NONE))
        numbers = []
        while len(numbers) < info.state.messages:
            try:
                msgs = await sub.fetch(batch=2000, timeout=2)
            except nats.errors.TimeoutError:
                break
            numbers.extend(int(m.data) for m in msgs)
        await sub.unsubscribe()
        return numbers, info
    finally:
        await nc.close()


async def main(settings_path):
    s = Settings(settings_path)
    d = Deployment(s)
    checks = Checks("reliability")
    max_stall = float(s.data.get("max_stall_seconds", 5))
    restart_vars = s.data["restart_vars"]
    figures = {}

    config_path = s.data.get("config_path", "/etc/nats/nats-server.conf")

    def config_files():
        """{host: sha256sum line} of nats-server's config file on every node."""
        return {h: r["stdout"] for h, r in d.adhoc("nats", "ansible.builtin.command",
                                                    f"sha256sum {config_path}").items()}

    async def preflight_stops_bad_input():
        rc, out, seconds = await d.playbook_run({"nats_cluster_route_password": ""}, "preflight")
        flat = re.sub(r"\s+", " ", out)
        assert rc != 0, "the playbook ran with an empty route password"
        assert "nats_cluster_route_password must be set" in flat, out[-2000:]
        changed = {h: counts["changed"] for h, counts in parse_recap(out).items()}
        assert not any(changed.values()), f"hosts changed before the preflight failed: {changed}"
        return f"failed in {seconds:.0f} s at preflight, naming the variable; changed=0 on every host"

    async def roll_under_load(extra, label):
        """Run the playbook with `extra` while the Publisher publishes to the R3 stream; check that
        every node restarted, one at a time, each through gates 1-5 before the next, and that no
        acknowledged message was lost. Returns (roll order, seconds, publisher)."""
        before = server_state(s)
        publisher, watcher = Publisher(s), DownWatcher(s)
        watcher.started = publisher.started
        tasks = [asyncio.create_task(publisher.run()), asyncio.create_task(watcher.run()),
                 asyncio.create_task(watcher.watch_leader())]
        await wait_until(lambda: len(publisher.acked) >= 50, timeout=20, what="50 acknowledged publishes")
        rc, out, seconds = await d.playbook_run(extra, label)
        await asyncio.sleep(1)
        publisher.stop.set()
        watcher.stop.set()
        await asyncio.gather(*tasks)
        assert rc == 0, f"the {label} run failed (exit {rc}):\n{out[-3000:]}"
        after = server_state(s)
        not_restarted = [n for n in s.names if after[n][0] == before[n][0]]
        assert not not_restarted, f"not restarted (same /varz start): {not_restarted}"
        # One at a time: each node passed every health gate before the next one was restarted.
        steps = roll_order(out)
        assert sorted(n for n, _ in steps) == sorted(s.names), f"restarts seen in the run: {steps}"
        ungated = [(n, g) for n, g in steps if g != [1, 2, 3, 4, 5]]
        assert not ungated, f"nodes restarted without passing gates 1-5 before the next restart: {ungated}"
        # Before each stop the node's leaders handed over; the stream's leader was one of the nodes.
        handed = step_downs(out)
        assert sorted(handed) == sorted(s.names) and "warned" not in handed.values(), \
            f"the leaders' hand-over before each stop: {handed}"
        assert "changed" in handed.values(), f"no node handed over a leader before its stop: {handed}"
        print(f"     leaders handed over before the stop: {handed}", flush=True)
        numbers, info = await stored_numbers(s)
        stored = set(numbers)
        lost = sorted(set(publisher.acked) - stored)
        overlaps = watcher.overlaps()
        key = label.replace("-", "_")
        figures.update({f"{key}_seconds": seconds, f"{key}_acked": len(publisher.acked),
                        f"{key}_retries": publisher.retries, f"{key}_longest_stall": publisher.longest_stall,
                        f"{key}_stored": len(numbers), f"{key}_duplicates": len(numbers) - len(stored),
                        f"{key}_overlapping_downs": len(overlaps)})
        print(f"     acknowledged {len(publisher.acked)} messages, {publisher.retries} retries "
              f"({', '.join(f'{k} x{v}' for k, v in publisher.errors.items()) or 'none'}), "
              f"stream holds {info.state.messages}, lost {len(lost)}, duplicates {len(numbers) - len(stored)}",
              flush=True)
        print(f"     longest publish stall {publisher.longest_stall:.2f} s (at {publisher.longest_stall_at}, "
              f"{publisher.longest_stall_offset:.1f} s into the run); nodes down (seconds into the run): "
              f"{watcher.describe()}", flush=True)
        print(f"     stream leader (seconds into the run): {watcher.leaders}; publisher: {publisher.events}",
              flush=True)
        per_node = watcher.stall_per_node(publisher.stalls)
        figures[f"{key}_stall_per_node"] = per_node
        print("     longest publish stall per node (around its restart; the publisher waits 0.5 s for an ack "
              "before it sends again): " + ", ".join(f"{n} {v:.2f} s" for n, v in per_node.items()), flush=True)
        assert not lost, f"{len(lost)} acknowledged messages are missing from the stream, e.g. {lost[:10]}"
        assert len(numbers) == len(stored), f"{len(numbers) - len(stored)} duplicates stored"
        assert not overlaps, f"nodes down at the same time (a, b, at, for): {overlaps}"
        assert publisher.longest_stall < max_stall, \
            f"longest publish stall {publisher.longest_stall:.2f} s exceeds {max_stall} s"
        return steps, seconds, publisher

    async def rolling_restart_under_load():
        steps, seconds, publisher = await roll_under_load(restart_vars, "rolling-restart")
        return (f"restarted one at a time ({' -> '.join(n for n, _ in steps)}), each gated, in {seconds:.0f} s; "
                f"0 of {len(publisher.acked)} "
                f"acknowledged messages lost; longest stall {publisher.longest_stall:.2f} s (target < {max_stall:.0f} s)")

    async def restart_on_demand_under_load():
        # The same variables as the last run, so the config does not change: only the restart is asked for.
        files_before = config_files()
        steps, seconds, publisher = await roll_under_load({**restart_vars, "nats_cluster_restart": True},
                                                          "restart-on-demand")
        assert config_files() == files_before, "the restart on demand changed a node's config file"
        return (f"every node restarted one at a time ({' -> '.join(n for n, _ in steps)}) with gates 1-5, config "
                f"unchanged, in {seconds:.0f} s; 0 of {len(publisher.acked)} acknowledged messages lost; "
                f"longest publish stall {publisher.longest_stall:.2f} s (target < {max_stall:.0f} s)")

    async def writes_with_a_node_down():
        victim = s.names[-1]
        d.adhoc(victim, "ansible.builtin.systemd_service", "name=nats-server state=stopped")
        await wait_until(lambda: not s.healthy(victim), timeout=30, what=f"{victim} stopped")
        nc = await s.connect("cim_publisher", names=s.names[:-1], allow_reconnect=True, max_reconnect_attempts=-1)
        try:
            js = nc.jetstream()
            base = 10_000_000
            for i in range(200):
                await js.publish(SUBJECT, str(base + i).encode(), timeout=5, headers={"Nats-Msg-Id": f"down-{i}"})
        finally:
            await nc.close()
        figures["victim"] = victim
        return f"nats-server stopped on {victim}; 200 publishes acknowledged by the other two"

    async def roll_refused_with_a_node_down():
        victim = figures["victim"]
        target = next(n for n in s.names if n != victim)
        others = [n for n in s.names if n != victim]
        before = {n: s.monitor(n, "/varz").get("start") for n in others}
        rc, out, seconds = await d.playbook_run({**restart_vars, "nats_cluster_restart": True}, "refused-roll",
                                                limit=target)
        flat = re.sub(r"\s+", " ", out)  # the callback wraps long messages
        assert rc != 0, f"a restart of {target} ran while {victim} was down"
        m = re.search(r"Rolling restart refused, nothing was restarted: .*?then run this again\.", flat)
        assert m, f"no 'Rolling restart refused' message:\n{out[-3000:]}"
        assert f"Down or not rejoined: {victim}." in m.group(0), f"the refusal does not name {victim}: {m.group(0)}"
        assert not roll_order(out), f"restarted although refused: {roll_order(out)}"
        after = {n: s.monitor(n, "/varz").get("start") for n in others}
        assert after == before, f"a running node restarted: {before} -> {after}"
        assert s.healthy(victim, "/healthz?js-enabled-only=true") is False, f"{victim} is up: the check proved nothing"
        return f"--limit {target} refused in {seconds:.0f} s, nothing restarted: {m.group(0)[:300]!r}"

    async def rerun_brings_node_back():
        victim = figures["victim"]
        others = [n for n in s.names if n != victim]
        before = {n: s.monitor(n, "/varz").get("start") for n in others}
        rc, out, seconds = await d.playbook_run(restart_vars, "node-back")
        assert rc == 0, f"the re-run failed (exit {rc}):\n{out[-3000:]}"
        assert s.healthy(victim), f"{victim} is not healthy after the re-run"
        after = {n: s.monitor(n, "/varz").get("start") for n in others}
        assert after == before, f"the re-run restarted nodes that were running: {before} -> {after}"

        def caught_up():
            details = {}
            for name in s.names:
                jsz = s.monitor(name, "/jsz?accounts=true&streams=true")
                for account in jsz.get("account_details") or []:
                    for stream in account.get("stream_detail") or []:
                        if stream["name"] == STREAM:
                            details[name] = stream["state"]["last_seq"]
            return details if len(details) == len(s.names) and len(set(details.values())) == 1 else None
        seqs = await wait_until(caught_up, timeout=60, what=f"{victim}'s replica caught up")
        return f"re-run in {seconds:.0f} s started {victim} only; every replica at last_seq {seqs[victim]}"

    async def rejected_config_changes_nothing():
        files_before = config_files()
        before = server_state(s)
        rc, out, _ = await d.playbook_run({**restart_vars, **s.data["rejected_vars"]}, "rejected-config")
        assert rc != 0, "the playbook accepted a config that nats-server rejects"
        words = s.data.get("rejected_words", "unknown field")
        assert words in out, f"the failure does not carry nats-server's words ({words!r}):\n{out[-3000:]}"
        failed = sorted(h for h, counts in parse_recap(out).items() if counts["failed"])
        after = server_state(s)
        files_after = config_files()
        assert after == before, f"a node restarted or reloaded: {before} -> {after}"
        assert files_after == files_before, "a node's config file changed"
        assert all(s.healthy(n) for n in s.names), "a node is not healthy"
        line = next((ln.strip() for ln in out.splitlines() if words in ln), "")
        return (f"run stopped (failed on {', '.join(failed) or '?'}) with {line[:160]!r}; "
                f"every node serves on its old config (same start, config_load_time and file)")

    async def roll_stops_at_unhealthy_node():
        # Moving the route port cannot be rolled: the first node restarted on the new port finds
        # no peer (they listen on the old one), never passes its gates, and the roll must stop there.
        before = {n: s.monitor(n, "/varz").get("start") for n in s.names}
        timeout = 15
        bad = {**restart_vars, "nats_cluster_port": 6333, "nats_cluster_roll_gate_timeout": timeout,
               "nats_server_health_timeout": timeout}
        rc, out, seconds = await d.playbook_run(bad, "roll-stops")
        assert rc != 0, "the roll did not stop although the restarted node cannot rejoin"
        flat = re.sub(r"\s+", " ", out)  # the callback wraps long messages
        m = re.search(r"Rolling restart stopped at (\S+) \(step 1 of (\d+)\)", flat)
        assert m, f"no 'Rolling restart stopped at <node> (step 1 of N)' message:\n{out[-3000:]}"
        stopped_at = m.group(1)
        untouched = re.search(r"Not touched: (.*?)\. ", flat)
        assert untouched, "the message does not name the nodes left untouched"
        others = sorted(n for n in s.names if n != stopped_at)
        named = sorted(x.strip() for x in untouched.group(1).split(","))
        assert named == others, f"message names {named} as untouched, expected {others}"
        after = {n: s.monitor(n, "/varz").get("start") for n in s.names}
        restarted = sorted(n for n in s.names if after[n] != before[n])
        assert restarted == [stopped_at], f"restarted: {restarted}, expected only {stopped_at}"
        nc = await s.connect("cim_publisher", names=others)
        try:
            js = nc.jetstream()
            for i in range(20):
                await js.publish(SUBJECT, str(20_000_000 + i).encode(), timeout=5)
        finally:
            await nc.close()
        figures["roll_stopped_at"] = stopped_at
        return (f"stopped after {seconds:.0f} s at {stopped_at}; {', '.join(others)} not restarted and "
                f"still take writes; message: {flat[m.start():m.start() + 400]!r}")

    async def rerun_heals_stopped_roll():
        stopped_at = figures["roll_stopped_at"]
        rc, out, seconds = await d.playbook_run(restart_vars, "heal")
        assert rc == 0, f"the healing run failed (exit {rc}):\n{out[-3000:]}"
        steps = roll_order(out)
        assert [n for n, _ in steps] == [stopped_at], f"restarted in the healing run: {steps}"

        def whole():
            for name in s.names:
                peers = {r["remote_name"] for r in s.monitor(name, "/routez").get("routes") or []}
                if peers != set(s.names) - {name}:
                    return None
            leader, meta = s.meta_leader()
            current = [r for r in meta.get("replicas") or [] if r.get("current") and not r.get("offline")]
            return leader if len(current) == len(s.names) - 1 else None
        leader = await wait_until(whole, timeout=30, what="every route back and every meta peer current")
        return f"{stopped_at} restarted back in {seconds:.0f} s; routes whole, meta leader {leader} with every peer current"

    async def reload_that_splits_routes_fails():
        # A new route password on one node only (--limit): it reloads, its routes to the others
        # fail authorization, and the run must say so instead of reporting success.
        lone = s.names[0]
        before = server_state(s)
        rc, out, seconds = await d.playbook_run(
            {"nats_cluster_route_password": "a-password-only-one-node-has", "nats_cluster_roll_gate_timeout": 15},
            "split-routes", limit=lone)
        flat = re.sub(r"\s+", " ", out)
        assert rc != 0, "a reload that split the routes was reported as a success"
        m = re.search(rf"{re.escape(lone)} reloaded its new config, but the cluster is not whole after it: (.*?) A change", flat)
        assert m, f"no report of the split:\n{out[-3000:]}"
        after = server_state(s)
        assert after[lone][0] == before[lone][0] and after[lone][1] != before[lone][1], "not a reload"
        rc, out, heal_seconds = await d.playbook_run({}, "split-routes-healed", limit=lone)
        assert rc == 0, f"the run with the route password undone failed:\n{out[-3000:]}"

        def routes_whole():
            routes = sorted(r["remote_name"] for r in s.monitor(lone, "/routez").get("routes") or [])
            return routes if set(routes) == set(s.names) - {lone} else None
        try:
            # The run waited for the routes; a node that answers nothing right after it is news.
            await wait_until(routes_whole, timeout=30, what=f"every route of {lone} back")
        except AssertionError as err:
            raise AssertionError(f"{err}\n{d.service_report(lone)}") from None
        healed = server_state(s)
        assert healed[lone][0] == before[lone][0], (
            f"{lone}'s nats-server restarted while the split was undone (a reload was expected):\n"
            f"{d.service_report(lone)}")
        return f"stopped in {seconds:.0f} s: {m.group(1)[:200]!r}; undone and whole again in {heal_seconds:.0f} s"

    await checks.run("inconsistent input fails before any host is touched", preflight_stops_bad_input)
    await checks.run("a reload that splits the routes fails the run, and undoing it heals", reload_that_splits_routes_fails)
    await checks.run("an R3 stream to publish to", lambda: create_stream(s))
    await checks.run("a restart-needing change rolls through the cluster under load", rolling_restart_under_load)
    await checks.run("restart on demand rolls every node under load", restart_on_demand_under_load)
    if await checks.run("the cluster accepts writes with one node's nats-server stopped", writes_with_a_node_down):
        await checks.run("a roll limited to another node is refused while one is down, naming it",
                         roll_refused_with_a_node_down)
        await checks.run("re-running the playbook brings the node back and its replica catches up",
                         rerun_brings_node_back)
    await checks.run("a config nats-server rejects stops the run and changes no node", rejected_config_changes_nothing)
    if await checks.run("a node that does not come back stops the roll; the other nodes are not touched",
                        roll_stops_at_unhealthy_node):
        await checks.run("re-running the playbook with the change undone heals the stopped node",
                         rerun_heals_stopped_roll)
    if figures:
        print("figures: " + json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}),
              flush=True)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
