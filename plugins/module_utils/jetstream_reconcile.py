# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a whole-layout reconcile adds to the single-object logic: order, prune scope, one pass.

Validating options, comparing, field rules and applying one object are the shared ones
(``jetstream_options``, ``jetstream_model``, ``jetstream_apply``), used here unchanged, so an
item of a layout means and does exactly what the same options do in a single-object module.
This file only adds what a layout needs on top:

* reading the server once (one paged stream listing, one consumer listing per stream, those
  read concurrently) instead of one info request per object;
* the order: streams before the streams that mirror or source them and before their
  consumers; deletions first, consumers before streams, in the reverse order;
* the prune scope: undeclared objects are deleted only when their name is in the scope;
* one report for the whole pass: per-object results, refusals, failures and a summary line.

No Ansible here; the ordering and scope functions are pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import gc
import heapq
import time

from ansible_collections.cim.nats.plugins.module_utils.connection import (
    JetStreamApiError,
    JetStreamClient,
    NatsError,
    resolve_connection,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_apply import (
    apply_plan,
    list_consumers_of,
    list_streams,
    read_account,
    server_version,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import warn_drift
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    ModelError,
    describe_data_loss,
    kv_stream_name,
    object_store_stream_name,
    plan_consumer,
    plan_stream,
    protect_delete,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import (
    consumer_argument_spec,
    consumer_config_from_options,
    kv_bucket_argument_spec,
    kv_bucket_config_from_options,
    object_store_argument_spec,
    object_store_config_from_options,
    stream_argument_spec,
    stream_config_from_options,
    options_validator,
    server_limits_from_options,
)

KV_STREAM_PREFIX = 'KV_'
# nats-server server/errors.json: JSStreamSubjectOverlapErr.
ERR_SUBJECTS_OVERLAP = 10065
OBJECT_STORE_STREAM_PREFIX = 'OBJ_'

# Layout keys, the kind of their items, and how an item's options become the desired config.
LAYOUT_KINDS = (
    ('streams', 'stream', stream_argument_spec, stream_config_from_options),
    ('kv_buckets', 'kv_bucket', kv_bucket_argument_spec, kv_bucket_config_from_options),
    ('object_stores', 'object_store', object_store_argument_spec, object_store_config_from_options),
    ('consumers', 'consumer', consumer_argument_spec, consumer_config_from_options),
)
KIND_WORDS = {
    'stream': ('stream', 'streams'),
    'kv_bucket': ('KV bucket', 'KV buckets'),
    'object_store': ('object store', 'object stores'),
    'consumer': ('consumer', 'consumers'),
}
# What happened to an object, from its plan's action (the same in check mode, where nothing is applied).
STATUS = {
    'create': 'created',
    'update': 'updated',
    'recreate': 'recreated',
    'delete': 'deleted',
    'none': 'unchanged',
    'refuse': 'refused',
}


# ---------------------------------------------------------------------------------------------
# Order and scope (pure)
# ---------------------------------------------------------------------------------------------
def stream_dependencies(config):
    """Names of the streams that a stream config mirrors or sources, in this account and domain.

    ``config`` is a stream's options as the user declares them or as the server returns them
    (both name the origin under ``mirror.name`` and ``sources[].name``).  Origins behind an
    ``external`` API prefix live elsewhere and impose no order here.
    """
    names = []
    config = config or {}
    mirror = config.get('mirror')
    if isinstance(mirror, dict) and mirror.get('name') and not mirror.get('external'):
        names.append(mirror['name'])
    sources = config.get('sources')
    for source in sources if isinstance(sources, list) else ():
        if source and source.get('name') and not source.get('external') and source['name'] not in names:
            names.append(source['name'])
    return names


def order_by_dependencies(names, dependencies):
    """Order ``names`` so that each comes after the names it depends on.

    ``dependencies`` maps a name to the names it needs first; names that are not in ``names``
    are ignored (they exist already, or elsewhere).  Among the names free to go, the one
    declared first goes first, so a layout without dependencies keeps its order.  A cycle (two
    streams sourcing each other, which the server allows) cannot be ordered: one of its members
    is released first, which the server accepts because a source may be created before its
    origin.  About linear in the number of names and dependencies.
    """
    position = dict((name, index) for index, name in enumerate(names))
    needs, waiting = {}, {}
    dependents = dict((name, []) for name in names)
    for name in names:
        needs[name] = set(dep for dep in dependencies.get(name, ()) if dep in position and dep != name)
        waiting[name] = len(needs[name])
        for dep in needs[name]:
            dependents[dep].append(name)
    ready = [position[name] for name in names if not waiting[name]]
    heapq.heapify(ready)
    ordered, done, scan = [], set(), 0
    while len(ordered) < len(names):
        if not ready:
            # Only names waiting on a cycle are left: from the first of them, follow what it
            # waits for until a name comes back; that one is on a cycle and goes first.
            while names[scan] in done:
                scan += 1
            seen, name = set(), names[scan]
            while name not in seen:
                seen.add(name)
                name = min((dep for dep in needs[name] if dep not in done), key=position.get)
            heapq.heappush(ready, position[name])
        name = names[heapq.heappop(ready)]
        if name in done:
            continue
        done.add(name)
        ordered.append(name)
        for dependent in dependents[name]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0 and dependent not in done:
                heapq.heappush(ready, position[dependent])
    return ordered


def in_prune_scope(name, prefixes, names):
    """True when an object ``name`` is inside the prune scope (one of ``prefixes`` or ``names``)."""
    if name in (names or ()):
        return True
    return any(prefix and name.startswith(prefix) for prefix in (prefixes or ()))


def stream_kind(config):
    """Tell what a stream on the server holds: ('kv_bucket', bucket), ('object_store', bucket) or ('stream', name).

    KV buckets and object stores are streams named KV_<bucket> and OBJ_<bucket> with their own
    subject spaces; a user stream that only happens to start with KV_ stays a stream.
    """
    name = config.get('name', '')
    subjects = config.get('subjects') or []
    if name.startswith(KV_STREAM_PREFIX):
        bucket = name[len(KV_STREAM_PREFIX):]
        if '$KV.%s.>' % bucket in subjects:
            return 'kv_bucket', bucket
    if name.startswith(OBJECT_STORE_STREAM_PREFIX):
        bucket = name[len(OBJECT_STORE_STREAM_PREFIX):]
        if '$O.%s.C.>' % bucket in subjects:
            return 'object_store', bucket
    return 'stream', name


def is_durable(consumer_config):
    """Ephemeral consumers (no durable name) belong to running clients and are never pruned."""
    return bool((consumer_config or {}).get('durable_name'))


def _label(kind, name, stream=None):
    if kind == 'consumer':
        return 'consumer %s on stream %s' % (name, stream)
    return '%s %s' % (KIND_WORDS[kind][0], name)


def _server_stream_name(kind, name):
    if kind == 'kv_bucket':
        return kv_stream_name(name)
    if kind == 'object_store':
        return object_store_stream_name(name)
    return name


# ---------------------------------------------------------------------------------------------
# One pass
# ---------------------------------------------------------------------------------------------
class LayoutError(NatsError):
    """The layout itself is wrong (bad options, duplicates, a prune without scope): nothing was sent."""

    def __init__(self, problems):
        self.problems = problems
        super(LayoutError, self).__init__('the layout has %d problem%s, nothing was applied: %s' % (
            len(problems), '' if len(problems) == 1 else 's', '; '.join(problems)))


# Values Ansible's type checks return as they are, by option type ('raw': any of them).
_PLAIN_VALUES = {'str': (str,), 'int': (int,), 'bool': (bool,), 'raw': (str, int, float, bool)}
# Spec keys that make Ansible's validator do more than check the type and the choices.
_SPEC_EXTRAS = ('options', 'no_log', 'fallback', 'removed_in_version', 'removed_at_date', 'deprecated_aliases',
                'apply_defaults', 'mutually_exclusive', 'required_together', 'required_one_of', 'required_if',
                'required_by')


def _plain_value_check(option):
    """A test of the values Ansible's validator would return unchanged for ``option`` (None: no such test).

    Only plain types: a str for a str option (within its choices), an int, a bool, a list of
    those; a dict or suboptions always go through the validator.
    """
    if any(key in option for key in _SPEC_EXTRAS):
        return None
    kind, choices = option.get('type', 'str'), option.get('choices')
    if kind == 'list':
        element_types = _PLAIN_VALUES.get(option.get('elements'))
        if element_types is None or choices is not None:
            return None
        return lambda value: isinstance(value, list) and all(type(item) in element_types for item in value)
    types = _PLAIN_VALUES.get(kind)
    if types is None or (choices is not None and kind != 'str'):
        return None
    if choices is not None:
        return lambda value: type(value) in types and value in choices
    return lambda value: type(value) in types


class ItemValidator:
    """Validate the items of one kind of a layout with Ansible's validator, each against the options it uses.

    The validator's cost grows with the options of the spec, about fifty for a stream, while an
    item names a handful.  So each set of keys seen gets a validator of the options those keys
    name plus the ones with a default or required; the options an item leaves out come back
    None, exactly as the whole spec gives them.  An item with a problem is validated again
    against the whole spec, so the problem is reported in the same words a module would use.

    Most items only name options by their own names with plain values that Ansible's type
    checks return as they are (a str within its choices, an int, a bool, a list of strings).
    Validating one of those gives the item itself, the defaults and None for the rest; that is
    what such an item gets here without Ansible's validator.  Any other item goes through it.
    """

    def __init__(self, argument_spec):
        self.argument_spec = argument_spec
        self.validate_whole = options_validator(argument_spec)
        self.option_of = {}
        for name, option in argument_spec.items():
            self.option_of[name] = name
            for alias in option.get('aliases') or ():
                self.option_of[alias] = name
        self.always = set(name for name, option in argument_spec.items()
                          if option.get('required') or option.get('default') is not None)
        self.by_keys = {}
        self.plain_checks = dict((name, _plain_value_check(option)) for name, option in argument_spec.items())
        self.required = frozenset(name for name, option in argument_spec.items() if option.get('required'))
        self.defaults = dict((name, option['default']) for name, option in argument_spec.items()
                             if option.get('default') is not None)
        self.unset = dict.fromkeys(argument_spec)
        self.unset.update(self.defaults)
        # A list or dict default would have to be copied for each item: then every item is validated.
        self.plain_items = not any(isinstance(value, (list, dict)) for value in self.unset.values())

    def _plain(self, item):
        """The set options of an item of plain values (see the class), None for any other item."""
        if not self.plain_items or not self.required.issubset(item):
            return None
        given = dict(self.defaults)
        checks = self.plain_checks
        for key, value in item.items():
            check = checks.get(key)
            if check is None or not check(value):
                return None
            given[key] = list(value) if isinstance(value, list) else value
        return given

    def __call__(self, item):
        """Return the validated options of ``item``; raise ``ModelError`` as the whole spec would."""
        params = dict(self.unset)
        params.update(self.given(item))
        return params

    def given(self, item):
        """The validated options of ``item`` that are set (not None), the defaults among them.

        What the conversions to an API config read: the options left unset add nothing there.
        """
        given = self._plain(item)
        if given is not None:
            return given
        keys = frozenset(item)
        validate = self.by_keys.get(keys)
        if validate is None:
            if not all(key in self.option_of for key in keys):
                return _set_options(self.validate_whole(item))  # an unknown option: the whole spec names the choices
            used = self.always.union(self.option_of[key] for key in keys)
            validate = self.by_keys[keys] = options_validator(
                dict((name, self.argument_spec[name]) for name in used))
        try:
            return _set_options(validate(item))
        except ModelError:
            return _set_options(self.validate_whole(item))


def _set_options(params):
    return dict((name, value) for name, value in params.items() if value is not None)


# One validator per kind, made the first time a layout has items of that kind: the argument
# spec and its validators derive from the field tables, the same for every layout.
_ITEM_VALIDATORS = {}


def _item_validator(kind, spec):
    validator = _ITEM_VALIDATORS.get(kind)
    if validator is None:
        validator = _ITEM_VALIDATORS[kind] = ItemValidator(spec())
    return validator


def parse_layout(layout):
    """Validate every item of ``layout`` with its single-object module's argument spec.

    ``layout`` maps ``streams``, ``consumers``, ``kv_buckets`` and ``object_stores`` to lists
    of option dicts.  Returns the layout's entries (one per object, with the desired API
    config); raises ``LayoutError`` listing every problem at once: options a module would
    reject, an object declared twice, a consumer whose stream is declared absent.
    """
    entries, problems, seen = [], [], {}
    for key, kind, spec, to_config in LAYOUT_KINDS:
        items = layout.get(key) or []
        validate_options = _item_validator(kind, spec) if items else None
        for index, item in enumerate(items):
            where = '%s[%d]' % (key, index)
            if not isinstance(item, dict):
                problems.append('%s: each item must be a dict of options, not %r' % (where, item))
                continue
            try:
                params = validate_options.given(item)
            except ModelError as exc:
                problems.append('%s: %s' % (where, exc))
                continue
            name = params['bucket'] if kind in ('kv_bucket', 'object_store') else params['name']
            stream = params['stream'] if kind == 'consumer' else _server_stream_name(kind, name)
            label = _label(kind, name, stream)
            try:
                if params['state'] == 'present':
                    desired = to_config(params)
                elif kind == 'consumer':
                    desired = {'name': name, 'durable_name': name}
                else:
                    desired = {'name': stream}
            except ModelError as exc:
                problems.append('%s (%s): %s' % (where, label, exc))
                continue
            key_seen = ('consumer', stream, name) if kind == 'consumer' else ('stream', stream)
            if key_seen in seen:
                problems.append('%s (%s): already declared as %s' % (where, label, seen[key_seen]))
                continue
            seen[key_seen] = where
            entries.append({
                'kind': kind, 'name': name, 'stream': stream, 'label': label, 'where': where,
                'desired': desired, 'state': params['state'], 'recreate': params['recreate'],
                'acknowledge_data_loss': params.get('acknowledge_data_loss', False),
                'declared': True, 'plan': None, 'applied': False, 'error': None, 'drift': {},
            })
    absent = set(e['stream'] for e in entries if e['kind'] != 'consumer' and e['state'] == 'absent')
    for entry in entries:
        if entry['kind'] == 'consumer' and entry['state'] == 'present' and entry['stream'] in absent:
            problems.append('%s (%s): its stream is declared with state absent' % (entry['where'], entry['label']))
    if problems:
        raise LayoutError(problems)
    return entries


def _refuse(plan, why, message):
    """Turn a plan into a refusal for a reason that belongs to the layout, not to one field."""
    plan['action'] = 'refuse'
    plan['changed'] = False
    plan['refused'] = [{'field': 'stream', 'old': None, 'new': plan.get('stream'), 'why': why}]
    plan['reasons'] = [why]
    plan['message'] = message
    return plan


def _protect_prune(plan, acknowledged):
    """Delete protection for a stream, KV bucket or object store to prune: the single-object rule.

    ``protect_delete`` decides; only the way to go ahead differs, as a pruned object has no item
    of its own to carry ``acknowledge_data_loss``.
    """
    protect_delete(plan, acknowledged)
    if plan['action'] == 'refuse':
        loss = describe_data_loss(plan.get('data_loss'))
        plan['reasons'] = ['pruning it destroys %s' % loss]
        plan['message'] = ('%s is not in the layout and is inside the prune scope, but it holds %s: pruning would '
                           'delete them. To prune it: set prune_acknowledge_data_loss: true, or purge it first; '
                           'to keep it, declare it or take it out of the prune scope' % (plan['label'], loss))
    return plan


def plan_layout(client, entries, prune=False, prune_prefixes=(), prune_names=(), server_limits=None,
                prune_acknowledge_data_loss=False):
    """Read the server once and plan every entry; add a delete entry for each object to prune.

    A stream, KV bucket or object store that holds messages is deleted (declared absent or
    pruned) only with an acknowledgement: the entry's ``acknowledge_data_loss``, or for pruning
    ``prune_acknowledge_data_loss``; without it its plan is refused, so nothing is applied.

    Reads: one paged ``STREAM.LIST``; the account info when a consumer is declared; one paged
    ``CONSUMER.LIST`` per stream that holds declared consumers (or, when pruning, per declared
    stream), all read concurrently, skipping streams that do not exist yet or will be recreated.
    Returns all entries (the pruned ones appended) and the subjects of every stream on the server
    (to explain an overlap later); sends nothing that changes the server.
    """
    if prune and not (prune_prefixes or prune_names):
        raise LayoutError(['prune needs a scope (prune_prefixes or prune_names), so that objects outside the '
                           'layout are never deleted by accident'])
    version = server_version(client)
    on_server = dict((info['config']['name'], info) for info in list_streams(client))
    streams = [e for e in entries if e['kind'] != 'consumer']
    by_stream = dict((e['stream'], e) for e in streams)
    consumers = [e for e in entries if e['kind'] == 'consumer']
    limits = None
    if any(e['state'] == 'present' for e in consumers):
        limits = read_account(client).get('limits')
    pruned = []

    def plan_streams():
        for entry in streams:
            info = on_server.get(entry['stream'])
            entry['plan'] = plan_stream(
                entry['desired'], info['config'] if info else None,
                current_state=info.get('state') if info else None, recreate=entry['recreate'],
                acknowledge_data_loss=entry['acknowledge_data_loss'], state=entry['state'], label=entry['label'],
                server_version=version, server_limits=server_limits)
            protect_delete(entry['plan'], entry['acknowledge_data_loss'])
        if not prune:
            return
        for name, info in on_server.items():
            if name in by_stream:
                continue
            kind, object_name = stream_kind(info['config'])
            if not in_prune_scope(object_name, prune_prefixes, prune_names):
                continue
            label = _label(kind, object_name)
            plan = plan_stream({'name': name}, info['config'], current_state=info.get('state'), state='absent',
                               label=label)
            pruned.append(_pruned_entry(kind, object_name, name, label,
                                        _protect_prune(plan, prune_acknowledge_data_loss)))

    def listable(stream):
        """True when the stream's consumers on the server will still be there when its consumers are applied."""
        stream_entry = by_stream.get(stream)
        gone = stream_entry is not None and stream_entry['plan']['action'] in ('create', 'recreate', 'delete')
        return stream in on_server and not gone

    consumers_of = {}
    for entry in consumers:
        consumers_of.setdefault(entry['stream'], []).append(entry)

    def plan_consumers(stream, on_stream):
        """Plan the declared consumers of ``stream`` against ``on_stream`` (name -> info) of its listing."""
        stream_entry = by_stream.get(stream)
        info = on_server.get(stream)
        if stream_entry is not None and stream_entry['plan'].get('request') is not None:
            stream_config = stream_entry['plan']['request']
        else:
            stream_config = info['config'] if info else None
        for entry in consumers_of.get(stream, ()):
            current = on_stream.get(entry['name'])
            entry['plan'] = plan_consumer(
                entry['desired'], current['config'] if current else None, stream_config=stream_config,
                account_limits=limits if entry['state'] == 'present' else None, recreate=entry['recreate'],
                state=entry['state'], stream=stream, server_version=version, server_limits=server_limits)
            if entry['state'] != 'present' or stream_entry is not None:
                continue
            if info is None:
                _refuse(entry['plan'], 'stream %s does not exist and the layout does not declare it' % stream,
                        '%s cannot be created: stream %s does not exist and the layout does not declare it; '
                        'declare the stream or fix the consumer\'s stream' % (entry['label'], stream))
            elif stream in pruned_streams:
                _refuse(entry['plan'], 'stream %s would be pruned' % stream,
                        '%s is declared but its stream %s is not, and pruning would delete it with its consumers; '
                        'declare the stream, or take the consumer out of the layout' % (entry['label'], stream))

    # stream -> {name: info} of every listing the plan needs.  The listings of every stream on
    # the server that may hold them are asked for at once (one round trip's wait, not one per
    # stream), and the streams are planned while the server answers; each stream's consumers
    # are planned as its listing arrives.  A stream that is missing or declared absent is not
    # listed; the listing of one that its plan recreates is not used: its consumers go with it.
    listed = {}
    pruned_streams = set()

    def on_listing(stream, items):
        if listable(stream):
            listed[stream] = dict((c['name'], c) for c in items)
            plan_consumers(stream, listed[stream])

    def while_listing():
        plan_streams()
        pruned_streams.update(e['stream'] for e in pruned)

    wanted = set(consumers_of)
    if prune:
        wanted.update(e['stream'] for e in streams if e['kind'] == 'stream' and e['state'] == 'present')
    declared_absent = set(e['stream'] for e in streams if e['state'] == 'absent')
    list_consumers_of(client, sorted(s for s in wanted if s in on_server and s not in declared_absent),
                      on_listing=on_listing, meanwhile=while_listing)
    for stream in consumers_of:
        if stream not in listed:
            plan_consumers(stream, {})

    if prune:
        declared = set((e['stream'], e['name']) for e in consumers)
        for entry in streams:
            if entry['kind'] != 'stream' or entry['state'] != 'present' or entry['stream'] not in on_server:
                continue
            if entry['plan']['action'] == 'recreate':
                continue  # its consumers go with it
            for name, info in sorted(listed.get(entry['stream'], {}).items()):
                if (entry['stream'], name) in declared or not is_durable(info.get('config')):
                    continue
                if not in_prune_scope(name, prune_prefixes, prune_names):
                    continue
                label = _label('consumer', name, entry['stream'])
                pruned.append(_pruned_entry('consumer', name, entry['stream'], label, plan_consumer(
                    {'name': name, 'durable_name': name}, info['config'], state='absent', stream=entry['stream'])))
    subjects = dict((name, info['config'].get('subjects') or []) for name, info in on_server.items())
    return entries + pruned, subjects


def _pruned_entry(kind, name, stream, label, plan):
    return {'kind': kind, 'name': name, 'stream': stream, 'label': label, 'where': 'prune', 'desired': None,
            'state': 'absent', 'recreate': False, 'acknowledge_data_loss': False, 'declared': False, 'plan': plan,
            'applied': False, 'error': None, 'drift': {}}


def apply_order(entries):
    """Return the entries in the order they are applied.

    Deletions first, so that a subject or a name can move to a new object in the same run:
    consumers, then streams, KV buckets and object stores, each stream before the one it
    mirrors or sources.  Then creations and updates: streams, KV buckets and object stores,
    each after the streams it mirrors or sources, and last the consumers.  Within a group the
    declaration order is kept.
    """
    streams = [e for e in entries if e['kind'] != 'consumer']
    consumers = [e for e in entries if e['kind'] == 'consumer']
    deleting = [e for e in streams if e['plan']['action'] == 'delete']
    keeping = [e for e in streams if e['plan']['action'] != 'delete']

    def ordered(group, config_of):
        by_name = dict((e['stream'], e) for e in group)
        names = [e['stream'] for e in group]
        deps = dict((name, stream_dependencies(config_of(by_name[name]))) for name in names)
        return [by_name[name] for name in order_by_dependencies(names, deps)]

    deletions = list(reversed(ordered(deleting, lambda e: e['plan'].get('current'))))
    upserts = ordered(keeping, lambda e: e['desired'])
    return ([e for e in consumers if e['plan']['action'] == 'delete'] + deletions + upserts
            + [e for e in consumers if e['plan']['action'] != 'delete'])


def apply_layout(client, entries, check_mode=False, subjects=None):
    """Carry out every plan in ``apply_order``; return the entries in that order.

    Nothing is applied when any plan is refused (the caller reports them all).  A request the
    server refuses marks that entry failed and the run goes on with the others; consumers of a
    stream that could not be created are skipped.  A lost connection stops the run: the
    remaining entries stay unapplied and the error is raised with what was done so far kept
    in the entries.  ``subjects`` (stream name -> subjects on the server) lets a refusal for
    overlapping subjects name the stream it overlaps.
    """
    subjects = dict(subjects or {})
    ordered = apply_order(entries)
    if check_mode or any(e['plan']['action'] == 'refuse' for e in ordered):
        return ordered
    missing = set()
    for entry in ordered:
        plan = entry['plan']
        if not plan['changed']:
            continue
        if entry['kind'] == 'consumer' and entry['stream'] in missing:
            entry['error'] = 'skipped: stream %s could not be created' % entry['stream']
            entry['skipped'] = True
            continue
        try:
            result = apply_plan(client, plan)
        except JetStreamApiError as exc:
            entry['error'] = 'the server refused the request: %s' % exc
            if exc.err_code == ERR_SUBJECTS_OVERLAP:
                entry['error'] += _overlap_hint(entry, plan, subjects)
            if entry['kind'] != 'consumer' and plan['action'] in ('create', 'recreate'):
                missing.add(entry['stream'])
            continue
        except NatsError as exc:
            entry['error'] = str(exc)
            raise
        entry['applied'] = True
        entry['drift'] = result.get('drift') or {}
        if entry['kind'] != 'consumer':
            if plan['action'] == 'delete':
                subjects.pop(entry['stream'], None)
            elif result.get('info'):
                subjects[entry['stream']] = result['info'].get('config', {}).get('subjects') or []
    return ordered


def subjects_overlap(first, second):
    """True when some subject matches both NATS subject patterns (``*`` one token, ``>`` the rest)."""
    left, right = first.split('.'), second.split('.')
    for index, token in enumerate(left):
        if index >= len(right):
            return False
        other = right[index]
        if token == '>' or other == '>':
            return True
        if token != other and token != '*' and other != '*':
            return False
    return len(left) == len(right)


def _overlap_hint(entry, plan, subjects):
    """Name the streams whose subjects the refused stream's subjects overlap."""
    wanted = (plan.get('request') or {}).get('subjects') or []
    clashes = []
    for name, theirs in sorted(subjects.items()):
        if name == entry['stream']:
            continue
        for mine in wanted:
            for other in theirs:
                if subjects_overlap(mine, other):
                    clashes.append('%s overlaps %s of stream %s' % (mine, other, name))
    if not clashes:
        return ''
    return (' (%s; a subject belongs to one stream only: to keep a copy of those messages, source them from '
            'that stream with a filter_subject instead)' % '; '.join(clashes))


def entry_result(entry, check_mode=False):
    """The public result of one object: what was (in check mode: would be) done, and how it went.

    ``status`` is created, updated, recreated, deleted, unchanged, absent (declared absent and
    not there), refused, failed (the server refused the request), skipped (its stream could not
    be created) or, in a real run, "not applied" (a change left undone because another object
    was refused or the connection was lost).
    """
    plan = entry['plan']
    status = STATUS.get(plan['action'], plan['action'])
    if entry.get('skipped'):
        status = 'skipped'
    elif entry['error']:
        status = 'failed'
    elif plan['action'] == 'none' and plan.get('current') is None:
        status = 'absent'
    elif plan['changed'] and not entry['applied'] and not check_mode:
        status = 'not applied'
    result = {
        'kind': entry['kind'],
        'name': entry['name'],
        'label': entry['label'],
        'status': status,
        'action': plan['action'],
        'changes': plan['changes'],
        'message': plan['message'],
        'declared': entry['declared'],
        'applied': entry['applied'],
    }
    if entry['kind'] == 'consumer':
        result['stream'] = entry['stream']
    if plan['action'] == 'refuse':
        result['refused'] = plan['refused']
    if entry['error']:
        result['error'] = entry['error']
    if plan.get('data_loss') is not None and plan['action'] in ('delete', 'recreate', 'refuse'):
        # As the single-object modules return it: what the delete or recreate destroys (or would).
        result['data_loss'] = plan['data_loss']
    return result


def report_line(entry, result, check_mode=False):
    """One line for people about an object that is not unchanged (None when there is nothing to say).

    In check mode the verb says what a real run would do ("would update stream X: ...").
    """
    status = result['status']
    plan = entry['plan']
    if status in ('unchanged', 'absent'):
        return None
    if status == 'not applied':
        return 'not applied %s: %s' % (entry['label'], plan['message'])
    if status == 'refused':
        return 'REFUSED %s' % plan['message']
    if status in ('failed', 'skipped'):
        return '%s %s (%s): %s' % (status.upper(), entry['label'], plan['action'], entry['error'])
    verb = ('would ' + plan['action']) if check_mode else status
    line = '%s %s' % (verb, entry['label'])
    if status == 'updated' or status == 'recreated':
        line += ': ' + '; '.join(plan['reasons'])
    if plan['action'] in ('delete', 'recreate') and plan.get('data_loss') is not None:
        line += ' with its %s' % describe_data_loss(plan['data_loss'])
    if not entry['declared']:
        line += ' (pruned: not in the layout, inside the prune scope)'
    return line


def summarize(results, elapsed, check_mode):
    """Return (summary line, counts) for the pass from its ``entry_result`` list: objects by kind and status, time."""
    counts = {}
    for result in results:
        kind = counts.setdefault(result['kind'], {})
        kind[result['status']] = kind.get(result['status'], 0) + 1
    parts = []
    for _key, kind, _spec, _conv in LAYOUT_KINDS:
        if kind not in counts:
            continue
        total = sum(counts[kind].values())
        words = KIND_WORDS[kind][0 if total == 1 else 1]
        detail = ', '.join('%d %s' % (n, status) for status, n in sorted(counts[kind].items()))
        parts.append('%d %s (%s)' % (total, words, detail))
    total = len(results)
    line = '; '.join(parts) if parts else 'an empty layout'
    line += '; %d object%s in %.2f s over one connection' % (total, '' if total == 1 else 's', elapsed)
    if check_mode:
        line = 'check mode, nothing applied: ' + line
    return line, counts


def reconcile(client, layout, prune=False, prune_prefixes=(), prune_names=(), check_mode=False, clock=time.time,
              server_limits=None, prune_acknowledge_data_loss=False, started=None):
    """Reconcile a whole layout over ``client`` in one pass; return the report.

    ``layout`` is the dict of lists described in ``parse_layout`` (validated before anything is
    sent).  The report holds ``entries`` (in apply order, with their plans), ``results`` (the
    public per-object results), ``report`` (lines for people), ``summary``, ``counts``,
    ``changed``, ``refused`` and ``failed`` (results), ``elapsed`` (seconds).  Raises
    ``LayoutError`` for a wrong layout and ``NatsError`` when the connection fails; in the
    latter case ``exc.entries`` keeps what was applied before.  ``started`` (a ``clock`` reading,
    by default now) is where ``elapsed`` counts from: the caller's moment of connecting.
    """
    if started is None:
        started = clock()
    # The first reads go out before the layout is checked: the server answers meanwhile.  The
    # account is read for consumers to create or keep (plan_layout reads it for those only).
    client.prefetch('STREAM.LIST', 'streams')
    if any(isinstance(item, dict) and item.get('state', 'present') == 'present'
           for item in layout.get('consumers') or ()):
        client.prefetch('INFO')
    entries = parse_layout(layout)
    entries, subjects = plan_layout(client, entries, prune=prune, prune_prefixes=prune_prefixes,
                                    prune_names=prune_names, server_limits=server_limits,
                                    prune_acknowledge_data_loss=prune_acknowledge_data_loss)
    try:
        ordered = apply_layout(client, entries, check_mode=check_mode, subjects=subjects)
    except NatsError as exc:
        exc.entries = entries
        raise
    results = [entry_result(e, check_mode) for e in ordered]
    lines = [line for line in (report_line(e, r, check_mode) for e, r in zip(ordered, results)) if line]
    elapsed = clock() - started
    summary, counts = summarize(results, elapsed, check_mode)
    refused = [r for r in results if r['status'] == 'refused']
    failed = [r for r in results if r['status'] in ('failed', 'skipped')]
    if check_mode or refused:
        changed = any(e['plan']['changed'] for e in ordered) and not refused
    else:
        changed = any(e['applied'] for e in ordered)
    return {
        'entries': ordered,
        'results': results,
        'report': lines,
        'summary': summary,
        'counts': counts,
        'changed': changed,
        'refused': refused,
        'failed': failed,
        'elapsed': round(elapsed, 3),
    }


# ---------------------------------------------------------------------------------------------
# The bulk module's options and result, shared by the module and its in-process action plugin
# ---------------------------------------------------------------------------------------------
LAYOUT_OPTIONS = ('streams', 'consumers', 'kv_buckets', 'object_stores')


def layout_argument_spec():
    """The bulk module's own options (``module_argument_spec`` adds the connection options)."""
    spec = dict((key, dict(type='list', elements='dict', default=[])) for key in LAYOUT_OPTIONS)
    spec.update(
        prune=dict(type='bool', default=False),
        prune_prefixes=dict(type='list', elements='str', default=[]),
        prune_names=dict(type='list', elements='str', default=[]),
        prune_acknowledge_data_loss=dict(type='bool', default=False),
    )
    return spec


class _Warnings:
    """Collects the shared drift warnings (written for a module's ``warn``) as strings."""

    def __init__(self):
        self.messages = []

    def warn(self, message):
        self.messages.append(message)


def _diffs(entries):
    return [{'before_header': entry['label'], 'after_header': entry['label'],
             'before': entry['plan']['before'] or {}, 'after': entry['plan']['after'] or {}}
            for entry in entries if entry['plan']['changed']]


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pause Python's cycle collector for one pass, and run it as before afterwards.

    A pass allocates many short-lived dicts, which reference counting frees; each collection
    the allocations trigger walks every object of the process, and inside Ansible's worker that
    is the whole controller's heap, a large share of a big layout's pass for no garbage.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run_layout(params, check_mode=False, diff=False, clock=time.time):
    """Connect, reconcile the layout in ``params`` (validated module options) and return the result.

    The result is what the module returns: ``changed``, ``summary``, ``report``, ``objects``,
    ``elapsed``, ``diff`` (in diff mode), ``warnings``, and on failure ``failed`` and ``msg``
    (with ``problems`` for a wrong layout).  Never raises for NATS or layout errors.
    """
    started = clock()
    try:
        server_limits = server_limits_from_options(params.get('server_limits'))
    except ModelError as exc:
        return dict(failed=True, changed=False, msg=str(exc), problems=[str(exc)])
    try:
        with cyclic_gc_paused(), JetStreamClient(resolve_connection(params)) as client:
            outcome = reconcile(client, dict((key, params[key]) for key in LAYOUT_OPTIONS), prune=params['prune'],
                                prune_prefixes=params['prune_prefixes'], prune_names=params['prune_names'],
                                prune_acknowledge_data_loss=params['prune_acknowledge_data_loss'], clock=clock,
                                started=started,
                                check_mode=check_mode, server_limits=server_limits)
    except LayoutError as exc:
        return dict(failed=True, changed=False, msg=str(exc), problems=exc.problems)
    except NatsError as exc:
        # The connection failed or was lost: say so, and what had been applied before, if anything.
        entries = getattr(exc, 'entries', None) or []
        applied = [e for e in entries if e['applied']]
        result = dict(failed=True, changed=bool(applied), elapsed=round(clock() - started, 3), msg=str(exc))
        if entries:
            result['objects'] = [entry_result(e, check_mode) for e in entries]
            result['msg'] += '; applied before the failure: %s' % (
                ', '.join(e['label'] for e in applied) or 'nothing')
        return result

    warnings = _Warnings()
    for entry in outcome['entries']:
        if entry['drift']:
            warn_drift(warnings, entry['plan'], entry['drift'])
    result = dict(changed=outcome['changed'], summary=outcome['summary'], report=outcome['report'],
                  objects=outcome['results'], elapsed=outcome['elapsed'], warnings=warnings.messages)
    if diff:
        result['diff'] = _diffs(outcome['entries'])
    refused, failed = outcome['refused'], outcome['failed']
    if refused:
        result.update(failed=True, msg='%d object%s refused, nothing was applied: %s' % (
            len(refused), ' is' if len(refused) == 1 else 's are', ' | '.join(r['message'] for r in refused)))
    elif failed:
        applied = [e['label'] for e in outcome['entries'] if e['applied']]
        result.update(failed=True, msg='%d object%s failed: %s. Applied: %s' % (
            len(failed), '' if len(failed) == 1 else 's',
            ' | '.join('%s: %s' % (r['label'], r['error']) for r in failed),
            ', '.join(applied) if applied else 'nothing'))
    else:
        result['msg'] = outcome['summary']
    return result
