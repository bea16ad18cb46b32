# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn what a user does with JetStream into nats-server permissions.

- ``nats_jetstream_permissions``: render each user's ``jetstream`` entry (consume, publish,
  manage) into least-privilege ``permissions`` and drop the key, which nats-server would refuse.
- ``nats_jetstream_permission_warnings``: name the users who subscribe to ``$JS`` subjects yet
  may not pull from or acknowledge to a pull consumer.

A user entry may say::

    jetstream:
      consume: [{stream: GRAPH_EVENTS, consumer: GRAPH_PROJECTION}]  # fetch, ack, nak, term, info
      publish: ["events.>"]        # publish to stream subjects and receive the PubAck
      manage: [CIM_EVENTS]         # or true: the whole JetStream API of the account
      inbox_prefix: _INBOX         # where the client receives replies (nats-py's inbox_prefix)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

JETSTREAM_KEYS = ("consume", "publish", "manage", "inbox_prefix")
CONSUME_KEYS = ("stream", "consumer")
DEFAULT_INBOX_PREFIX = "_INBOX"
# Stream and consumer names end up as one subject token.
_NAME_RE = re.compile(r"^[^.*>\s]+$")

# What pulling asks for, and where acks go: the subjects a consumer must be allowed to publish.
PULL_SUBJECT = "$JS.API.CONSUMER.MSG.NEXT.*.*"
ACK_SUBJECT = "$JS.ACK.*.*.>"


def _consume_subjects(stream, consumer):
    """Fetch (MSG.NEXT), ack / nak / term / in-progress ($JS.ACK), and the consumer info that
    nats-py's pull_subscribe asks before it pulls."""
    return [
        "$JS.API.CONSUMER.MSG.NEXT.%s.%s" % (stream, consumer),
        "$JS.ACK.%s.%s.>" % (stream, consumer),
        "$JS.API.CONSUMER.INFO.%s.%s" % (stream, consumer),
    ]


def _manage_account_subjects():
    """Account info (API level, limits) and stream names: what clients and the cim.nats
    modules read before they touch one stream."""
    return ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]


def _manage_stream_subjects(stream):
    """Create, update, inspect, purge and delete one stream and create, inspect, list and delete
    its consumers (named, durable and ephemeral create requests)."""
    return [
        "$JS.API.STREAM.CREATE.%s" % stream,
        "$JS.API.STREAM.UPDATE.%s" % stream,
        "$JS.API.STREAM.INFO.%s" % stream,
        "$JS.API.STREAM.PURGE.%s" % stream,
        "$JS.API.STREAM.DELETE.%s" % stream,
        "$JS.API.CONSUMER.CREATE.%s" % stream,
        "$JS.API.CONSUMER.CREATE.%s.>" % stream,
        "$JS.API.CONSUMER.DURABLE.CREATE.%s.*" % stream,
        "$JS.API.CONSUMER.INFO.%s.*" % stream,
        "$JS.API.CONSUMER.LIST.%s" % stream,
        "$JS.API.CONSUMER.NAMES.%s" % stream,
        "$JS.API.CONSUMER.DELETE.%s.*" % stream,
    ]


def _fail(where, message):
    raise AnsibleFilterError("%s: %s" % (where, message))


def _check_name(where, key, value, what):
    if not isinstance(value, string_types) or not value:
        _fail(where, "%s needs %s (a non-empty string), got %r" % (key, what, value))
    if not _NAME_RE.match(value):
        _fail(where, "%s must be %s without '.', '*', '>' or spaces, got %r" % (key, what, value))
    return to_text(value)


def _check_subject(where, key, value):
    if not isinstance(value, string_types) or not value:
        _fail(where, "%s must be a subject (a non-empty string), got %r" % (key, value))
    tokens = to_text(value).split(".")
    if any(not token or re.search(r"\s", token) for token in tokens) or ">" in tokens[:-1] \
            or any(token != ">" and ">" in token or token != "*" and "*" in token for token in tokens):
        _fail(where, "%s is not a valid subject: %r" % (key, value))
    return to_text(value)


def _list(where, key, value):
    if not isinstance(value, (list, tuple)):
        _fail(where, "%s must be a list, got %s" % (key, type(value).__name__))
    return list(value)


