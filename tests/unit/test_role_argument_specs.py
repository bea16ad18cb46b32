"""Every role's meta/argument_specs.yml documents exactly its defaults/main.yml: the same names,
the role's prefix, the type each default has, and any default the spec states equal to the real
one (a user reading `ansible-doc -t role` sees what the role does)."""
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES_DIR = os.path.join(ROOT, "roles")
ROLES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROLES_DIR, "*", "")))
TYPES = {"str": str, "path": str, "list": list, "dict": dict, "bool": bool, "int": int,
         "float": (int, float)}


def load(roles_dir, role, *parts):
    with open(os.path.join(roles_dir, role, *parts)) as f:
        return yaml.safe_load(f) or {}


def disagreements(roles_dir, role):
    """What a user would find wrong between the role's defaults and its argument specs, each
    naming the variable."""
    defaults = load(roles_dir, role, "defaults", "main.yml")
    entry_points = load(roles_dir, role, "meta", "argument_specs.yml")["argument_specs"]
    specs = entry_points["main"].get("options") or {}
    found = ["%s is in defaults/main.yml, not in meta/argument_specs.yml" % name
             for name in sorted(set(defaults) - set(specs))]
    found += ["%s is in meta/argument_specs.yml, not in defaults/main.yml" % name
              for name in sorted(set(specs) - set(defaults))]
    found += ["%s lacks the role's prefix %s_" % (name, role) for name in defaults if not name.startswith(role + "_")]
    for name, spec in sorted(specs.items()):
        if name not in defaults:
            continue
        value = defaults[name]
        templated = isinstance(value, str) and "{{" in value
        kind = TYPES.get(spec.get("type", "str"))
        if kind and not templated and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            found.append("%s: default %r is not of type %s" % (name, value, spec.get("type", "str")))
        if "default" in spec and spec["default"] != value:
            found.append("%s: the spec says %r, the role uses %r" % (name, spec["default"], value))
        if spec.get("required"):
            found.append("%s is required but has a default" % name)
    # Entry points besides main (tasks_from) take only the role's own variables.
    for entry, body in sorted(entry_points.items()):
        if entry == "main":
            continue
        found += ["entry point %s takes %s, which is not in defaults/main.yml" % (entry, name)
                  for name in sorted(set((body or {}).get("options") or {}) - set(defaults))]
    return found


def test_every_role_is_checked():
    assert {"nats_server", "nats_cluster", "jetstream"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_document_exactly_the_defaults(role):
    assert disagreements(ROLES_DIR, role) == []


def test_a_variable_in_only_one_of_them_is_named(tmp_path):
    (tmp_path / "demo" / "defaults").mkdir(parents=True)
    (tmp_path / "demo" / "meta").mkdir()
    (tmp_path / "demo" / "defaults" / "main.yml").write_text("demo_port: 4222\ndemo_only_default: true\n")
    (tmp_path / "demo" / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": {
        "options": {"demo_port": {"type": "int"}, "demo_only_spec": {"type": "str"}}}}}))
    assert disagreements(str(tmp_path), "demo") == [
        "demo_only_default is in defaults/main.yml, not in meta/argument_specs.yml",
        "demo_only_spec is in meta/argument_specs.yml, not in defaults/main.yml",
    ]
