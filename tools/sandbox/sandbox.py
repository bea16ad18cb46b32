#!/usr/bin/env python3
"""Helpers of tools/sandbox.sh: free-port check, the sandbox inventory (passwords generated once),
the record of each cluster.yml run, and the status summary printed at the end of `make sandbox`
(with the JetStream streams and consumers once `make sandbox-layout` has put them there).

Only the standard library, PyYAML (comes with Ansible) and nats-py (pinned in requirements.txt).
"""
import argparse
import asyncio
import datetime
import json
import logging
import os
import secrets
import socket
import ssl
import string
import sys
import time
import urllib.error
import urllib.request

import yaml

# The collection's one PLAY RECAP reader; the import below needs this path first (hence E402).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
from recap import parse_recap  # noqa: E402

CLUSTER_NAME = "cim-sandbox"
SECRETS_HEADER = """\
# Generated once by tools/sandbox.sh and kept, so that running it again changes nothing.
# Sandbox passwords: for a local test cluster only. Delete inventories/sandbox/ to start afresh.
"""
INVENTORY_HEADER = """\
# Written by tools/sandbox.sh (`make sandbox`) on every run: the local sandbox cluster.
# Passwords: group_vars/nats/secrets.yml next to this file. CA and node certificates: pki/.
# Deploy again by hand: ansible-playbook -i inventories/sandbox/hosts.yml playbooks/cluster.yml
# The JetStream layout:  ansible-playbook -i inventories/sandbox/hosts.yml playbooks/jetstream.yml
"""
JETSTREAM_HEADER = """\
# Written by tools/sandbox.sh on every run: how playbooks/jetstream.yml reaches the sandbox from
# the controller (the published client ports, the sandbox CA, the CIM account's admin user).
# These group_vars/nats values outrank the layout's own in group_vars/all/jetstream.yml.
"""
PASSWORD_NAMES = ("route", "cim_admin", "cim_publisher", "cim_consumer", "sys")


def ports_free(args):
    """Exit 1 with a message when one of the ports is taken on 127.0.0.1."""
    busy = []
    for port in args.ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    if busy:
        print(f"port(s) already in use on 127.0.0.1: {', '.join(map(str, busy))}", file=sys.stderr)
        return 1
    return 0


def new_password(length=24):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def client_urls(client_port, nodes):
    """The client URLs the controller reaches the sandbox at (published on 127.0.0.1)."""
    return [f"tls://localhost:{client_port + i}" for i in range(nodes)]


def link_layout(inv_dir, layout):
    """group_vars/all/jetstream.yml -> the layout file (relative, so the checkout can move)."""
    link = os.path.join(inv_dir, "group_vars", "all", "jetstream.yml")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    target = os.path.relpath(os.path.abspath(layout), os.path.dirname(link))
    if os.path.islink(link) or os.path.exists(link):
        if os.path.islink(link) and os.readlink(link) == target:
            return
        os.remove(link)
    os.symlink(target, link)


def inventory(args):
    """Write hosts.yml and group_vars/nats/jetstream.yml (every time), group_vars/nats/secrets.yml
    (only what is missing), and link the JetStream layout into group_vars/all/."""
    inv_dir = os.path.abspath(args.inventory_dir)
    secrets_path = os.path.join(inv_dir, "group_vars", "nats", "secrets.yml")
    os.makedirs(os.path.dirname(secrets_path), mode=0o700, exist_ok=True)
    passwords = {}
    if os.path.exists(secrets_path):
        with open(secrets_path) as f:
            passwords = (yaml.safe_load(f) or {}).get("sandbox_passwords", {})
    missing = [name for name in PASSWORD_NAMES if not passwords.get(name)]
    if missing:
        passwords.update({name: new_password() for name in missing})
        fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(SECRETS_HEADER)
            yaml.safe_dump({"sandbox_passwords": passwords}, f, default_flow_style=False, sort_keys=True)

    def user(name, permissions=None):
        entry = {"user": name, "password": "{{ sandbox_passwords.%s }}" % name}
        if permissions:
            entry["permissions"] = permissions
        return entry

    group_vars = {
        "ansible_connection": "community.docker.docker",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_pipelining": True,
        # Containers have no user namespaces for systemd's PrivateUsers=.
        "nats_server_systemd_private_users": False,
        "nats_server_install_method": "local",
        "nats_server_local_src": args.server_bin,
        "nats_cluster_name": CLUSTER_NAME,
        "nats_cluster_tls_enabled": True,
        "nats_cluster_tls_dev_ca": True,
        "nats_cluster_tls_dev_ca_dir": os.path.join(inv_dir, "pki"),
        "nats_cluster_route_password": "{{ sandbox_passwords.route }}",
        "nats_cluster_system_account": "SYS",
        "nats_cluster_accounts": {
            "CIM": {
                "jetstream": True,
                "users": [
                    user("cim_admin"),
                    # The seed guide's two users, as written there.
                    user("cim_publisher", {"publish": ["events.>"], "subscribe": ["_INBOX.>"]}),
                    user("cim_consumer", {"publish": ["_INBOX.>"], "subscribe": ["events.>", "$JS.>"]}),
                ],
            },
            "SYS": {"users": [user("sys")]},
        },
    }
    hosts = {f"{args.prefix}-{i}": None for i in range(1, args.nodes + 1)}
    doc = {"all": {"children": {"nats": {"hosts": hosts, "vars": group_vars}}}}
    with open(os.path.join(inv_dir, "hosts.yml"), "w") as f:
        f.write(INVENTORY_HEADER)
        yaml.safe_dump(doc, f, default_flow_style=False, sort_keys=False, width=120)

    # In a group_vars file, not in hosts.yml: inventory file vars rank below group_vars/all.
    connection = {
        "jetstream_server": client_urls(args.client_port, args.nodes),
        "jetstream_tls_ca_file": os.path.join(inv_dir, "pki", "ca.crt"),
        "jetstream_user": "cim_admin",
        "jetstream_password": "{{ sandbox_passwords.cim_admin }}",
    }
    with open(os.path.join(inv_dir, "group_vars", "nats", "jetstream.yml"), "w") as f:
        f.write(JETSTREAM_HEADER)
        yaml.safe_dump(connection, f, default_flow_style=False, sort_keys=False, width=120)
    if args.layout:
        link_layout(inv_dir, args.layout)
    return 0


