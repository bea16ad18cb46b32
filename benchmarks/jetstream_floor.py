#!/usr/bin/env python
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark floor (c): one nats-py process making the same JetStream API calls as the bulk module.

It reads a layout already in API form (durations in nanoseconds), so it does no option parsing,
no normalisation and no field rules: whatever the `jetstream` role costs above this script is the
price of Ansible and of our checks. The calls are the ones `cim.nats.jetstream_layout` makes:

  1. `$JS.API.STREAM.LIST` (paged), once, for every stream's config;
  2. one `$JS.API.CONSUMER.LIST.<stream>` (paged) per declared stream that already existed;
  3. `STREAM.CREATE` / `STREAM.UPDATE` for a missing / different stream, then
     `CONSUMER.CREATE` with action "create" / "update" for a missing / different consumer.

"Different" here is a plain comparison of the declared keys with the server's values. The
requests of each step are sent as the module sends them: at most --window outstanding at once
(the module's window by default; 1 sends them one by one), all of a step answered before the
next step starts.

Usage: jetstream_floor.py --server nats://127.0.0.1:4222 --layout layout.json [--window 16]
Prints one JSON line: {"api_seconds": ..., "created": n, "updated": n, "unchanged": n}, where
api_seconds runs from before the connection to after it is closed.
"""
import argparse
import asyncio
import json
import sys
import time

import nats


async def _request(nc, subject, body=None):
    payload = json.dumps(body).encode() if body is not None else b""
    msg = await nc.request(subject, payload, timeout=10)
    reply = json.loads(msg.data)
    if "error" in reply:
        raise RuntimeError("%s: %s (%s)" % (subject, reply["error"].get("description"),
                                           reply["error"].get("err_code")))
    return reply


async def _windowed(window, calls):
    """Run the coroutines of ``calls`` with at most ``window`` of them waiting on the server."""
    gate = asyncio.Semaphore(window)

    async def one(call):
        async with gate:
            return await call

    return await asyncio.gather(*(one(call) for call in calls))


async def _paged(nc, subject, key):
    items, offset = [], 0
    while True:
        reply = await _request(nc, subject, {"offset": offset})
        page = reply.get(key) or []
        items.extend(page)
        offset += len(page)
        if not page or offset >= reply.get("total", 0):
            return items


def _differs(declared, current):
    return any(current.get(key) != value for key, value in declared.items())


async def reconcile(server, layout, window=1):
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    nc = await nats.connect(server, allow_reconnect=False, connect_timeout=5)
    try:
        existing = {s["config"]["name"]: s["config"]
                    for s in await _paged(nc, "$JS.API.STREAM.LIST", "streams")}
        writes = []
        for config in layout["streams"]:
            current = existing.get(config["name"])
            if current is None:
                writes.append(_request(nc, "$JS.API.STREAM.CREATE." + config["name"], config))
                counts["created"] += 1
            elif _differs(config, current):
                writes.append(_request(nc, "$JS.API.STREAM.UPDATE." + config["name"], config))
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        await _windowed(window, writes)

        listed = sorted(s for s in {c["stream"] for c in layout["consumers"]} if s in existing)
        listings = await _windowed(window, [_paged(nc, "$JS.API.CONSUMER.LIST." + s, "consumers") for s in listed])
        consumers = {stream: {} for stream in {c["stream"] for c in layout["consumers"]}}
        consumers.update((stream, {c["name"]: c["config"] for c in items}) for stream, items in zip(listed, listings))
        writes = []
        for item in layout["consumers"]:
            stream, config = item["stream"], item["config"]
            current = consumers[stream].get(config["durable_name"])
            if current is None:
                action = "create"
            elif _differs(config, current):
                action = "update"
            else:
                counts["unchanged"] += 1
                continue
            writes.append(_request(nc, "$JS.API.CONSUMER.CREATE.%s.%s" % (stream, config["durable_name"]),
                                   {"stream_name": stream, "config": config, "action": action}))
            counts["created" if action == "create" else "updated"] += 1
        await _windowed(window, writes)
    finally:
        await nc.close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--layout", required=True, help="JSON file: {streams: [...], consumers: [...]}")
    parser.add_argument("--window", type=int, default=16,
                        help="requests outstanding at once, as the module sends them (default 16; 1: one by one)")
    args = parser.parse_args()
    with open(args.layout) as handle:
        layout = json.load(handle)
    started = time.perf_counter()
    counts = asyncio.run(reconcile(args.server, layout, max(1, args.window)))
    counts["api_seconds"] = round(time.perf_counter() - started, 4)
    json.dump(counts, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
