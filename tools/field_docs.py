#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the DOCUMENTATION options of a JetStream kind, from the field tables.

    tools/field_docs.py stream [option ...]

Prints the ``options:`` entries (description, type, elements, required, aliases, choices,
default, suboptions) of every field of the kind (stream, consumer, kv_bucket, object_store),
or only of the options named.  Paste them into the module's DOCUMENTATION and expand the
one-line description; tests/unit/test_jetstream_module_docs.py checks the result against the
argument spec.  Options a doc fragment documents (placement, republish, mirror, sources) stay
in the fragment.
"""

from __future__ import absolute_import, division, print_function

import os
import sys

import yaml

# The checkout as the collection cim.nats (tools/env.sh makes the same link for Ansible); the
# imports below need this path first (hence E402).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.collections'))

from ansible_collections.cim.nats.plugins.module_utils.jetstream_fields import KIND_FIELDS  # noqa: E402
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import option_spec  # noqa: E402


def option_doc(field):
    """The DOCUMENTATION entry of one field's option: its argument spec, described."""
    description = field.doc
    if field.since:
        description += ' nats-server %s and newer.' % '.'.join(str(part) for part in field.since[:2])
    if field.why:
        description += ' Update rule: %s.' % field.why
    doc = dict(description=description, **option_spec(field))
    if doc.pop('options', None):
        doc['suboptions'] = dict((sub.option, option_doc(sub)) for sub in field.suboptions)
    return doc


def options_doc(kind, names=None):
    """``{option: entry}`` for the fields of ``kind`` (all, or those of ``names``), in table order."""
    fields = KIND_FIELDS[kind]
    unknown = sorted(set(names or ()) - set(fields))
    if unknown:
        raise KeyError('%s has no option %s' % (kind, ', '.join(unknown)))
    return dict((option, option_doc(field)) for option, field in fields.items() if not names or option in names)


def main(argv):
    if not argv or argv[0] not in KIND_FIELDS:
        sys.stderr.write('usage: %s {%s} [option ...]\n' % ('tools/field_docs.py', ','.join(KIND_FIELDS)))
        return 2
    try:
        options = options_doc(argv[0], argv[1:])
    except KeyError as exc:
        sys.stderr.write('%s\n' % exc.args[0])
        return 2
    sys.stdout.write(yaml.safe_dump({'options': options}, sort_keys=False, default_flow_style=False, width=100))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
