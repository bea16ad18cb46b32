"""Static checks of the whole collection, as a user's CI would run them."""
import os
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.lint


def run(cmd, **kwargs):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, **kwargs)


def test_ansible_lint_production_profile():
    result = run(["ansible-lint", "--profile", "production", "--nocolor"])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]


def test_yamllint():
    result = run(["yamllint", "--strict", "."])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]


def test_collection_builds_without_tests_and_installs(tmp_path):
    result = run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(tmp_path)])
    assert result.returncode == 0, result.stderr
    (tarball,) = tmp_path.glob("cim-nats-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "galaxy.yml" not in names and "MANIFEST.json" in names
    assert any(n.startswith("roles/nats_server/") for n in names)
    assert any(n.startswith("plugins/modules/") for n in names)
    for unwanted in ("tests/", "molecule/", ".venv/", "tools/", ".collections/", "benchmarks/"):
        assert not any(n.startswith(unwanted) for n in names), unwanted

    # Install into an empty path (with --force: this checkout is already "installed" via .collections).
    install_dir = tmp_path / "installed"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(install_dir))
    result = run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force",
                  "-p", str(install_dir), str(tarball)], env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = install_dir / "ansible_collections" / "cim" / "nats"
    assert (installed / "roles" / "nats_server" / "tasks" / "main.yml").is_file()

    # The installed copy, not this checkout, answers ansible-doc.
    result = run(["ansible-doc", "cim.nats.jetstream_stream"], env=env)
    assert result.returncode == 0, result.stderr
    assert "JetStream" in result.stdout