def _render(where, spec):
    """Return (publish, subscribe) subject lists for one ``jetstream`` entry."""
    if not isinstance(spec, dict):
        _fail(where, "jetstream must be a dict with some of %s, got %s"
              % (", ".join(JETSTREAM_KEYS), type(spec).__name__))
    unknown = sorted(to_text(key) for key in spec if key not in JETSTREAM_KEYS)
    if unknown:
        _fail(where, "jetstream.%s is not a known key (use %s)" % (unknown[0], ", ".join(JETSTREAM_KEYS)))
    publish, subscribe = [], []

    for index, item in enumerate(_list(where, "jetstream.consume", spec.get("consume") or [])):
        key = "jetstream.consume[%d]" % index
        if not isinstance(item, dict):
            _fail(where, "%s must be a dict {stream, consumer}, got %r" % (key, item))
        unknown = sorted(to_text(name) for name in item if name not in CONSUME_KEYS)
        if unknown:
            _fail(where, "%s.%s is not a known key (use stream, consumer)" % (key, unknown[0]))
        stream = _check_name(where, key + ".stream", item.get("stream"), "the stream's name")
        consumer = _check_name(where, key + ".consumer", item.get("consumer"), "the consumer's name")
        publish.extend(_consume_subjects(stream, consumer))

    for index, subject in enumerate(_list(where, "jetstream.publish", spec.get("publish") or [])):
        publish.append(_check_subject(where, "jetstream.publish[%d]" % index, subject))

    manage = spec.get("manage")
    if manage is True:
        publish.append("$JS.API.>")
    elif manage not in (None, False):
        if not isinstance(manage, (list, tuple)):
            _fail(where, "jetstream.manage must be true or a list of stream names, got %r" % (manage,))
        streams = list(manage)
        if streams:
            publish.extend(_manage_account_subjects())
        for index, stream in enumerate(streams):
            publish.extend(_manage_stream_subjects(
                _check_name(where, "jetstream.manage[%d]" % index, stream, "a stream's name")))

    inbox = spec.get("inbox_prefix")
    inbox = DEFAULT_INBOX_PREFIX if inbox is None else _check_subject(where, "jetstream.inbox_prefix", inbox)
    if "*" in inbox or ">" in inbox:
        _fail(where, "jetstream.inbox_prefix must not hold wildcards, got %r" % (inbox,))
    if publish:
        # Every verb is a request: the answer (PubAck, API reply, fetched messages) comes to an inbox.
        subscribe.append(inbox + ".>")
    return publish, subscribe


def _merge(current, extra):
    """Add subjects to one direction of a user's permissions, keeping its form (list or
    {allow, deny}); a direction without an allow list gets exactly ``extra``."""
    if not extra:
        return current
    if current is None:
        current = []
    if isinstance(current, string_types):
        current = [current]
    if isinstance(current, dict):
        merged = dict(current)
        merged["allow"] = _merge(current.get("allow"), extra)
        return merged
    out = []
    for subject in list(current) + list(extra):
        if subject not in out:
            out.append(subject)
    return out


def _user_name(entry, index):
    for key in ("user", "nkey"):
        if isinstance(entry.get(key), string_types) and entry.get(key):
            return "user %s" % entry[key]
    return "user #%d" % (index + 1)


def _render_users(users, where_prefix):
    if users is None:
        return None
    if not isinstance(users, (list, tuple)):
        raise AnsibleFilterError("%susers must be a list, got %s" % (where_prefix, type(users).__name__))
    out = []
    for index, entry in enumerate(users):
        if not isinstance(entry, dict) or "jetstream" not in entry:
            out.append(entry)
            continue
        where = where_prefix + _user_name(entry, index)
        spec = entry.get("jetstream")
        user = dict((key, value) for key, value in entry.items() if key != "jetstream")
        if spec is None:
            out.append(user)
            continue
        publish, subscribe = _render(where, spec)
        permissions = user.get("permissions")
        if permissions is not None and not isinstance(permissions, dict):
            _fail(where, "permissions must be a dict, got %s" % type(permissions).__name__)
        permissions = dict(permissions or {})
        if publish:
            permissions["publish"] = _merge(permissions.get("publish"), publish)
        if subscribe:
            permissions["subscribe"] = _merge(permissions.get("subscribe"), subscribe)
        if permissions:
            user["permissions"] = permissions
        out.append(user)
    return out


