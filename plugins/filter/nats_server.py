# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the nats_server role: what Jinja cannot say well.

- ``nats_conf``: render a dict in nats-server's configuration format.
- ``nats_bcrypt``: bcrypt a password with a salt derived from a seed, so a second run is unchanged.
- ``nats_hash_passwords``: bcrypt every ``password`` and ``token`` in a config dict (not yet hashed).
- ``nats_size_bytes`` / ``nats_duration_seconds``: read sizes and durations the way nats-server does.
- ``nats_server_change``: classify the difference between the applied and the desired server state
  as ``none``, ``reload`` or ``restart``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import json
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types

try:
    import bcrypt

    HAS_BCRYPT = True
except ImportError:  # pragma: no cover - reported when the filter is used
    HAS_BCRYPT = False

# Keys whose string values are sizes. nats-server reads "1MB" only unquoted: quoted it is a string
# and the server refuses it ("interface conversion: interface {} is string, not int64").
SIZE_KEYS = frozenset([
    "max_payload", "max_pending", "max_control_line", "logfile_size_limit", "log_size_limit",
    "max_memory_store", "max_mem_store", "max_mem", "max_memory",
    "max_file_store", "max_file", "max_store", "max_bytes", "max_mem_bytes", "max_file_bytes",
    "max_buffered_size", "max_outstanding_catchup",
])
# nats-server's size suffixes: K/M/G/T are powers of 1000, KB/KI/KIB (and so on) of 1024.
_SIZE_RE = re.compile(r"^(\d+)(?:([KMGT])(I?B|I)?)?$", re.IGNORECASE)
_SIZE_POWER = {"K": 1, "M": 2, "G": 3, "T": 4}
# Go's time.ParseDuration, which nats-server uses for every duration.
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}
_BARE_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BCRYPT_B64 = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_STD_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def nats_size_bytes(value):
    """Return a nats-server size ("1GB", "512M", 1024) as a number of bytes; raise if unreadable."""
    if isinstance(value, bool):
        raise AnsibleFilterError("not a size: %r" % (value,))
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(to_text(value)) if isinstance(value, string_types) else None
    if not match:
        raise AnsibleFilterError(
            "%r is not a size nats-server can read (a number of bytes, or a number with K, M, G, T "
            "for powers of 1000 or KB, MB, GB, TB for powers of 1024, e.g. 1GB)" % (value,))
    number, unit, binary = match.groups()
    if not unit:
        return int(number)
    base = 1024 if binary else 1000
    return int(number) * base ** _SIZE_POWER[unit.upper()]


def nats_duration_seconds(value):
    """Return a Go duration ("2s", "1m30s", "250ms") as seconds (float); raise if unreadable."""
    if isinstance(value, bool):
        raise AnsibleFilterError("not a duration: %r" % (value,))
    if isinstance(value, (int, float)):
        return float(value)
    text = to_text(value).strip() if isinstance(value, string_types) else ""
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION_PART_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise AnsibleFilterError(
            "%r is not a duration nats-server can read (a number with a unit: ns, us, ms, s, m, h; "
            "e.g. 2s, 1m30s)" % (value,))
    return total


