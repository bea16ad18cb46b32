"""Every Molecule scenario in molecule/ runs its full test sequence (create, converge,
idempotence, side effects, verify, destroy) on systemd containers from the test images: the
default scenario on every Debian release of tools/image/releases.txt, each under container and
network names of its own, the others on the main test image ($CIM_NATS_TEST_IMAGE)."""
import os
import re
import subprocess
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(ROOT, "molecule")
# Fast scenarios first, so a broken basic setup fails before the long ones run.
ORDER = ["default", "package", "production", "cluster"]
# The scenario that runs on every release (molecule/default/molecule.yml reads these names).
PER_RELEASE = "default"


def releases():
    """The Debian releases the roles are tested on: [(version, codename)]."""
    with open(os.path.join(ROOT, "tools", "image", "releases.txt")) as handle:
        return [tuple(line.split()) for line in handle if line.strip() and not line.startswith("#")]


def scenarios():
    found = sorted(d for d in os.listdir(MOLECULE_DIR)
                   if os.path.isfile(os.path.join(MOLECULE_DIR, d, "molecule.yml")))
    return sorted(found, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))


def runs():
    """(scenario, Debian version or None for the main test image), as pytest parameters."""
    for scenario in scenarios():
        if scenario == PER_RELEASE:
            for version, codename in releases():
                yield pytest.param(scenario, version, id=f"{scenario}-debian{version}-{codename}")
        else:
            yield pytest.param(scenario, None, id=scenario)


def test_nats_server_claims_the_tested_releases():
    """nats_server's Galaxy platforms are exactly the Debian releases its scenario runs on."""
    with open(os.path.join(ROOT, "roles", "nats_server", "meta", "main.yml")) as handle:
        platforms = yaml.safe_load(handle)["galaxy_info"]["platforms"]
    assert platforms == [{"name": "Debian", "versions": [codename for _version, codename in releases()]}]
    assert PER_RELEASE in scenarios()


@pytest.mark.molecule
@pytest.mark.parametrize("scenario,debian", list(runs()))
def test_molecule_scenario(scenario, debian):
    env = dict(os.environ)
    name = scenario
    if debian is not None:
        name = f"{scenario}-debian{debian}"
        env["CIM_NATS_TEST_IMAGE"] = f"cim-nats/debian{debian}-systemd:latest"
        env["CIM_NATS_DEBIAN"] = debian
        env["CIM_NATS_DEFAULT_NAME"] = f"cim-nats-{name}"
    log_path = os.path.join(ROOT, ".artifacts", f"molecule-{name}.log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w") as log:
        result = subprocess.run(["molecule", "test", "-s", scenario], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, timeout=40 * 60, check=False)
    minutes = (time.monotonic() - started) / 60
    print(f"molecule test -s {scenario} ({name}): exit {result.returncode} in {minutes:.1f} min (log {log_path})")
    if result.returncode != 0:
        with open(log_path) as log:
            text = log.read()
        pytest.fail(f"molecule test -s {scenario} ({name}) failed (full log: {log_path}):\n"
                    f"{_failures(text)}\n[...]\n{text[-6000:]}")


def _failures(text):
    """The lines of a Molecule log that say what failed: first each failed claim of the checks
    with the lines after it (the error the checks print), then the fatal tasks with the task
    names before them. What the CI output must show even when the tail is all teardown."""
    lines = text.splitlines()
    fatal = [i for i, line in enumerate(lines) if "fatal:" in line or "FAILED!" in line]
    claims = [i for i, line in enumerate(lines) if re.search(r"(^|[\s'\"])FAIL ", line)]
    picked = []
    for i in claims[:8]:
        picked.extend(lines[i:i + 10])
        picked.append("--")
    for i in fatal[:4]:
        picked.extend(lines[max(0, i - 4):i + 12])
        picked.append("--")
    return "\n".join(picked)[:12000] or "(no fatal task found in the log)"


def test_the_failure_excerpt_leads_with_each_failed_claim_and_its_error():
    log = "\n".join([
        "TASK [Run the reliability checks] ***",
        "fatal: [localhost]: FAILED! =>",
        "    stdout: |-",
        "      ok   inconsistent input fails before any host is touched",
        "      FAIL a reload that splits the routes: URLError: <urlopen error [Errno 111] Connection refused>",
        "      Traceback (most recent call last):",
        "FAILED - RETRYING: [node-1]: Gate 3 (119 retries left).",
        "      FAIL an R3 stream to publish to: TimeoutError",
    ] + ["teardown"] * 40)
    excerpt = _failures(log).splitlines()
    assert excerpt[0].strip().startswith("FAIL a reload that splits the routes: URLError")
    assert excerpt[1].strip() == "Traceback (most recent call last):"
    claims = [line.strip().split(":")[0] for line in excerpt if line.strip().startswith("FAIL ")]
    assert claims[:2] == ["FAIL a reload that splits the routes", "FAIL an R3 stream to publish to"]
    assert "TASK [Run the reliability checks] ***" in excerpt
    assert not any(line.strip().startswith("ok ") for line in excerpt[:excerpt.index("--")])
