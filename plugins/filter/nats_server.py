# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the nats_server role: what Jinja cannot say well.

- ``nats_conf``: render a dict in nats-server's configuration format.
- ``nats_bcrypt``: bcrypt a password with a random salt, keeping the deployed hash when it still
  verifies the password, so a second run is unchanged.
- ``nats_hash_passwords``: bcrypt every ``password`` and ``token`` in a config dict (not yet
  hashed), reusing the hashes of the config applied before where they verify.
- ``nats_shared_hashes``: the hashes the hosts of a play share, checked once for all of them (and
  one new hash per secret where they need one), for ``nats_hash_passwords``.
- ``nats_redact``: remove URL credentials, hashes and known secrets from text before it is shown.
- ``nats_size_bytes`` / ``nats_duration_seconds``: read sizes and durations the way nats-server does.
- ``nats_server_change``: classify the difference between the applied and the desired server state
  as ``none``, ``reload`` or ``restart``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import os
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.six import string_types
from ansible.module_utils.six.moves.urllib.parse import quote

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


_BCRYPT_RE = re.compile(r"^\$2[abxy]\$\d{2}\$")
_BCRYPT_HASH_RE = re.compile(r"\$2[abxy]\$\d{2}\$[./A-Za-z0-9]{53}")
_SECRET_KEYS = ("password", "token")
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
# scheme://userinfo@ up to the last "@" before the next URL on the same line: a broken URL may
# hold an unencoded "@", "/", "#" or space in its password, and the whole userinfo must go.
_URL_CREDENTIALS_RE = re.compile(r"(%s)(?:(?!%s)[^\r\n])*@" % (_SCHEME, _SCHEME))


def _secret_text(value, where):
    """The text of a password or token. YAML reads an unquoted 12345678 as a number: it is the
    same secret written as digits, so it is hashed as the string of those digits."""
    if isinstance(value, bool):
        raise AnsibleFilterError("%s is a boolean (YAML reads an unquoted yes/no/true/false as "
                                 "one); quote it" % where)
    if isinstance(value, float):
        # 1.10 or 1e3 come back as 1.1 and 1000.0: the digits the user wrote are lost.
        raise AnsibleFilterError("%s is a number with a decimal point or exponent, which YAML may "
                                 "have changed on reading it; quote it" % where)
    if isinstance(value, int):
        return to_text(str(value))
    if isinstance(value, string_types):
        return to_text(value)
    raise AnsibleFilterError("%s must be a string, not a %s" % (where, type(value).__name__))


def _is_bcrypt(value):
    return isinstance(value, string_types) and _BCRYPT_HASH_RE.match(value) is not None \
        and len(value) == 60


def _reusable(secret, hashed, cost):
    """True if ``hashed`` (a deployed hash) is one nats-server reads, of this cost, for secret."""
    if not _is_bcrypt(hashed) or not hashed.startswith("$2a$%02d$" % cost):
        return False
    try:
        return bcrypt.checkpw(secret, to_bytes(hashed))
    except ValueError:
        return False


def nats_bcrypt(password, previous=None, cost=11):
    """bcrypt-hash a password the way nats-server reads it ($2a$).

    ``previous`` is the hash deployed for this password's place, if any: when it verifies the
    password at this cost it is returned unchanged, so a second Ansible run changes nothing.
    Otherwise the hash gets a fresh random salt (``bcrypt.gensalt``): no salt depends on the
    password. A number (YAML's reading of 12345678) is hashed as its digits.
    """
    if not HAS_BCRYPT:
        raise AnsibleFilterError("the nats_bcrypt filter needs the Python library bcrypt on the "
                                 "controller (pip install bcrypt)")
    text = _secret_text(password, "the password")
    if not text:
        raise AnsibleFilterError("nats_bcrypt needs a non-empty password")
    secret = to_bytes(text, errors="surrogate_or_strict")
    if len(secret) > 72:
        raise AnsibleFilterError("bcrypt only uses the first 72 bytes of a password; this one has "
                                 "%d bytes, use a shorter one" % len(secret))
    cost = int(cost)
    if not 4 <= cost <= 31:
        raise AnsibleFilterError("bcrypt cost must be between 4 and 31, got %d" % cost)
    if previous not in (None, "") and not _is_bcrypt(previous):
        # Never echo it: it may be a secret passed in the wrong place.
        raise AnsibleFilterError("nats_bcrypt: the previous value must be the bcrypt hash deployed "
                                 "for this password (or empty), not something else")
    if previous and _reusable(secret, previous, cost):
        return to_text(previous)
    return to_text(bcrypt.hashpw(secret, bcrypt.gensalt(cost, prefix=b"2a")))


