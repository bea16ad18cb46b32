"""The ansible-core releases the collection claims are the ones its tests run on: the lower bound
of meta/runtime.yml's requires_ansible and every role's min_ansible_version are the minor release
requirements.txt pins (the one the whole suite runs under), and ansible-test has that release's
empty ignore file. ansible-core 2.16 to 2.18 render the roles' config values as strings (a port
becomes "4222", a left-out key an empty one) and miss preflight refusals; they are not claimed."""
import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tested_minor():
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        version = re.search(r"^ansible-core==(\d+)\.(\d+)\.\d+$", handle.read(), re.M)
    assert version, "requirements.txt must pin ansible-core"
    return "%s.%s" % version.groups()


def test_requires_ansible_starts_at_the_tested_release():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        requires = yaml.safe_load(handle)["requires_ansible"]
    lower = re.fullmatch(r">=(\d+\.\d+)\.0", requires)
    assert lower, "requires_ansible must be a lower bound like >=2.19.0, got %r" % requires
    assert lower.group(1) == _tested_minor()


def test_roles_claim_the_tested_release():
    found = {}
    for meta in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "main.yml")):
        with open(meta) as handle:
            found[meta.split(os.sep)[-3]] = str(yaml.safe_load(handle)["galaxy_info"]["min_ansible_version"])
    assert found and set(found.values()) == {_tested_minor()}, found


def test_ansible_test_has_the_tested_release_ignore_file_and_no_other():
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "tests", "sanity", "ignore-*.txt")))
    assert names == ["ignore-%s.txt" % _tested_minor()]
