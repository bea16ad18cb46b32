#!/usr/bin/env python
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roles benchmark: what a playbook run with nothing to change costs, task by task.

Times, as whole ansible-playbook processes (start-up included):
  - playbooks/cluster.yml on the sandbox's three nodes (`make sandbox`), once with the
    development CA (the sandbox as written) and once with the site's own certificates (the same
    files given as nats_cluster_tls_cert_src / key_src / ca_src, nats_cluster_tls_dev_ca=false);
  - playbooks/server.yml on one node: a container of the test image of its own
    (cim-nats-bench-server), TLS on, converged by a first run that is not timed.
Every timed run must end with changed=0 on every host, or the benchmark fails: a run that
changed something was not a no-change run. For each playbook it prints the slowest tasks with
the remote calls each made (commands run on a host and files put there, counted by
benchmarks/callback/cim_bench_profile.py; calls on the controller apart).

Usage (from the repository root, after `source tools/env.sh`):
  python benchmarks/playbook_no_change.py             # starts the sandbox if it is not running
  python benchmarks/playbook_no_change.py --repeat 5 --top 15
The sandbox is left running if it was running, removed otherwise; the server container is removed.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from jetstream_reconcile import machine, median  # noqa: E402  (after the path insert)

SANDBOX_INV = os.path.join(ROOT, "inventories", "sandbox")
SANDBOX_NODES = ["cim-nats-sandbox-%d" % i for i in (1, 2, 3)]
SERVER_NODE = "cim-nats-bench-server"


def running(container):
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", container],
                         capture_output=True, text=True, check=False)
    return out.returncode == 0 and out.stdout.strip() == "true"


def playbook(name, args, workdir, label):
    """Run one playbook with the profiling callback; return (seconds, tasks, calls, changed)."""
    tasks_file = os.path.join(workdir, "tasks.json")
    calls_file = os.path.join(workdir, "calls.jsonl")
    for path in (tasks_file, calls_file):
        if os.path.exists(path):
            os.remove(path)
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="cim_bench_profile",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "benchmarks", "callback"),
               CIM_BENCH_TASKS_FILE=tasks_file, CIM_BENCH_CALLS_FILE=calls_file)
    cmd = ["ansible-playbook", os.path.join(ROOT, "playbooks", name)] + args
    start = time.monotonic()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-6000:] + out.stderr[-3000:])
        raise SystemExit("%s: ansible-playbook %s failed (exit %d)" % (label, name, out.returncode))
    with open(tasks_file) as handle:
        report = json.load(handle)
    calls = []
    if os.path.exists(calls_file):
        with open(calls_file) as handle:
            calls = [json.loads(line) for line in handle]
    return seconds, report["tasks"], calls, report["changed"]