def _place(path, node, index):
    """Where a list item sits: a user entry by its name (so reordering users keeps their hashes),
    anything else by its index."""
    user = node.get("user") if isinstance(node, dict) else None
    if isinstance(user, string_types) or (isinstance(user, int) and not isinstance(user, bool)):
        return "%s[user=%s]" % (path, to_text(user))
    return "%s[%d]" % (path, index)


def _secret_places(data):
    """Map the place of every password and token in a config (see ``_place``) to its value."""
    found = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                here = "%s.%s" % (path, key) if path else to_text(key)
                if key in _SECRET_KEYS and not isinstance(value, (dict, list, tuple)):
                    found[here] = value
                else:
                    walk(value, here)
        elif isinstance(node, (list, tuple)):
            for index, item in enumerate(node):
                walk(item, _place(path, item, index))

    walk(data, "")
    return found


def _checked_secret(value, place, cost):
    """The bytes of a secret as nats_bcrypt hashes them; AnsibleFilterError if it cannot be hashed."""
    text = _secret_text(value, place)
    secret = to_bytes(text, errors="surrogate_or_strict")
    if not secret or len(secret) > 72 or not 4 <= int(cost) <= 31:
        raise AnsibleFilterError("%s cannot be hashed" % place)
    return secret


def _digest(key, secret):
    return hmac.new(to_bytes(key), secret, hashlib.sha256).hexdigest()


def nats_shared_hashes(data, previous_configs=None, cost=11, part=0, parts=1):
    """Check once, for the hosts of a play, the bcrypt hashes they share.

    ``data`` is one host's config dict (plaintext secrets), ``previous_configs`` the configs the
    running servers of the play's hosts applied (one per host; empty for a host without one). At
    each place of a secret (see ``nats_hash_passwords``), every hash deployed on two hosts or more
    is checked against this host's secret, once instead of once per host; where no host has a
    hash yet, or none of the shared ones verifies, one new hash is made, with a random salt, for
    every host whose secret is the same. Returns ``{'key': ..., 'places': {place: {'digest': ...,
    'checked': [...], 'valid': [...]}}}`` for ``nats_hash_passwords(..., shared=...)``: the digest
    (HMAC-SHA256 under a random key made for this call) tells a host whether its own secret at
    that place is the one checked, without bcrypt. The result verifies passwords quickly: it is
    for the run only (no_log, never written anywhere).

    ``part`` of ``parts`` shares the work out between the hosts: each one (part = its index in the
    play) takes every ``parts``-th place of its secrets, in sorted order, so that the checks run on
    the hosts at once; ``nats_hash_passwords`` takes the list of their results.
    """
    if not HAS_BCRYPT:
        raise AnsibleFilterError("the nats_shared_hashes filter needs the Python library bcrypt on "
                                 "the controller (pip install bcrypt)")
    if not isinstance(data, dict):
        raise AnsibleFilterError("nats_shared_hashes expects a config dict, got %s" % type(data).__name__)
    cost = int(cost)
    prefix = "$2a$%02d$" % cost
    deployed = [_secret_places(config) if isinstance(config, dict) else {}
                for config in (previous_configs or [])]
    part, parts = int(part), int(parts)
    if not 0 <= part < parts:
        raise AnsibleFilterError("nats_shared_hashes: part must be 0 to parts - 1, got %d of %d" % (part, parts))
    key = to_text(os.urandom(16).hex())
    places = {}
    secrets = _secret_places(data)
    for place in sorted(secrets)[part::parts]:
        value = secrets[place]
        if value is None or value == "" or (isinstance(value, string_types) and _BCRYPT_RE.match(value)):
            continue
        try:
            secret = _checked_secret(value, place, cost)
        except AnsibleFilterError:
            continue  # nats_hash_passwords reports it, naming the place
        hashes = [found.get(place) for found in deployed]
        usable = [h for h in hashes if _is_bcrypt(h) and h.startswith(prefix)]
        shared = sorted(set(h for h in usable if usable.count(h) > 1))
        valid = [h for h in shared if _reusable(secret, h, cost)]
        if not valid and (shared or len(usable) < len(hashes)):
            valid = [to_text(bcrypt.hashpw(secret, bcrypt.gensalt(cost, prefix=b"2a")))]
        places[place] = {"digest": _digest(key, secret), "checked": shared, "valid": valid}
    return {"key": key, "places": places}


