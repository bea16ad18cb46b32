"""The docs site builds (tests/docs/build_docs.sh, `make docs`): antsibull-docs finds no broken
doc, Sphinx no warning, and every module, filter and role of the collection has its page with
its options."""
import glob
import os
import re
import subprocess

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HTML = os.path.join(ROOT, ".artifacts", "docs", "html")


def _page(name):
    with open(os.path.join(HTML, name), encoding="utf-8") as handle:
        return handle.read()


def test_docs_site_builds_with_a_page_for_every_plugin_and_role():
    proc = subprocess.run(["bash", os.path.join(ROOT, "tests", "docs", "build_docs.sh")], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200, check=False)
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