def nats_jetstream_permissions(data):
    """Render the ``jetstream`` entry of every user into its ``permissions`` and drop the key.

    ``data`` is a list of user entries (``nats_server_users``) or a dict of accounts
    (``nats_server_accounts``, each with ``users``); the same shape comes back. Subjects the user
    already lists stay first, rendered ones follow, none twice; a direction given as
    ``{allow, deny}`` keeps its deny list. Users without ``jetstream`` are returned unchanged.
    Raises AnsibleFilterError naming the account, the user and the key of a bad entry.
    """
    if isinstance(data, (list, tuple)):
        return _render_users(data, "")
    if isinstance(data, dict):
        out = {}
        for name, account in data.items():
            if isinstance(account, dict) and account.get("users") is not None:
                account = dict(account)
                account["users"] = _render_users(account["users"], "account %s, " % to_text(name))
            out[name] = account
        return out
    raise AnsibleFilterError("nats_jetstream_permissions expects a list of users or a dict of "
                             "accounts, got %s" % type(data).__name__)


# -- checking what a user may do ---------------------------------------------------------------
def _overlap(left, right):
    """True when some subject matches both patterns."""
    one, two = left.split("."), right.split(".")
    for index, token in enumerate(one):
        if index >= len(two):
            return False
        other = two[index]
        if token == ">" or other == ">":
            return True
        if token != other and "*" not in (token, other):
            return False
    return len(one) == len(two)


def _covers(pattern, subject):
    """True when every subject that ``subject`` matches is matched by ``pattern``."""
    one, two = pattern.split("."), subject.split(".")
    for index, token in enumerate(one):
        if index >= len(two):
            return False
        other = two[index]
        if token == ">":
            return True
        if token == "*":
            if other == ">":
                return False
        elif token != other:
            return False
    return len(one) == len(two)


def _allow_deny(direction):
    """(allow list or None for everything, deny list) of one direction of permissions."""
    if direction is None:
        return None, []
    if isinstance(direction, string_types):
        return [direction], []
    if isinstance(direction, dict):
        allow, deny = direction.get("allow"), direction.get("deny") or []
        if isinstance(allow, string_types):
            allow = [allow]
        if isinstance(deny, string_types):
            deny = [deny]
        return (None if allow is None else list(allow)), list(deny)
    return list(direction), []


def _may(direction, subject):
    allow, deny = _allow_deny(direction)
    allowed = allow is None or any(_overlap(to_text(item), subject) for item in allow)
    return allowed and not any(_covers(to_text(item), subject) for item in deny)


def _user_warnings(user, where, default_permissions):
    permissions = user.get("permissions")
    if permissions is None:
        permissions = default_permissions or {}
    if not isinstance(permissions, dict):
        return []
    allow, _deny = _allow_deny(permissions.get("subscribe"))
    js_subscribes = [to_text(item) for item in allow or [] if to_text(item).split(".")[0] == "$JS"]
    if not js_subscribes:
        return []
    publish = permissions.get("publish")
    missing = [label for label, subject in (
        ("a pull request to $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>", PULL_SUBJECT),
        ("an ack to $JS.ACK.<stream>.<consumer>.>", ACK_SUBJECT)) if not _may(publish, subject)]
    if not missing:
        return []
    return ["%s subscribes to %s but may not publish %s, so it cannot consume from a pull consumer "
            "with explicit acks (subscribing to $JS subjects does not give that). Say what it consumes "
            "in its entry: jetstream: {consume: [{stream: STREAM, consumer: CONSUMER}]}."
            % (where, ", ".join(js_subscribes), " nor ".join(missing))]


def nats_jetstream_permission_warnings(data, default_permissions=None):
    """Return one sentence for each user who subscribes to ``$JS`` subjects yet may not publish a
    pull request (``$JS.API.CONSUMER.MSG.NEXT``) or an ack (``$JS.ACK``).

    ``data`` is a list of users or a dict of accounts, after ``nats_jetstream_permissions``.
    ``default_permissions`` stand in for a user of the list that has no permissions of its own.
    """
    warnings = []
    if isinstance(data, dict):
        for name, account in data.items():
            users = account.get("users") if isinstance(account, dict) else None
            for index, user in enumerate(users or []):
                if isinstance(user, dict):
                    warnings.extend(_user_warnings(
                        user, "account %s, %s" % (to_text(name), _user_name(user, index)), None))
        return warnings
    if not isinstance(data, (list, tuple)):
        raise AnsibleFilterError("nats_jetstream_permission_warnings expects a list of users or a "
                                 "dict of accounts, got %s" % type(data).__name__)
    for index, user in enumerate(data):
        if isinstance(user, dict):
            warnings.extend(_user_warnings(user, _user_name(user, index), default_permissions))
    return warnings


class FilterModule(object):
    """cim.nats filters for JetStream permissions."""

    def filters(self):
        return {
            "nats_jetstream_permissions": nats_jetstream_permissions,
            "nats_jetstream_permission_warnings": nats_jetstream_permission_warnings,
        }
