"""The docs site builds (tests/docs/build_docs.sh, `make docs`): antsibull-docs finds no broken
doc, Sphinx no warning, and every module, filter and role of the collection has its page with
its options; a module whose DOCUMENTATION is broken fails the build, naming the module."""
import glob
import os
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HTML = os.path.join(ROOT, ".artifacts", "docs", "html")


def _page(name):
    with open(os.path.join(HTML, name), encoding="utf-8") as handle:
        return handle.read()


def _build(root):
    return subprocess.run(["bash", os.path.join(root, "tests", "docs", "build_docs.sh")], cwd=root,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200, check=False)


def test_docs_site_builds_with_a_page_for_every_plugin_and_role():
    proc = _build(ROOT)
    assert proc.returncode == 0, proc.stdout[-8000:]

    modules = [os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py"))
               if not os.path.basename(p).startswith("_")]
    for module in modules:
        assert 'cim.nats.%s module' % module in _page("%s_module.html" % module)

    for doc in glob.glob(os.path.join(ROOT, "plugins", "filter", "*.yml")):
        with open(doc) as handle:
            documentation = yaml.safe_load(handle)["DOCUMENTATION"]
        page = _page("%s_filter.html" % documentation["name"])
        for option in documentation.get("options", {}):
            if not option.startswith("_"):
                assert option in page, "%s filter page lacks option %s" % (documentation["name"], option)

    for specs in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        role = specs.split(os.sep)[-3]
        with open(specs) as handle:
            entry_points = yaml.safe_load(handle)["argument_specs"]
        page = _page("%s_role.html" % role)
        for entry_point, spec in entry_points.items():
            assert re.search(r'Entry point <code[^>]*><span class="pre">%s<' % re.escape(entry_point), page), \
                "%s role page lacks entry point %s" % (role, entry_point)
            for option in spec.get("options", {}):
                assert option in page, "%s role page lacks %s" % (role, option)


def _copy_of_the_collection(dest):
    """The files git knows, as they are in this checkout, in a git repository of their own (the
    build reads git's file list), with this checkout's venv."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, stdout=subprocess.PIPE, check=True).stdout
    for name in filter(None, names.decode().split("\0")):
        source = os.path.join(ROOT, name)
        if os.path.lexists(source):
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(source, os.path.join(dest, name), follow_symlinks=False)
    os.symlink(os.path.realpath(os.path.join(ROOT, ".venv")), os.path.join(dest, ".venv"))
    for command in (["git", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(command, cwd=dest, check=True, stdout=subprocess.DEVNULL)
    return dest


def _not_yaml(text):
    """An unclosed flow sequence at the start of DOCUMENTATION."""
    return text.replace("DOCUMENTATION = r'''\n", "DOCUMENTATION = r'''\n[\n", 1)


def _unknown_option_type(text):
    """The first option's type misspelt (list -> listx)."""
    return re.sub(r"(?m)^(    type: )(\w+)$", r"\1\2x", text, count=1)


BREAKS = {"unparsable": _not_yaml, "unknown option type": _unknown_option_type}


@pytest.mark.parametrize("broken", sorted(BREAKS))
def test_a_broken_module_doc_fails_the_build_naming_the_module(tmp_path, broken):
    copy = _copy_of_the_collection(str(tmp_path / "cim.nats"))
    module = os.path.join(copy, "plugins", "modules", "jetstream_info.py")
    with open(module) as handle:
        text = handle.read()
    with open(module, "w") as handle:
        handle.write(BREAKS[broken](text))
    with open(module) as handle:
        assert handle.read() != text
    proc = _build(copy)
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "cim.nats.jetstream_info module" in proc.stdout, proc.stdout[-4000:]
