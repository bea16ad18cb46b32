# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # mirror and sources (streams, KV buckets); a module may give its own top-level descriptions.
    DOCUMENTATION = r'''
options:
  mirror:
    description:
      - Make the stream a mirror of another stream (it then has no O(subjects) nor O(sources)).
        A mirror can be removed, which promotes the stream to a normal one, but not added or
        changed in place.
    type: dict
    suboptions: &source_options
      name:
        description: Name of the origin stream (for a KV bucket, of the origin bucket).
        type: str
        required: true
      opt_start_seq:
        description: First sequence to copy.
        type: int
      opt_start_time:
        description: First time to copy, RFC 3339 (V(2024-01-31T12:00:00Z)).
        type: str
      filter_subject:
        description: Copy only messages on this subject.
        type: str
      subject_transforms:
        description: Subject filters with transforms, instead of O(mirror.filter_subject).
        type: list
        elements: dict
        suboptions:
          src:
            description: Subject filter.
            type: str
            required: true
          dest:
            description: Subject transform destination.
            type: str
            required: true
      external:
        description: The origin is in another account or JetStream domain.
        type: dict
        suboptions:
          api:
            description: API prefix of the other domain or account, for example C($JS.hub.API).
            type: str
            required: true
          deliver:
            description: Delivery prefix.
            type: str
      domain:
        description:
          - The origin is in this JetStream domain; shorthand for O(mirror.external.api) V($JS.<domain>.API).
        type: str
      consumer:
        description:
          - Durable sourcing through a named consumer on the origin (nats-server 2.14 and newer); the
            server needs both O(mirror.consumer.name) and O(mirror.consumer.deliver_subject).
        type: dict
        suboptions:
          name:
            description: Name of the consumer on the origin.
            type: str
          deliver_subject:
            description: Subject the consumer delivers to.
            type: str
  sources:
    description:
      - Streams to copy messages from, each with the same keys as O(mirror). Sources can be added,
        changed and removed in place.
    type: list
    elements: dict
    suboptions: *source_options
'''