def nats_hash_passwords(data, previous=None, cost=11, shared=None):
    """Return a copy of a nats-server config dict in which every ``password`` and ``token`` value
    that is not already a bcrypt hash is replaced by its bcrypt hash (see ``nats_bcrypt``).

    ``previous`` is the config the running server applied (with its hashes). A secret whose
    previous hash, at the same place, verifies it keeps that hash; any other gets a fresh random
    salt. The place of a user entry is its user name within its list (``authorization.users``,
    ``accounts.<name>.users``); of any other secret, its dotted path. Numbers are hashed as their
    digits; values already hashed are kept as given.

    ``shared`` is what ``nats_shared_hashes`` found for the play's hosts (one result, or the list of
    the hosts' parts): where this secret is the one it checked, a hash it found valid is kept (or
    taken, instead of a fresh one) without bcrypt, and one it found invalid is not checked again.
    """
    if previous in (None, ""):
        previous = {}
    if not isinstance(previous, dict):
        raise AnsibleFilterError("nats_hash_passwords: the second argument is the config the server "
                                 "applied before (a dict, or empty), not a %s" % type(previous).__name__)
    if shared in (None, ""):
        shared = []
    if isinstance(shared, dict):
        shared = [shared]
    if not isinstance(shared, (list, tuple)) or not all(isinstance(part, dict) for part in shared):
        raise AnsibleFilterError("nats_hash_passwords: shared is what nats_shared_hashes returned "
                                 "(a dict or a list of them, or empty), not a %s" % type(shared).__name__)
    # Per place, the first part that checked it, and the key of its digest.
    checks = {}
    for part in shared:
        for place, checked in (part.get("places") or {}).items():
            checks.setdefault(place, (part.get("key"), checked))
    deployed = _secret_places(previous)

    def from_shared(value, place, previous_hash):
        """The hash to use from the play's shared check, or None to hash as a single host."""
        if place not in checks:
            return None
        key, checked = checks[place]
        try:
            secret = _checked_secret(value, place, cost)
        except AnsibleFilterError:
            return None
        if not hmac.compare_digest(_digest(key, secret), str(checked["digest"])):
            return None  # another secret than the one checked
        if previous_hash in checked["valid"]:
            return previous_hash
        if previous_hash not in checked["checked"] and _is_bcrypt(previous_hash) \
                and _reusable(secret, previous_hash, cost):
            return previous_hash
        if checked["valid"]:
            return checked["valid"][0]
        # The deployed hash (if any) was just checked: a new one, without checking it again.
        return to_text(bcrypt.hashpw(secret, bcrypt.gensalt(int(cost), prefix=b"2a")))

    def hashed(value, place):
        if isinstance(value, string_types) and _BCRYPT_RE.match(value):
            return value
        previous_hash = deployed.get(place)
        _secret_text(value, place)
        found = from_shared(value, place, previous_hash) if checks else None
        if found is not None:
            return to_text(found)
        try:
            return nats_bcrypt(value, previous_hash if _is_bcrypt(previous_hash) else None, cost)
        except AnsibleFilterError as exc:
            raise AnsibleFilterError("%s: %s" % (place, exc.message))

    def walk(node, path):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                here = "%s.%s" % (path, key) if path else to_text(key)
                if key in _SECRET_KEYS and value is not None and value != "" \
                        and not isinstance(value, (dict, list, tuple)):
                    out[key] = hashed(value, here)
                else:
                    out[key] = walk(value, here)
            return out
        if isinstance(node, (list, tuple)):
            return [walk(item, _place(path, item, index)) for index, item in enumerate(node)]
        return node

    return walk(data, "")


