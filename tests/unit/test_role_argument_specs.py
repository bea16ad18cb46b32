"""Every role's meta/argument_specs.yml documents exactly its defaults/main.yml: the same names,
the role's prefix, the type each default has, and any default the spec states equal to the real
one (a user reading `ansible-doc -t role` sees what the role does)."""
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, "roles", "*", "")))
TYPES = {"str": str, "path": str, "list": list, "dict": dict, "bool": bool, "int": int,
         "float": (int, float)}


def load(role, *parts):
    with open(os.path.join(ROOT, "roles", role, *parts)) as f:
        return yaml.safe_load(f) or {}


def test_every_role_is_checked():
    assert {"nats_server", "nats_cluster", "jetstream"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_document_exactly_the_defaults(role):
    defaults = load(role, "defaults", "main.yml")
    entry_points = load(role, "meta", "argument_specs.yml")["argument_specs"]
    specs = entry_points["main"]["options"]
    assert sorted(set(defaults) - set(specs)) == [], "defaults without an argument spec"
    assert sorted(set(specs) - set(defaults)) == [], "argument specs without a default"
    assert [name for name in defaults if not name.startswith(role + "_")] == []
    for name, spec in specs.items():
        value = defaults[name]
        templated = isinstance(value, str) and "{{" in value
        kind = TYPES.get(spec.get("type", "str"))
        if kind and not templated:
            assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), (
                f"{name}: default {value!r} is not of type {spec.get('type', 'str')}")
        if "default" in spec:
            assert spec["default"] == value, f"{name}: the spec says {spec['default']!r}, the role uses {value!r}"
        assert not spec.get("required"), f"{name} is required but has a default"
    # Entry points besides main (tasks_from) take only the role's own variables.
    for entry, body in entry_points.items():
        assert set((body or {}).get("options") or {}) <= set(defaults), entry