def measure(label, name, args, repeat, workdir):
    """One untimed run to settle, then `repeat` timed no-change runs; the median run's detail."""
    playbook(name, args, workdir, label + " (settling run)")
    runs = []
    for _ in range(repeat):
        seconds, tasks, calls, changed = playbook(name, args, workdir, label)
        if any(changed.values()):
            raise SystemExit("%s: not a no-change run: changed %s" % (label, changed))
        runs.append((seconds, tasks, calls))
    runs.sort(key=lambda run: run[0])
    return [run[0] for run in runs], runs[len(runs) // 2]


def breakdown(tasks, calls, top):
    """The slowest tasks (merged by role and name: an included file runs once per include) with
    their remote and controller calls."""
    by_uuid = collections.defaultdict(lambda: collections.Counter())
    for call in calls:
        where = "local" if call["transport"] == "local" else "remote"
        by_uuid[call["task"]][where] += 1
    merged = collections.OrderedDict()
    for task in tasks:
        key = (task["role"], task["name"])
        entry = merged.setdefault(key, {"seconds": 0.0, "remote": 0, "local": 0, "runs": 0})
        entry["seconds"] += task["seconds"] or 0.0
        entry["remote"] += by_uuid[task["uuid"]]["remote"]
        entry["local"] += by_uuid[task["uuid"]]["local"]
        entry["runs"] += 1
    rows = sorted(merged.items(), key=lambda item: -item[1]["seconds"])
    total_remote = sum(1 for call in calls if call["transport"] != "local")
    total_local = len(calls) - total_remote
    lines = ["  %7s  %6s  %5s  %s" % ("seconds", "remote", "local", "task")]
    for (_role, name), entry in rows[:top]:
        lines.append("  %7.2f  %6d  %5d  %s" % (entry["seconds"], entry["remote"], entry["local"], name))
    lines.append("  %7.2f  %6d  %5d  all %d tasks" % (sum(t["seconds"] or 0.0 for t in tasks),
                                                       total_remote, total_local, len(tasks)))
    return lines


def site_cert_vars(workdir):
    """The sandbox's node certificates given as the site's own files."""
    pki = os.path.join(SANDBOX_INV, "pki")
    path = os.path.join(workdir, "site-certs.json")
    with open(path, "w") as handle:
        json.dump({"nats_cluster_tls_dev_ca": False,
                   "nats_cluster_tls_cert_src": pki + "/{{ inventory_hostname }}.crt",
                   "nats_cluster_tls_key_src": pki + "/{{ inventory_hostname }}.key",
                   "nats_cluster_tls_ca_src": pki + "/ca.crt"}, handle)
    return ["-e", "@" + path]


def server_inventory(workdir):
    """One node for server.yml: TLS with a sandbox node certificate (it names localhost and
    127.0.0.1, which the role's own health checks use), the binary copied from the controller."""
    pki = os.path.join(SANDBOX_INV, "pki")
    path = os.path.join(workdir, "server.yml")
    with open(path, "w") as handle:
        json.dump({"all": {"children": {"nats": {"hosts": {SERVER_NODE: {}}, "vars": {
            "ansible_connection": "community.docker.docker",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_pipelining": True,
            "nats_server_systemd_private_users": False,
            "nats_server_install_method": "local",
            "nats_server_local_src": os.environ["CIM_NATS_SERVER_BIN"],
            "nats_server_tls_enabled": True,
            "nats_server_monitor_scheme": "https",
            "nats_server_tls_cert_src": pki + "/cim-nats-sandbox-1.crt",
            "nats_server_tls_key_src": pki + "/cim-nats-sandbox-1.key",
            "nats_server_tls_ca_src": pki + "/ca.crt",
            "nats_server_users": [{"user": "bench", "password": "bench-password-not-secret"}],
        }}}}}, handle)
    return ["-i", path]


def start_server_node():
    subprocess.run(["docker", "rm", "-f", SERVER_NODE], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", SERVER_NODE, "--hostname", SERVER_NODE,
                    "--label", "cim.nats.bench=1", "--cap-add", "SYS_ADMIN",
                    "--security-opt", "seccomp=unconfined", "--cgroupns", "host",
                    "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
                    "--tmpfs", "/tmp", os.environ["CIM_NATS_TEST_IMAGE"], "/sbin/init"],
                   capture_output=True, check=True)
    # systemd says running (or degraded: some unit of the image failed) once it has booted.
    subprocess.run(["docker", "exec", SERVER_NODE, "timeout", "90", "systemctl", "is-system-running",
                    "--wait"], capture_output=True, check=False)


def load():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--top", type=int, default=12, help="slowest tasks shown (default 12)")
    parser.add_argument("--skip-server", action="store_true", help="cluster.yml only")
    args = parser.parse_args()

    sandbox_was_up = all(running(node) for node in SANDBOX_NODES)
    if not sandbox_was_up:
        subprocess.run([os.path.join(ROOT, "tools", "sandbox.sh"), "up"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    version = subprocess.run([os.environ["CIM_NATS_SERVER_BIN"], "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="cim-bench-") as workdir:
            sandbox = ["-i", os.path.join(SANDBOX_INV, "hosts.yml")]
            results.append(("cluster.yml, 3 nodes, development CA",) + measure(
                "cluster.yml dev CA", "cluster.yml", sandbox, args.repeat, workdir))
            results.append(("cluster.yml, 3 nodes, site's own certificates",) + measure(
                "cluster.yml site certificates", "cluster.yml", sandbox + site_cert_vars(workdir),
                args.repeat, workdir))
            if not args.skip_server:
                start_server_node()
                try:
                    results.append(("server.yml, 1 node, TLS",) + measure(
                        "server.yml", "server.yml", server_inventory(workdir), args.repeat, workdir))
                finally:
                    subprocess.run(["docker", "rm", "-f", SERVER_NODE], capture_output=True, check=False)
    finally:
        if not sandbox_was_up:
            subprocess.run([os.path.join(ROOT, "tools", "sandbox.sh"), "down"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, check=False)

    print("Playbook runs with nothing to change (changed=0 on every host in every timed run)")
    print("server: %s in systemd containers; machine: %s; load average at the end %s"
          % (version, machine(), load()))
    print("wall time of each whole ansible-playbook process, seconds, %d runs:" % args.repeat)
    print("  %-48s %7s %7s %7s  %s" % ("run", "min", "median", "max", "remote calls"))
    for label, times, (_s, _tasks, calls) in results:
        remote = sum(1 for call in calls if call["transport"] != "local")
        print("  %-48s %7.1f %7.1f %7.1f  %d" % (label, min(times), median(times), max(times), remote))
    for label, _times, (seconds, tasks, calls) in results:
        print("\n%s: the median run (%.1f s), slowest tasks first (seconds summed over the hosts' "
              "includes; calls over all hosts)" % (label, seconds))
        print("\n".join(breakdown(tasks, calls, args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
