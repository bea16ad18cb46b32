#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_kv_bucket
short_description: Manage a NATS JetStream key/value bucket idempotently
version_added: 0.1.0
description:
  - Creates a key/value bucket when it is missing, leaves it alone when it matches, updates it
    in place when the server allows the change, and refuses with one clear message when it does not.
  - A bucket is the stream C(KV_<bucket>) on subjects C($KV.<bucket>.>) with the settings the
    NATS clients give a bucket (roll-ups, deny delete, discard new, direct get). This module
    manages that stream through the same model as M(cim.nats.jetstream_stream); stream settings
    a bucket does not expose (message TTLs, consumer limits, ...) are left as the server has them.
  - A bucket can mirror another bucket or source several, as the NATS clients make them. A mirror
    reads C(KV_<origin>) and has no subjects of its own (keys are written to the origin); each
    source's keys are mapped onto C($KV.<bucket>.>).
  - An option left out means the default, so removing an option from the task resets it.
  - Durations take V(1h), V(30d) or seconds as a number; sizes take bytes or V(1MB), V(10GiB)
    (1024-based); V(-1) means unlimited.
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
  - cim.nats.attributes
  - cim.nats.data_loss
  - cim.nats.placement
  - cim.nats.sources
  - cim.nats.republish
options:
  bucket:
    description: Name of the bucket; letters, digits, C(_) and C(-).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates or updates the bucket, V(absent) deletes it with all its keys; one that
        holds keys (or delete markers) only with O(acknowledge_data_loss=true).
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Free text.
    type: str
  history:
    description: Values kept per key, 1 to 64. Default 1.
    type: int
  ttl:
    description: How long a value is kept, for example V(1h). V(0) (the default) is forever.
    type: raw
  max_value_size:
    description: Largest value accepted. V(-1) (the default) is unlimited.
    type: raw
  max_bytes:
    description: Largest size of the whole bucket. V(-1) (the default) is unlimited.
    type: raw
    aliases: [max_bucket_size]
  storage:
    description: V(file) (the default) or V(memory). Cannot change after creation.
    type: str
    choices: [file, memory]
  num_replicas:
    description: Replicas in a JetStream cluster. Default 1.
    type: int
    aliases: [replicas]
  compression:
    description: On-disk compression. Default V(none).
    type: str
    choices: [none, s2]
  metadata:
    description: Free key/value strings. Keys starting with C(_nats) are the server's own and are ignored.
    type: dict
  limit_marker_ttl:
    description:
      - Leave a marker with this TTL when a value is removed by O(ttl) or O(max_bytes), so that
        watchers see the removal; at least V(1s). The stream's C(subject_delete_marker_ttl);
        message TTLs are turned on with it and stay on (the server never turns them off).
      - Needs nats-server 2.11 or newer (refused before any request on older ones); not on a mirror.
      - Left out, no markers are left (an existing marker TTL is removed).
    type: raw
  mirror:
    description:
      - Make the bucket a read-only copy of the bucket O(mirror.name) (C(KV_) is added unless the name
        starts with it); use O(mirror.domain) for a bucket in another JetStream domain.
      - As the server rules, a mirror cannot be added to an existing bucket nor changed. It can be
        removed, which promotes the bucket to take its own subjects; the values it copied stay
        stored under the origin's keys, so the promoted bucket starts without keys of its own.
  sources:
    description:
      - Buckets whose keys are copied into this one; each source's keys are mapped onto this
        bucket's subjects (not from a bucket of the same name in another domain, whose keys are
        already this bucket's). A source with O(sources[].subject_transforms) is taken as given,
        O(sources[].name) being the full stream name. Sources can be added, changed and removed
        in place. Not with O(mirror).
seealso:
  - module: cim.nats.jetstream_stream
  - module: cim.nats.jetstream_object_store
  - name: Key/value store
    description: NATS documentation of the key/value store.
    link: https://docs.nats.io/nats-concepts/jetstream/key-value-store
'''

EXAMPLES = r'''
- name: Configuration bucket keeping five revisions per key
  cim.nats.jetstream_kv_bucket:
    server: nats://nats1.example.com:4222
    bucket: config
    history: 5
    max_value_size: 1MB
    num_replicas: 3
  delegate_to: localhost
  run_once: true

- name: Session cache that forgets after an hour, in memory
  cim.nats.jetstream_kv_bucket:
    bucket: sessions
    ttl: 1h
    storage: memory

- name: Remove a bucket and its keys
  cim.nats.jetstream_kv_bucket:
    bucket: old_cache
    state: absent
'''

RETURN = r'''
data_loss:
  description:
    - For a delete or recreate (done, would be done in check mode, or refused for want of
      O(acknowledge_data_loss)), what it destroys - C(messages), C(bytes) and C(consumers) of the stream.
  returned: when the task deletes or recreates, or is refused for doing so
  type: dict
  sample: {"messages": 1200, "bytes": 1048576, "consumers": 2}
action:
  description:
    - What was done, or in check mode what a real run would do.
    - V(create), V(update), V(recreate), V(delete) or V(none).
  returned: success
  type: str
  sample: create
bucket:
  description: Name of the bucket.
  returned: success
  type: str
  sample: config
changes:
  description:
    - Each changed field with its old and new value, as normalised for the JetStream API
      (durations in nanoseconds; for a bucket, the fields of its stream). Empty when nothing changes.
  returned: success
  type: dict
  sample: {"max_msgs_per_subject": {"old": 1, "new": 5}}
message:
  description: One sentence saying what was (or would be) done and why.
  returned: success
  type: str
  sample: "KV bucket config: update max_msgs_per_subject: 1 -> 5"
stream:
  description: The info of the bucket's stream C(KV_<bucket>) (C(config), C(state)) after the run; null when absent.
  returned: success
  type: dict
  sample:
    config: {"name": "KV_config", "subjects": ["$KV.config.>"], "max_msgs_per_subject": 5}
    state: {"messages": 12}
refused:
  description:
    - When the change cannot be made in place, each field with its old and new value and why; for a
      delete of a stream that holds messages, the field C(state).
  returned: failure
  type: list
  elements: dict
  sample: [{"field": "storage", "old": "file", "new": "memory", "why": "the storage type is fixed when the stream is created"}]
err_code:
  description: The JetStream API error code, when the server refused a request.
  returned: failure
  type: int
  sample: 10058
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    run_stream_module,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import kv_bucket_argument_spec


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(kv_bucket_argument_spec()), **module_kwargs())
    run_stream_module(module, 'kv_bucket')


if __name__ == '__main__':
    main()
