#!/usr/bin/env python
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Both benchmarks in one run (`make bench`): the roles' no-change playbook runs on the sandbox
(benchmarks/playbook_no_change.py) and the JetStream reconcile (benchmarks/jetstream_reconcile.py)
at 300 and at 3,000 objects, after one line that says when and on what machine they ran.

Usage (from the repository root, after `source tools/env.sh`):
  python benchmarks/bench.py                      # 3 runs of each playbook, JetStream once
  python benchmarks/bench.py --repeat 3 --skip-loop
--repeat is passed to each; --skip-loop (JetStream's module loop, minutes long) to the 300-object run.
"""
import argparse
import datetime
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from jetstream_reconcile import machine  # noqa: E402  (after the path insert)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="timed runs of each (each script's default)")
    parser.add_argument("--skip-loop", action="store_true", help="JetStream: (a) and (c) only")
    args = parser.parse_args()
    with open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])
    print("%s UTC; %s; load average %s at the start"
          % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), machine(), load))
    repeat = ["--repeat", str(args.repeat)] if args.repeat else []
    print("\n== Roles: playbook runs with nothing to change ==", flush=True)
    roles = subprocess.run([sys.executable, os.path.join(HERE, "playbook_no_change.py")] + repeat, check=False)
    print("\n== JetStream layout reconcile, 300 objects ==", flush=True)
    small = subprocess.run([sys.executable, os.path.join(HERE, "jetstream_reconcile.py")] + repeat
                           + (["--skip-loop"] if args.skip_loop else []), check=False)
    # The module loop would take hours at this size: the role and the floor only.
    print("\n== JetStream layout reconcile, 3,000 objects ==", flush=True)
    large = subprocess.run([sys.executable, os.path.join(HERE, "jetstream_reconcile.py"), "--streams", "1000",
                            "--skip-loop"] + repeat, check=False)
    return roles.returncode or small.returncode or large.returncode


if __name__ == "__main__":
    sys.exit(main())
