"""The execution environment: what its build context holds, and what ansible-builder finds in the
collection when any other definition installs it (no image is built: that needs a registry)."""
import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml
from bindep.depends import Depends

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EE_DIR = os.path.join(ROOT, ".artifacts", "ee")


def pins(path):
    """{distribution name: version} of a pip requirements file."""
    found = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _sep, version = line.partition("==")
                assert version, f"{path}: {line!r} is not pinned"
                found[name.split("[")[0].strip().lower()] = version.strip()
    return found


def third_party_imports():
    """Top-level modules imported by plugins/ that are neither the standard library nor Ansible."""
    names = set()
    for base, _dirs, files in os.walk(os.path.join(ROOT, "plugins")):
        for name in files:
            if not name.endswith(".py"):
                continue
            with open(os.path.join(base, name)) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return sorted(names - set(sys.stdlib_module_names) - {"ansible", "ansible_collections", "__future__"})


def test_every_third_party_import_of_the_plugins_is_an_ee_requirement():
    required = pins(os.path.join(ROOT, "meta", "ee-requirements.txt"))
    distributions = importlib.metadata.packages_distributions()
    imports = third_party_imports()
    assert {"nats", "bcrypt", "cryptography"} <= set(imports)
    missing = {module: distributions.get(module) for module in imports
               if not {d.lower() for d in distributions.get(module, [])} & set(required)}
    assert not missing, f"imported by plugins/ but not in meta/ee-requirements.txt: {missing}"
    # nats-py authenticates with nkeys and creds files through nkeys, imported lazily.
    assert "nkeys" in required


def test_ee_pins_are_the_versions_the_tests_run_with():
    required = pins(os.path.join(ROOT, "meta", "ee-requirements.txt"))
    installed = {name: importlib.metadata.version(name) for name in required}
    assert required == installed
    dev = pins(os.path.join(ROOT, "requirements.txt"))
    assert {n: v for n, v in required.items() if n in dev} == {n: dev[n] for n in required if n in dev}


def test_bindep_gives_each_platform_its_packages():
    with open(os.path.join(ROOT, "bindep.txt")) as f:
        depends = Depends(f.read())

    def packages(*profiles):
        return {rule[0] for rule in depends.active_rules(list(profiles))}

    assert packages("platform:rpm", "default") == {"openssh-clients", "ca-certificates"}
    assert packages("platform:dpkg", "default") == {"openssh-client", "ca-certificates"}
    # Compilers and headers only in the builder stage (ansible-builder's compile profile).
    assert packages("platform:rpm", "compile") - packages("platform:rpm") == {
        "gcc", "libffi-devel", "openssl-devel", "python3-devel"}


@pytest.fixture(scope="module")
def build_context():
    """`tools/ee.sh`: the collection tarball, then `ansible-builder create`."""
    result = subprocess.run([os.path.join(ROOT, "tools", "ee.sh")], check=False, capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return os.path.join(EE_DIR, "context")


def test_build_context_installs_the_collection_and_its_requirements(build_context):
    build = os.path.join(build_context, "_build")
    with open(os.path.join(build_context, "Containerfile")) as f:
        containerfile = f.read()
    with open(os.path.join(ROOT, "execution-environment.yml")) as f:
        definition = yaml.safe_load(f)
    assert definition["version"] == 3
    assert f'ARG EE_BASE_IMAGE="{definition["images"]["base_image"]["name"]}"' in containerfile
    assert re.search(r'ARG ANSIBLE_INSTALL_REFS="ansible-core==2\.19\.\d+ ansible-runner==[\d.]+"',
                     containerfile)
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile

    assert pins(os.path.join(build, "requirements.txt")) == pins(os.path.join(ROOT, "meta", "ee-requirements.txt"))
    with open(os.path.join(build, "bindep.txt")) as built, open(os.path.join(ROOT, "bindep.txt")) as ours:
        assert built.read() == ours.read()

    with open(os.path.join(build, "requirements.yml")) as f:
        collections = yaml.safe_load(f)["collections"]
    assert collections == [{"name": "collections/cim-nats.tar.gz", "type": "file"}]
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        version = yaml.safe_load(f)["version"]
    with tarfile.open(os.path.join(build, "collections", "cim-nats.tar.gz")) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
        assert (info["namespace"], info["name"], info["version"]) == ("cim", "nats", version)
        shipped = set(tar.getnames())
    assert {"meta/execution-environment.yml", "meta/ee-requirements.txt", "bindep.txt",
            "plugins/modules/jetstream_layout.py", "roles/nats_cluster/tasks/main.yml"} <= shipped


def test_introspection_of_the_installed_collection_finds_its_requirements(build_context, tmp_path):
    """What ansible-builder does inside the image (and in anyone's EE that installs cim.nats)."""
    target = tmp_path / "ansible_collections" / "cim" / "nats"
    target.mkdir(parents=True)
    with tarfile.open(os.path.join(build_context, "_build", "collections", "cim-nats.tar.gz")) as tar:
        tar.extractall(target, filter="data")
    builder = os.path.join(os.path.dirname(sys.executable), "ansible-builder")
    result = subprocess.run([builder, "introspect", str(tmp_path)], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    found = yaml.safe_load(result.stdout)
    python = [line.split("#")[0].strip() for line in found["python"]]
    system = [line.split("#")[0].strip() for line in found["system"]]
    assert python == [f"{n}=={v}" for n, v in pins(os.path.join(ROOT, "meta", "ee-requirements.txt")).items()]
    assert all(line.endswith("# from collection cim.nats") for line in found["python"] + found["system"])
    assert "openssh-clients [platform:rpm]" in system and "gcc [compile]" in system
