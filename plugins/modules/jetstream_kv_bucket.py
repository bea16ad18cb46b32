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
    a bucket does not expose (mirrors, sources, TTL markers, ...) are left as the server has them.
  - An option left out means the default, so removing an option from the task resets it.
  - Durations take V(1h), V(30d) or seconds as a number; sizes take bytes or V(1MB), V(10GiB)
    (1024-based); V(-1) means unlimited.
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
attributes:
  check_mode:
    support: full
    description: Reads the server and reports exactly what a real run would do; changes nothing.
  diff_mode:
    support: full
    description: Returns the normalised configuration of the bucket's stream before and after.
options:
  bucket:
    description: Name of the bucket; letters, digits, C(_) and C(-).
    type: str
    required: true
    aliases: [name]
  state:
    description: V(present) creates or updates the bucket, V(absent) deletes it with all its keys.
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
  placement:
    description: Where a clustered bucket is placed.
    type: dict
    suboptions:
      cluster:
        description: Name of the cluster.
        type: str
      tags:
        description: Tags the chosen servers must have.
        type: list
        elements: str
      preferred:
        description: Server preferred as the leader (nats-server 2.11 and newer).
        type: str
  republish:
    description: Republish every change to another subject.
    type: dict
    suboptions:
      src:
        description: Subject filter; the server's default is V(>).
        type: str
      dest:
        description: Destination subject.
        type: str
        required: true
      headers_only:
        description: Republish only the headers.
        type: bool
        default: false
  metadata:
    description: Free key/value strings. Keys starting with C(_nats) are the server's own and are ignored.
    type: dict
  recreate:
    description:
      - When the wanted change cannot be made in place (for example O(storage)), delete the bucket
        and create it again. Needs O(acknowledge_data_loss=true).
    type: bool
    default: false
  acknowledge_data_loss:
    description: Confirms that O(recreate=true) may delete every key and value of the bucket.
    type: bool
    default: false
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
action:
  description: What was done, or in check mode what a real run would do (V(create), V(update), V(recreate), V(delete), V(none)).
  returned: success
  type: str
  sample: create
bucket:
  description: Name of the bucket.
  returned: success
  type: str
  sample: config
changes:
  description: Each changed field of the bucket's stream with its old and new value (durations in nanoseconds).
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
  description: When the change cannot be made in place, each field with its old and new value and why.
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
