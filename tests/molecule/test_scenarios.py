"""Every Molecule scenario in molecule/ runs its full test sequence (create, converge,
idempotence, side effects, verify, destroy) on systemd containers from the test image."""
import os
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(ROOT, "molecule")
# Fast scenarios first, so a broken basic setup fails before the long ones run.
ORDER = ["default", "package", "production", "cluster"]


def scenarios():
    found = sorted(d for d in os.listdir(MOLECULE_DIR)
                   if os.path.isfile(os.path.join(MOLECULE_DIR, d, "molecule.yml")))
    return sorted(found, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", scenarios())
def test_molecule_scenario(scenario):
    log_path = os.path.join(ROOT, ".artifacts", f"molecule-{scenario}.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w") as log:
        result = subprocess.run(["molecule", "test", "-s", scenario], cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, timeout=40 * 60, check=False)
    minutes = (time.monotonic() - started) / 60
    print(f"molecule test -s {scenario}: exit {result.returncode} in {minutes:.1f} min (log {log_path})")
    if result.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-12000:]
        pytest.fail(f"molecule test -s {scenario} failed (full log: {log_path}):\n{tail}")
