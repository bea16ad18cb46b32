#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_object_store
short_description: Manage a NATS JetStream object store idempotently
version_added: 0.1.0
description:
  - Creates an object store bucket when it is missing, leaves it alone when it matches, updates
    it in place when the server allows the change, and refuses with one clear message when it
    does not.
  - An object store is the stream C(OBJ_<bucket>) on subjects C($O.<bucket>.C.>) and
    C($O.<bucket>.M.>) with the settings the NATS clients give it (roll-ups, discard new, direct
    get). This module manages that stream through the same model as
    M(cim.nats.jetstream_stream); stream settings an object store does not expose are left as
    the server has them.
  - An option left out means the default, so removing an option from the task resets it.
  - Durations take V(1h), V(30d) or seconds as a number; sizes take bytes or V(10GiB)
    (1024-based); V(-1) means unlimited.
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
  - cim.nats.attributes
  - cim.nats.data_loss
  - cim.nats.placement
options:
  bucket:
    description: Name of the object store; letters, digits, C(_) and C(-).
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) creates or updates the store, V(absent) deletes it with all its objects; one that
        holds objects only with O(acknowledge_data_loss=true).
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Free text.
    type: str
  ttl:
    description: How long an object is kept. V(0) (the default) is forever.
    type: raw
  max_bytes:
    description: Largest size of the whole store. V(-1) (the default) is unlimited.
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
seealso:
  - module: cim.nats.jetstream_kv_bucket
  - module: cim.nats.jetstream_stream
  - name: Object store
    description: NATS documentation of the object store.
    link: https://docs.nats.io/nats-concepts/jetstream/obj_store
'''

EXAMPLES = r'''
- name: Store for build artifacts, 50 GiB at most, compressed
  cim.nats.jetstream_object_store:
    server: nats://nats1.example.com:4222
    bucket: artifacts
    description: CI build outputs
    max_bytes: 50GiB
    compression: s2
    num_replicas: 3
  delegate_to: localhost
  run_once: true

- name: Remove an object store and its objects
  cim.nats.jetstream_object_store:
    bucket: old_artifacts
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
  description: Name of the object store.
  returned: success
  type: str
  sample: artifacts
changes:
  description:
    - Each changed field with its old and new value, as normalised for the JetStream API
      (durations in nanoseconds; for a bucket, the fields of its stream). Empty when nothing changes.
  returned: success
  type: dict
  sample: {"max_bytes": {"old": -1, "new": 53687091200}}
message:
  description: One sentence saying what was (or would be) done and why.
  returned: success
  type: str
  sample: "object store artifacts: update max_bytes: -1 -> 53687091200"
stream:
  description: The info of the store's stream C(OBJ_<bucket>) (C(config), C(state)) after the run; null when absent.
  returned: success
  type: dict
  sample:
    config: {"name": "OBJ_artifacts", "subjects": ["$O.artifacts.C.>", "$O.artifacts.M.>"]}
    state: {"messages": 0}
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
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import object_store_argument_spec


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(object_store_argument_spec()), **module_kwargs())
    run_stream_module(module, 'object_store')


if __name__ == '__main__':
    main()