def record_run(args):
    """Append the wall time and the per-host changed counts of one cluster.yml run; print them."""
    seconds = float(args.end) - float(args.start)
    with open(args.log, errors="replace") as f:
        changed = {host: counts["changed"] for host, counts in parse_recap(f.read()).items()}
    runs_path = os.path.join(args.inventory_dir, "runs.tsv")
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    summary = ",".join(f"{h}={n}" for h, n in sorted(changed.items()))
    with open(runs_path, "a") as f:
        f.write(f"{stamp}\t{seconds:.1f}\t{args.rc}\t{summary}\n")
    total = sum(changed.values())
    what = "changed=0 on every host" if changed and total == 0 else f"changed: {summary or 'no recap'}"
    print(f"\ncluster.yml run: {seconds:.1f} s wall time, exit {args.rc}, {what}")
    return 0


def fetch_json(url, context, timeout=3):
    with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:
        return json.loads(resp.read())


async def jetstream_lines(nc):
    """One line per stream of the account (replicas, subjects or sources, messages) and its
    consumers with what they have not yet delivered and not yet had acked."""
    jsm = nc.jsm()
    streams = sorted(await jsm.streams_info(), key=lambda s: s.config.name)
    lines = []
    for stream in streams:
        cfg = stream.config
        if cfg.subjects:
            feeds = ", ".join(cfg.subjects)
        else:
            feeds = "from " + ", ".join(
                f"{src.name} ({src.filter_subject})" if src.filter_subject else src.name
                for src in (cfg.sources or ([cfg.mirror] if cfg.mirror else [])))
        lines.append(f"{cfg.name}  R{cfg.num_replicas or 1}  {feeds}  {stream.state.messages} msgs")
        for consumer in sorted(await jsm.consumers_info(cfg.name), key=lambda c: c.name):
            lines.append(f"  consumer {consumer.name}: {consumer.num_pending} pending, "
                         f"{consumer.num_ack_pending} awaiting ack")
    return lines


async def client_round_trip(urls, ca, user, password):
    """Connect, publish and receive one message; also return the account's JetStream lines."""
    import nats  # noqa: PLC0415  (only the status needs it)
    ctx = ssl.create_default_context(cafile=ca)
    nc = await nats.connect(servers=urls, tls=ctx, user=user, password=password,
                            allow_reconnect=False, connect_timeout=3)
    try:
        started = time.monotonic()
        sub = await nc.subscribe("sandbox.ping", cb=None)
        await nc.publish("sandbox.ping", b"ping")
        await sub.next_msg(timeout=2)
        elapsed_ms = (time.monotonic() - started) * 1000
        return nc.connected_url.netloc, elapsed_ms, await jetstream_lines(nc)
    finally:
        await nc.close()


