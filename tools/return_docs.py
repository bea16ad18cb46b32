#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The return values the JetStream modules share, declared once, and their RETURN entries.

    tools/return_docs.py jetstream_stream [key ...]

Ansible takes options from doc fragments but not return values, and ansible-doc reads RETURN
as a literal string, so each module keeps its own copy of these entries.  Paste what this
prints into the module's RETURN; tests/unit/test_jetstream_module_docs.py fails, naming the
module and key, while a module's entry and the declaration below disagree.

Description, returned, type and elements are the same in every module.  The sample is each
module's own (a message names the stream or bucket, a change names a field of that kind, the
error code is one that module meets), and the modules a sample is given for are the modules
that return the key.
"""

from __future__ import absolute_import, division, print_function

import json
import sys

import yaml

_BUCKETS_AND_STREAM = ('jetstream_stream', 'jetstream_kv_bucket', 'jetstream_object_store')
_STORAGE_REFUSED = [{"field": "storage", "old": "file", "new": "memory", "why": "the storage type is fixed when the stream is created"}]

SHARED_RETURNS = {
    'data_loss': {
        'description': [
            'For a delete or recreate (done, would be done in check mode, or refused for want of'
            ' O(acknowledge_data_loss)), what it destroys - C(messages), C(bytes) and C(consumers) of the stream.'],
        'returned': 'when the task deletes or recreates, or is refused for doing so',
        'type': 'dict',
        'samples': dict((module, {"messages": 1200, "bytes": 1048576, "consumers": 2}) for module in _BUCKETS_AND_STREAM),
    },
    'action': {
        'description': [
            'What was done, or in check mode what a real run would do.',
            'V(create), V(update), V(recreate), V(delete) or V(none).'],
        'returned': 'success',
        'type': 'str',
        'samples': {'jetstream_stream': 'update', 'jetstream_consumer': 'update',
                    'jetstream_kv_bucket': 'create', 'jetstream_object_store': 'create'},
    },
    'changes': {
        'description': [
            'Each changed field with its old and new value, as normalised for the JetStream API'
            ' (durations in nanoseconds; for a bucket, the fields of its stream). Empty when nothing changes.'],
        'returned': 'success',
        'type': 'dict',
        'samples': {
            'jetstream_stream': {"max_age": {"old": 2592000000000000, "new": 31536000000000000}},
            'jetstream_consumer': {"ack_wait": {"old": 30000000000, "new": 5000000000}},
            'jetstream_kv_bucket': {"max_msgs_per_subject": {"old": 1, "new": 5}},
            'jetstream_object_store': {"max_bytes": {"old": -1, "new": 53687091200}},
        },
    },
    'message': {
        'description': 'One sentence saying what was (or would be) done and why.',
        'returned': 'success',
        'type': 'str',
        'samples': {
            'jetstream_stream': 'stream ORDERS: update max_age: 30d -> 365d',
            'jetstream_consumer': 'consumer WORKFLOW_PROCESSOR on stream CIM_EVENTS: update ack_wait: 30s -> 5s',
            'jetstream_kv_bucket': 'KV bucket config: update max_msgs_per_subject: 1 -> 5',
            'jetstream_object_store': 'object store artifacts: update max_bytes: -1 -> 53687091200',
        },
    },
    'refused': {
        'description': [
            'When the change cannot be made in place, each field with its old and new value and why; for a'
            ' delete of a stream that holds messages, the field C(state).'],
        'returned': 'failure',
        'type': 'list',
        'elements': 'dict',
        'samples': {
            'jetstream_stream': _STORAGE_REFUSED,
            'jetstream_consumer': [{"field": "deliver_policy", "old": "all", "new": "new",
                                    "why": "the deliver policy is fixed when the consumer is created"}],
            'jetstream_kv_bucket': _STORAGE_REFUSED,
            'jetstream_object_store': _STORAGE_REFUSED,
        },
    },
    'err_code': {
        'description': 'The JetStream API error code, when the server refused a request.',
        'returned': 'failure',
        'type': 'int',
        'samples': {'jetstream_stream': 10065, 'jetstream_consumer': 10012,
                    'jetstream_kv_bucket': 10058, 'jetstream_object_store': 10058},
    },
}

MODULES = ('jetstream_stream', 'jetstream_consumer', 'jetstream_kv_bucket', 'jetstream_object_store')


def return_doc(module, key):
    """The RETURN entry of the shared ``key`` in ``module``, or None when that module does not return it."""
    declared = SHARED_RETURNS[key]
    if module not in declared['samples']:
        return None
    entry = dict((name, value) for name, value in declared.items() if name != 'samples')
    entry['sample'] = declared['samples'][module]
    return entry


def returns_doc(module, keys=None):
    """``{key: entry}`` for the shared return values of ``module`` (all, or those of ``keys``)."""
    unknown = sorted(set(keys or ()) - set(SHARED_RETURNS))
    if unknown:
        raise KeyError('no shared return value %s' % ', '.join(unknown))
    entries = ((key, return_doc(module, key)) for key in SHARED_RETURNS if not keys or key in keys)
    return dict((key, entry) for key, entry in entries if entry is not None)


def render(entries):
    """The entries as RETURN text: block style, each sample on one line as the modules write them."""
    lines = []
    for key, entry in entries.items():
        text = dict((name, value) for name, value in entry.items() if name != 'sample')
        lines.append(yaml.safe_dump({key: text}, sort_keys=False, default_flow_style=False, width=100).rstrip('\n'))
        lines.append('  sample: %s' % json.dumps(entry['sample']))
    return '\n'.join(lines) + '\n'


def main(argv):
    if not argv or argv[0] not in MODULES:
        sys.stderr.write('usage: %s {%s} [key ...]\n' % ('tools/return_docs.py', ','.join(MODULES)))
        return 2
    try:
        entries = returns_doc(argv[0], argv[1:])
    except KeyError as exc:
        sys.stderr.write('%s\n' % exc.args[0])
        return 2
    sys.stdout.write(render(entries))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
