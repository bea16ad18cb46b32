#!/usr/bin/env python3
"""pubsub.py URL [USER PASSWORD]: connect with nats-py, subscribe, publish one message, and print
a JSON line {"ok": bool, "received": str|null, "error": str|null}. Exit 0 only if the message
came back; exit 2 if the connection or authorization failed."""
import asyncio
import json
import sys
import uuid

import nats
from nats.errors import NoServersError


async def main(url, user=None, password=None):
    payload = "cim-nats-" + uuid.uuid4().hex
    try:
        nc = await nats.connect(url, user=user, password=password, connect_timeout=3,
                                allow_reconnect=False, max_reconnect_attempts=0)
    except (NoServersError, OSError, nats.errors.Error) as exc:
        return 2, {"ok": False, "received": None, "error": "%s: %s" % (type(exc).__name__, exc)}
    try:
        sub = await nc.subscribe("cim.molecule.check")
        await nc.publish("cim.molecule.check", payload.encode())
        await nc.flush(timeout=3)
        msg = await sub.next_msg(timeout=3)
        received = msg.data.decode()
        ok = received == payload
        return (0 if ok else 1), {"ok": ok, "received": received, "expected": payload, "error": None}
    finally:
        await nc.close()


if __name__ == "__main__":
    code, result = asyncio.run(main(*sys.argv[1:]))
    print(json.dumps(result))
    sys.exit(code)
