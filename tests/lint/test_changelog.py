"""Release notes: the fragments lint clean and a release builds CHANGELOG.rst from them."""
import glob
import os
import shutil
import subprocess
import sys

import docutils.core
import docutils.nodes
import docutils.utils
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHANGELOG_BIN = os.path.join(os.path.dirname(sys.executable), "antsibull-changelog")

pytestmark = pytest.mark.lint


def changelog(*args, cwd=ROOT, env=None):
    return subprocess.run([CHANGELOG_BIN, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_fragments_and_changelog_yaml_lint_clean():
    result = changelog("lint")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    result = changelog("lint-changelog-yaml", "changelogs/changelog.yaml")
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_a_release_builds_the_changelog_from_every_fragment(tmp_path):
    # The release moves the fragments into changelog.yaml: do it in a copy laid out as an
    # installed collection, so that ansible-doc finds the new modules and plugins.
    copy = tmp_path / "ansible_collections" / "cim" / "nats"
    copy.mkdir(parents=True)
    for name in ("galaxy.yml", "changelogs", "plugins", "meta", "roles"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, copy / name)
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        version = yaml.safe_load(f)["version"]
    entries = []
    for path in sorted(glob.glob(os.path.join(ROOT, "changelogs", "fragments", "*.y*ml"))):
        with open(path) as f:
            for section, items in (yaml.safe_load(f) or {}).items():
                entries.extend(items if isinstance(items, list) else [items])
    assert entries

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    result = changelog("release", "--version", version, "--date", "2026-01-01", cwd=copy, env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    text = (copy / "CHANGELOG.rst").read_text()
    assert f"\nv{version}\n" in text
    flat = " ".join(text.split())
    # Each fragment entry, as rst renders it (the tool escapes nothing in entries).
    missing = [e for e in entries if " ".join(e.split()) not in flat]
    assert not missing, missing
    modules = sorted(os.path.splitext(os.path.basename(p))[0]
                     for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
    new_modules = text.split("New Modules\n-----------\n", 1)[1]
    assert [m for m in modules if f"\n- {m} - " not in new_modules] == []
    assert not list((copy / "changelogs" / "fragments").glob("*.y*ml"))  # consumed by the release

    # The generated file is valid reStructuredText (what Galaxy and the docs site render).
    doctree = docutils.core.publish_doctree(text, settings_overrides={"report_level": 5})
    errors = [node.astext() for node in doctree.findall(docutils.nodes.system_message)
              if node["level"] >= docutils.utils.Reporter.WARNING_LEVEL]
    assert errors == []

    # And the release record itself lints clean, as the next release reads it.
    result = changelog("lint-changelog-yaml", str(copy / "changelogs" / "changelog.yaml"))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