def _quote(text):
    """A double-quoted string in nats-server's syntax (escapes: \\\\ \\" \\n \\r \\t \\xXX)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("\\x%02x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(key):
    key = to_text(key)
    return key if _BARE_KEY_RE.match(key) else _quote(key)


def _scalar(value, key):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, string_types):
        if key in SIZE_KEYS and _SIZE_RE.match(value):
            return value
        return _quote(to_text(value))
    raise AnsibleFilterError("nats_conf cannot render %r (a %s) at %r"
                             % (value, type(value).__name__, key))


def _value(value, key, depth, indent):
    pad = " " * (indent * depth)
    inner = " " * (indent * (depth + 1))
    if isinstance(value, dict):
        body = _body(value, depth + 1, indent)
        return "{\n" + body + pad + "}" if body else "{}"
    if isinstance(value, (list, tuple)):
        items = [item for item in value if item is not None]
        if not items:
            return "[]"
        if all(not isinstance(item, (dict, list, tuple)) for item in items):
            return "[" + ", ".join(_scalar(item, key) for item in items) + "]"
        lines = [inner + _value(item, key, depth + 1, indent) for item in items]
        return "[\n" + "\n".join(lines) + "\n" + pad + "]"
    return _scalar(value, key)


def _body(data, depth, indent):
    pad = " " * (indent * depth)
    lines = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            lines.append("%s%s %s" % (pad, _key(key), _value(value, key, depth, indent)))
        else:
            lines.append("%s%s: %s" % (pad, _key(key), _value(value, key, depth, indent)))
    return "".join(line + "\n" for line in lines)


def nats_conf(data, indent=2):
    """Render a dict as a nats-server configuration file.

    Keys whose value is None are left out, so optional blocks can be switched off with None.
    Strings are double-quoted, except sizes under a size key ("1GB" must stay bare).
    """
    if not isinstance(data, dict):
        raise AnsibleFilterError("nats_conf expects a dict, got %s" % type(data).__name__)
    return _body(data, 0, int(indent))


def nats_bcrypt(password, salt_seed, cost=11):
    """bcrypt-hash a password the way nats-server reads it ($2a$), with a salt derived from
    salt_seed and the password (HMAC-SHA256), so the same input always gives the same hash and a
    second Ansible run reports no change. Different seeds give different hashes."""
    if not HAS_BCRYPT:
        raise AnsibleFilterError("the nats_bcrypt filter needs the Python library bcrypt on the "
                                 "controller (pip install bcrypt)")
    if not isinstance(password, string_types) or not password:
        raise AnsibleFilterError("nats_bcrypt needs a non-empty password string")
    secret = to_bytes(password, errors="surrogate_or_strict")
    if len(secret) > 72:
        raise AnsibleFilterError("bcrypt only uses the first 72 bytes of a password; this one has "
                                 "%d bytes, use a shorter one" % len(secret))
    cost = int(cost)
    if not 4 <= cost <= 31:
        raise AnsibleFilterError("bcrypt cost must be between 4 and 31, got %d" % cost)
    digest = hmac.new(to_bytes(salt_seed), b"cim.nats\0" + secret, hashlib.sha256).digest()[:16]
    salt22 = base64.b64encode(digest).rstrip(b"=").translate(bytes.maketrans(_STD_B64, _BCRYPT_B64))
    salt = b"$2a$%02d$" % cost + salt22
    return to_text(bcrypt.hashpw(secret, salt))


_BCRYPT_RE = re.compile(r"^\$2[abxy]\$\d{2}\$")
_SECRET_KEYS = ("password", "token")


def nats_hash_passwords(data, salt_seed, cost=11):
    """Return a copy of a nats-server config dict in which every ``password`` and ``token`` value
    that is not already a bcrypt hash is replaced by its bcrypt hash (see ``nats_bcrypt``).

    The salt is derived from salt_seed and, for a user entry, the user's name (otherwise the
    value's path in the config), so the same input gives the same config on every run.
    """
    def walk(node, path):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                here = "%s.%s" % (path, key) if path else to_text(key)
                if key in _SECRET_KEYS and isinstance(value, string_types) and value \
                        and not _BCRYPT_RE.match(value):
                    owner = node.get("user")
                    who = "user:%s" % owner if isinstance(owner, string_types) else here
                    out[key] = nats_bcrypt(value, "%s\0%s\0%s" % (salt_seed, who, key), cost)
                else:
                    out[key] = walk(value, here)
            return out
        if isinstance(node, (list, tuple)):
            return [walk(item, "%s[%d]" % (path, index)) for index, item in enumerate(node)]
        return node

    return walk(data, "")


def _flatten(data, prefix=""):
    """Map each leaf of a nested dict to its dotted path (lists are leaves)."""
    flat = {}
    if isinstance(data, dict):
        for key, value in data.items():
            path = "%s.%s" % (prefix, key) if prefix else to_text(key)
            if isinstance(value, dict) and value:
                flat.update(_flatten(value, path))
            elif value is not None:
                flat[path] = value
    return flat


def _covered(path, prefixes):
    return any(path == prefix or path.startswith(prefix + ".") for prefix in prefixes)


def _increased(old, new):
    try:
        return nats_size_bytes(new) > nats_size_bytes(old)
    except AnsibleFilterError:
        return False


def nats_server_change(applied, desired, reloadable=(), increase_only=()):
    """Classify what it takes to bring a running server from ``applied`` to ``desired``.

    Both are records ``{"config": {...}, "reload_files": {...}, "restart_files": {...}}`` (the
    files map a name to a checksum). A config leaf whose dotted path is covered by a prefix in
    ``reloadable`` (or is in ``increase_only`` and grows) can be reloaded; any other changed leaf
    needs a restart, and so does any change in ``restart_files`` (binary, unit). A missing
    applied record means the state of the running server is unknown: restart.

    Returns ``{"action": "none"|"reload"|"restart", "restart_paths": [...], "reload_paths": [...]}``
    with the changed paths only (never values: they can hold secrets).
    """
    desired = desired or {}
    if not applied:
        return {"action": "restart", "restart_paths": ["(no record of the applied config)"],
                "reload_paths": []}
    old, new = _flatten(applied.get("config") or {}), _flatten(desired.get("config") or {})
    restart_paths, reload_paths = [], []
    for path in sorted(set(old) | set(new)):
        if path in old and path in new and json.dumps(old[path], sort_keys=True) == json.dumps(
                new[path], sort_keys=True):
            continue
        if _covered(path, reloadable):
            reload_paths.append(path)
        elif path in increase_only and path in old and path in new \
                and _increased(old[path], new[path]):
            reload_paths.append(path)
        else:
            restart_paths.append(path)
    for kind, paths in (("restart_files", restart_paths), ("reload_files", reload_paths)):
        before, after = applied.get(kind) or {}, desired.get(kind) or {}
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                paths.append("file:%s" % name)
    action = "restart" if restart_paths else "reload" if reload_paths else "none"
    return {"action": action, "restart_paths": restart_paths, "reload_paths": reload_paths}


class FilterModule(object):
    """cim.nats filters for rendering and applying nats-server configuration."""

    def filters(self):
        return {
            "nats_conf": nats_conf,
            "nats_bcrypt": nats_bcrypt,
            "nats_hash_passwords": nats_hash_passwords,
            "nats_size_bytes": nats_size_bytes,
            "nats_duration_seconds": nats_duration_seconds,
            "nats_server_change": nats_server_change,
        }