def _secret_strings(value, out):
    """Collect the plaintext secrets in ``value``: strings (and numbers) as given, and from a
    config dict the ``password`` and ``token`` values that are not hashes."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SECRET_KEYS and not isinstance(item, (dict, list, tuple, bool)):
                if item is not None and not (isinstance(item, string_types) and _BCRYPT_RE.match(item)):
                    out.add(to_text(item))
            elif isinstance(item, (dict, list, tuple)):
                _secret_strings([entry for entry in item if isinstance(entry, dict)]
                                if isinstance(item, (list, tuple)) else item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _secret_strings(item, out)
    elif value is not None and not isinstance(value, bool):
        out.add(to_text(value))


def nats_redact(text, secrets=None):
    """Return ``text`` (say nats-server's verdict on a config) fit to print: the credentials of
    every URL (``nats-route://user:pass@host`` -> ``nats-route://***@host``), every bcrypt hash
    and every secret in ``secrets`` (strings, or config dicts whose ``password`` and ``token``
    values count; also as URL-encoded and quoted) replaced by ``***``."""
    text = to_text(text if text is not None else "")
    text = _URL_CREDENTIALS_RE.sub(lambda match: match.group(1) + "***@", text)
    text = _BCRYPT_HASH_RE.sub("***", text)
    found = set()
    _secret_strings(secrets, found)
    forms = set()
    for secret in found:
        if secret:
            forms.update([secret, quote(secret, safe=""), quote(secret, safe="/"),
                          json.dumps(secret)[1:-1]])
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


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


_RELEASE_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?")


def _release(text):
    """Read a release ("2.12.8", "v2.12.8", ``nats-server --version``'s "nats-server: v2.12.8")
    as a comparable tuple; a pre-release sorts before its release. None when unreadable."""
    match = _RELEASE_RE.search(to_text(text)) if text else None
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1)


def _rule_paths(rules, release):
    """The paths of ``rules`` that hold for ``release``. A rule is a dotted path, or
    ``{path, reload_from}`` for what only that release and later ones reload: it holds only when
    the release is known and not older (an unknown release gets the restart)."""
    paths = []
    for rule in rules or ():
        if isinstance(rule, dict):
            since = _release(rule.get("reload_from"))
            if since is None:
                raise AnsibleFilterError("reload_from of %r is not a release" % (rule,))
            if release is None or release < since:
                continue
            rule = rule.get("path")
        paths.append(to_text(rule))
    return paths


def _covered(path, prefixes):
    return any(path == prefix or path.startswith(prefix + ".") for prefix in prefixes)


def _increased(old, new):
    try:
        return nats_size_bytes(new) > nats_size_bytes(old)
    except AnsibleFilterError:
        return False


def nats_server_change(applied, desired, reloadable=(), increase_only=(), server_version=None,
                       refused=()):
    """Classify what it takes to bring a running server from ``applied`` to ``desired``.

    Both are records ``{"config": {...}, "reload_files": {...}, "restart_files": {...}}`` (the
    files map a name to a checksum). A config leaf whose dotted path is covered by a prefix in
    ``reloadable`` (or is in ``increase_only`` and grows) can be reloaded, unless a prefix in
    ``refused`` covers it (what the server refuses to reload inside a reloadable block); any other
    changed leaf needs a restart, and so does any change in ``restart_files`` (binary, unit). A
    missing applied record means the state of the running server is unknown: restart.

    Entries of ``reloadable`` and ``increase_only`` may be ``{path, reload_from}``: reloadable only
    when ``server_version`` (the release the running server runs) is known and not older.

    Returns ``{"action": "none"|"reload"|"restart", "restart_paths": [...], "reload_paths": [...]}``
    with the changed paths only (never values: they can hold secrets).
    """
    desired = desired or {}
    if not applied:
        return {"action": "restart", "restart_paths": ["(no record of the applied config)"],
                "reload_paths": []}
    release = _release(server_version)
    reloadable = _rule_paths(reloadable, release)
    increase_only = _rule_paths(increase_only, release)
    refused = _rule_paths(refused, release)
    old, new = _flatten(applied.get("config") or {}), _flatten(desired.get("config") or {})
    restart_paths, reload_paths = [], []
    for path in sorted(set(old) | set(new)):
        if path in old and path in new and json.dumps(old[path], sort_keys=True) == json.dumps(
                new[path], sort_keys=True):
            continue
        if _covered(path, refused):
            restart_paths.append(path)
        elif _covered(path, reloadable):
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
            "nats_shared_hashes": nats_shared_hashes,
            "nats_redact": nats_redact,
            "nats_size_bytes": nats_size_bytes,
            "nats_duration_seconds": nats_duration_seconds,
            "nats_server_change": nats_server_change,
        }
