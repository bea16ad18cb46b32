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

"Different" here is a plain comparison of the declared keys with the server's values.

Usage: jetstream_floor.py --server nats://127.0.0.1:4222 --layout layout.json
Prints one JSON line: {"api_seconds": ..., "created": n, "updated": n, "unchanged": n}.
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


async def reconcile(server, layout):
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    nc = await nats.connect(server, allow_reconnect=False, connect_timeout=5)
    try:
        existing = {s["config"]["name"]: s["config"]
                    for s in await _paged(nc, "$JS.API.STREAM.LIST", "streams")}
        for config in layout["streams"]:
            current = existing.get(config["name"])
            if current is None:
                await _request(nc, "$JS.API.STREAM.CREATE." + config["name"], config)
                counts["created"] += 1
            elif _differs(config, current):
                await _request(nc, "$JS.API.STREAM.UPDATE." + config["name"], config)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1

        consumers = {}
        for stream in sorted({c["stream"] for c in layout["consumers"]}):
            if stream in existing:
                consumers[stream] = {c["name"]: c["config"] for c in
                                     await _paged(nc, "$JS.API.CONSUMER.LIST." + stream, "consumers")}
            else:
                consumers[stream] = {}
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
            await _request(nc, "$JS.API.CONSUMER.CREATE.%s.%s" % (stream, config["durable_name"]),
                           {"stream_name": stream, "config": config, "action": action})
            counts["created" if action == "create" else "updated"] += 1
    finally:
        await nc.close()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--layout", required=True, help="JSON file: {streams: [...], consumers: [...]}")
    args = parser.parse_args()
    with open(args.layout) as handle:
        layout = json.load(handle)
    started = time.perf_counter()
    counts = asyncio.run(reconcile(args.server, layout))
    counts["api_seconds"] = round(time.perf_counter() - started, 4)
    json.dump(counts, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
