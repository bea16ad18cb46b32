"""What the cluster checks share: how to reach the nodes (clients over TLS, monitoring over HTTPS,
both verified with the cluster's CA), the test settings file written by the playbooks, and a
small check runner that prints each claim and fails loudly.

The settings file (JSON) holds: nodes (server name -> network address), ca (CA file on the
controller), users (user -> password), client_port, monitor_port, and, for reliability.py,
inventory / playbook / extra vars to re-run the deployment.
"""
import asyncio
import json
import logging
import ssl
import sys
import time
import traceback
import urllib.error
import urllib.request

import nats

# asyncio's TLS transport warns about every connection the server closes; noise in the output.
logging.getLogger("asyncio").setLevel(logging.ERROR)


class Settings:
    def __init__(self, path):
        with open(path) as f:
            data = json.load(f)
        self.data = data
        self.nodes = data["nodes"]  # server name -> address, in group order
        self.names = list(self.nodes)
        self.ca = data["ca"]
        self.users = data["users"]
        self.client_port = int(data.get("client_port", 4222))
        self.monitor_port = int(data.get("monitor_port", 8222))
        self.tls = ssl.create_default_context(cafile=self.ca)

    def client_url(self, name):
        return f"tls://{self.nodes[name]}:{self.client_port}"

    def monitor_url(self, name, path, scheme="https"):
        return f"{scheme}://{self.nodes[name]}:{self.monitor_port}{path}"

    def monitor(self, name, path, timeout=3):
        """GET a monitoring endpoint over HTTPS (certificate verified); return the JSON body."""
        with urllib.request.urlopen(self.monitor_url(name, path), context=self.tls, timeout=timeout) as resp:
            return json.loads(resp.read())

    def healthy(self, name, path="/healthz", timeout=1):
        """True on 200; False when the node refuses or answers another status; None when it
        does not answer in time (unknown: a busy machine, not proof that the node is down)."""
        try:
            with urllib.request.urlopen(self.monitor_url(name, path), context=self.tls, timeout=timeout) as resp:
                return resp.status == 200
        except urllib.error.HTTPError:
            return False
        except urllib.error.URLError as err:
            return None if isinstance(err.reason, TimeoutError) else False
        except TimeoutError:
            return None
        except OSError:
            return False

    def meta_leader(self):
        """(leader name, leader's /jsz meta_cluster) as the leader itself reports it."""
        for name in self.names:
            try:
                leader = self.monitor(name, "/jsz")["meta_cluster"].get("leader")
            except (OSError, KeyError, ValueError):
                continue
            if leader in self.nodes:
                return leader, self.monitor(leader, "/jsz")["meta_cluster"]
        return None, {}

    async def connect(self, user, password=None, names=None, errors=None, **options):
        """A nats-py client over verified TLS to the given nodes (default: all)."""
        async def on_error(err):
            if errors is not None:
                errors.append(str(err))

        options.setdefault("allow_reconnect", False)
        options.setdefault("connect_timeout", 3)
        return await nats.connect(
            servers=[self.client_url(n) for n in (names or self.names)],
            tls=self.tls, user=user, password=self.users[user] if password is None else password,
            error_cb=on_error, dont_randomize=names is not None, **options)


class Checks:
    """Runs named checks in order; prints ok/FAIL with the reason; exit code 1 on any failure."""

    def __init__(self, title):
        self.title = title
        self.failed = []
        self.started = time.monotonic()
        print(f"== {title}", flush=True)

    async def run(self, claim, coro_fn):
        t0 = time.monotonic()
        try:
            detail = await coro_fn()
        except AssertionError as err:
            self.failed.append(claim)
            print(f"FAIL {claim}: {err}", flush=True)
            return False
        except Exception as err:  # noqa: BLE001 - any error fails the claim, with its words
            self.failed.append(claim)
            print(f"FAIL {claim}: {type(err).__name__}: {getattr(err, 'description', None) or err}", flush=True)
            traceback.print_exc(limit=3, file=sys.stdout)
            return False
        print(f"ok   {claim}{': ' + detail if detail else ''} ({time.monotonic() - t0:.1f} s)", flush=True)
        return True

    def finish(self):
        took = time.monotonic() - self.started
        if self.failed:
            print(f"== {self.title}: {len(self.failed)} failed in {took:.0f} s: {', '.join(self.failed)}", flush=True)
            return 1
        print(f"== {self.title}: all passed in {took:.0f} s", flush=True)
        return 0


async def wait_until(predicate, timeout, interval=0.5, what="condition"):
    """Poll a (sync or async) predicate until it returns a truthy value; fail after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if hasattr(last, "__await__"):
                last = await last
            if last:
                return last
        except Exception as err:  # noqa: BLE001 - keep polling; report the last error on timeout
            last = err
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")