def status(args):
    inv_dir = os.path.abspath(args.inventory_dir)
    ca = os.path.join(inv_dir, "pki", "ca.crt")
    secrets_path = os.path.join(inv_dir, "group_vars", "nats", "secrets.yml")
    if not os.path.exists(ca):
        print(f"no sandbox CA at {ca}: run `make sandbox` first", file=sys.stderr)
        return 1
    ctx = ssl.create_default_context(cafile=ca)
    rows, jsz = [], {}
    for i in range(1, args.nodes + 1):
        name = f"{args.prefix}-{i}"
        base = f"https://localhost:{args.monitor_port + i - 1}"
        try:
            varz = fetch_json(f"{base}/varz", ctx)
            routez = fetch_json(f"{base}/routez", ctx)
            jsz[varz["server_name"]] = fetch_json(f"{base}/jsz", ctx)
            try:
                health = fetch_json(f"{base}/healthz", ctx).get("status", "?")
            except urllib.error.HTTPError as err:
                health = json.loads(err.read() or b"{}").get("error", f"HTTP {err.code}")
            peers = sorted({r.get("remote_name", "?") for r in routez.get("routes") or []})
            rows.append((varz["server_name"], varz.get("version", "?"), varz.get("uptime", "?"),
                         ", ".join(peers) or "none", health))
        except (OSError, ValueError, KeyError) as err:
            rows.append((name, "-", "-", "-", f"unreachable ({err})"))
    print(f"\ncim.nats sandbox: cluster '{CLUSTER_NAME}', {args.nodes} nodes, TLS + authorization + JetStream")
    widths = [max(len(str(r[c])) for r in rows + [("server", "version", "uptime", "routes to", "health")])
              for c in range(5)]
    for row in [("server", "version", "uptime", "routes to", "health")] + rows:
        print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    leaders = {j.get("meta_cluster", {}).get("leader") for j in jsz.values()} - {None, ""}
    if len(leaders) == 1:
        leader = leaders.pop()
        replicas = jsz.get(leader, {}).get("meta_cluster", {}).get("replicas") or []
        current = [r["name"] for r in replicas if r.get("current") and not r.get("offline")]
        print(f"  JetStream meta leader: {leader} (peers current: {len(current)}/{args.nodes - 1})")
    else:
        print(f"  JetStream meta leader: {'none' if not leaders else 'disagreement: ' + ', '.join(sorted(leaders))}")

    urls = client_urls(args.client_port, args.nodes)
    print("\nClient URLs (TLS; verify with the CA below):\n  " + ", ".join(urls))
    print("Monitoring (HTTPS only):\n  " + ", ".join(
        f"https://localhost:{args.monitor_port + i}" for i in range(args.nodes)))
    print(f"CA certificate:  {ca}")
    print(f"Credentials:     {secrets_path}")
    print("  users: cim_admin (account CIM, every subject), cim_publisher (publish events.>),")
    print("         cim_consumer (subscribe events.>, $JS.>), sys (system account SYS)")
    try:
        with open(secrets_path) as f:
            admin_password = yaml.safe_load(f)["sandbox_passwords"]["cim_admin"]
        via, ms, js_lines = asyncio.run(client_round_trip(urls, ca, "cim_admin", admin_password))
        print(f"Client check:    cim_admin connected through {via} with TLS, publish/subscribe round trip {ms:.1f} ms")
        if js_lines:
            print("JetStream, account CIM (streams, consumers):\n  " + "\n  ".join(js_lines))
        else:
            print("JetStream, account CIM: no streams yet; `make sandbox-layout` puts the seed's CIM event store on it")
    except Exception as err:  # noqa: BLE001 - the summary reports any failure in words
        print(f"Client check:    FAILED: {type(err).__name__}: {err}")
    print("Try it (nats CLI; the system user sees every server):\n"
          f"  nats --tlsca {ca} -s {urls[0]} --user sys \\\n"
          f"       --password \"$(sed -n 's/^  sys: //p' {secrets_path})\" server list")

    runs_path = os.path.join(inv_dir, "runs.tsv")
    if os.path.exists(runs_path):
        with open(runs_path) as f:
            runs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        print("\ncluster.yml runs (wall time, exit code, changed per host), latest last:")
        for stamp, seconds, rc, changed in (r + [""] * (4 - len(r)) for r in runs[-5:]):
            print(f"  {stamp}  {float(seconds):6.1f} s  exit {rc}  {changed}")
    print("\nRun `make sandbox` again for a no-change run; `make sandbox-down` removes the containers.")
    return 0 if all(r[4] == "ok" for r in rows) else 1


def main():
    # asyncio's TLS transport warns about every connection closed by the peer; noise here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ports-free")
    p.add_argument("ports", type=int, nargs="+")
    p.set_defaults(func=ports_free)
    for name, func in (("inventory", inventory), ("record-run", record_run), ("status", status)):
        p = sub.add_parser(name)
        p.add_argument("--inventory-dir", required=True)
        p.set_defaults(func=func)
        if name in ("inventory", "status"):
            p.add_argument("--prefix", required=True)
            p.add_argument("--nodes", type=int, default=3)
    sub.choices["inventory"].add_argument("--server-bin", required=True)
    sub.choices["inventory"].add_argument("--client-port", type=int, default=4222)
    sub.choices["inventory"].add_argument("--layout", help="JetStream layout to link into group_vars/all/")
    sub.choices["record-run"].add_argument("--log", required=True)
    sub.choices["record-run"].add_argument("--rc", type=int, required=True)
    sub.choices["record-run"].add_argument("--start", required=True)
    sub.choices["record-run"].add_argument("--end", required=True)
    sub.choices["status"].add_argument("--client-port", type=int, default=4222)
    sub.choices["status"].add_argument("--monitor-port", type=int, default=8222)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
