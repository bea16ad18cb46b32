#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_layout
short_description: Reconcile a whole NATS JetStream layout in one pass over one connection
version_added: 0.1.0
description:
  - Declares streams, consumers, KV buckets and object stores together and reconciles them in
    one module call over one connection, so Ansible's per-task cost is paid once instead of once
    per object. The C(cim.nats.jetstream) role wraps it.
  - Each item takes exactly the options of its single-object module
    (M(cim.nats.jetstream_stream), M(cim.nats.jetstream_consumer),
    M(cim.nats.jetstream_kv_bucket), M(cim.nats.jetstream_object_store)) without the
    connection options, and is validated, compared, classified and applied by the same code,
    so an item means and does exactly what the same task would.
  - The server is read once (one stream listing, one consumer listing per stream), every object
    is planned, and only then is anything changed. Deletions come first (consumers, then
    streams in reverse dependency order), then streams, KV buckets and object stores (each after
    the streams it mirrors or sources), then consumers.
  - When any object is refused (a change the server does not allow in place, a consumer on an
    undeclared stream), nothing is applied and the task fails listing every refused object.
    When the server refuses a request while applying, that object is reported failed, the
    others are applied (consumers of a stream that could not be created are skipped), and the
    task fails listing each failed object next to what was applied.
  - With O(prune=true), streams, consumers, KV buckets and object stores that exist on the
    server but are not declared are deleted, only when their name is inside the scope given by
    O(prune_prefixes) and O(prune_names). Consumers are pruned only on declared streams, never
    ephemeral ones.
  - A stream, KV bucket or object store that holds messages is deleted only with an
    acknowledgement, as a recreate is. A declared one with V(state=absent) needs
    C(acknowledge_data_loss=true) in its item, a pruned one O(prune_acknowledge_data_loss=true).
    Without it that object is refused, so nothing is applied; an empty one is deleted as asked.
    Check mode and C(objects[].data_loss) say what each delete would destroy.
author:
  - cim.nats contributors (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
attributes:
  check_mode:
    support: full
    description:
      - Reads the server and reports per object exactly what a real run would do, including what
        would be pruned; changes nothing.
  diff_mode:
    support: full
    description: Returns the normalised configuration before and after of each object that changes.
options:
  streams:
    description:
      - Streams, each a dict of the options of M(cim.nats.jetstream_stream) (V(name),
        V(subjects), V(max_age), V(sources), V(state), V(recreate), ...).
    type: list
    elements: dict
    default: []
  consumers:
    description:
      - Consumers, each a dict of the options of M(cim.nats.jetstream_consumer) (V(stream),
        V(name), V(filter_subject), V(ack_policy), ...). Their stream must be declared here or
        exist on the server.
    type: list
    elements: dict
    default: []
  kv_buckets:
    description:
      - KV buckets, each a dict of the options of M(cim.nats.jetstream_kv_bucket) (V(bucket),
        V(history), V(ttl), ...).
    type: list
    elements: dict
    default: []
  object_stores:
    description:
      - Object stores, each a dict of the options of M(cim.nats.jetstream_object_store)
        (V(bucket), V(ttl), ...).
    type: list
    elements: dict
    default: []
  prune:
    description:
      - Delete what exists on the server, is not declared, and is inside the prune scope. Check
        mode lists it.
      - Streams, KV buckets and object stores are matched by their name (the bucket name for
        buckets); consumers by their name, on the declared streams only.
      - The module refuses O(prune=true) without O(prune_prefixes) or O(prune_names).
    type: bool
    default: false
  prune_prefixes:
    description:
      - Prune scope, object names starting with one of these prefixes (for example V(CIM_)).
    type: list
    elements: str
    default: []
  prune_names:
    description:
      - Prune scope, exact object names.
    type: list
    elements: str
    default: []
  prune_acknowledge_data_loss:
    description:
      - Let pruning delete streams, KV buckets and object stores that hold messages. Without it,
        pruning one that holds messages is refused (nothing is applied) with what it would
        destroy; empty ones are pruned either way.
      - It is to the objects pruning finds what C(acknowledge_data_loss) in an item is to a
        recreate or a delete of that item.
    type: bool
    default: false
notes:
  - Runs where nats-py is importable, usually the controller (with C(delegate_to) V(localhost)
    and C(run_once)), or a NATS host that has nats-py.
  - On the controller (a local connection, no become, no task C(environment)) its action plugin
    runs the same code inside Ansible's worker instead of starting a module process, which saves
    the fixed cost of packing and starting a module; the result is the same. Elsewhere it runs
    as a module.
seealso:
  - module: cim.nats.jetstream_stream
  - module: cim.nats.jetstream_consumer
  - module: cim.nats.jetstream_kv_bucket
  - module: cim.nats.jetstream_object_store
'''

EXAMPLES = r'''
- name: The CIM event store, whole
  cim.nats.jetstream_layout:
    server: tls://nats1.example.com:4222
    tls_ca_file: /etc/nats/ca.pem
    user: admin
    password: "{{ vault_nats_admin_password }}"
    streams:
      - name: CIM_EVENTS
        subjects: ["events.>"]
        max_age: 365d
        num_replicas: 3
        duplicate_window: 2m
      - name: GRAPH_EVENTS
        max_age: 30d
        num_replicas: 3
        sources:
          - name: CIM_EVENTS
            filter_subject: events.graph.>
    consumers:
      - stream: GRAPH_EVENTS
        name: GRAPH_PROJECTION
        filter_subject: events.graph.>
        deliver_policy: all
        ack_policy: explicit
        max_deliver: 3
    kv_buckets:
      - bucket: cim_config
        history: 5
  delegate_to: localhost
  run_once: true

- name: Delete every CIM_* stream and consumer the layout above does not declare, messages and all
  cim.nats.jetstream_layout:
    streams: "{{ cim_streams }}"
    consumers: "{{ cim_consumers }}"
    prune: true
    prune_prefixes: ["CIM_"]
    prune_acknowledge_data_loss: true
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
summary:
  description: One line with the objects by kind and status, the object count and the time taken.
  returned: always
  type: str
  sample: "4 streams (4 created); 2 consumers (2 created); 6 objects in 0.05 s over one connection"
report:
  description: One line per object that is not unchanged, saying what was done (or refused, failed, pruned) and why.
  returned: always
  type: list
  elements: str
  sample: ["created stream CIM_EVENTS", "updated stream DLQ: max_age: 7d -> 14d"]
objects:
  description:
    - Every object, in the order applied (pruned ones included), with what was done; in check
      mode what a real run would do.
    - C(status) is V(created), V(updated), V(recreated), V(deleted), V(unchanged), V(absent),
      V(refused), V(failed), V(skipped) or V(not applied); C(action) is the plan's verb as the
      single-object modules return it; C(changes) each changed field with its old and new
      value (durations in nanoseconds); C(declared) is false for a pruned object; C(applied)
      whether this run changed it on the server; C(refused) and C(error) say why not.
    - C(data_loss) (C(messages), C(bytes), C(consumers)) is what a delete or recreate of a stream,
      KV bucket or object store destroys, or would destroy when it is refused or in check mode.
  returned: always
  type: list
  elements: dict
  sample:
    - {"kind": "stream", "name": "DLQ", "status": "updated", "action": "update", "declared": true, "applied": true,
       "changes": {"max_age": {"old": 604800000000000, "new": 1209600000000000}},
       "message": "stream DLQ: update max_age: 7d -> 14d"}
elapsed:
  description: Seconds from connecting to the end of the pass (connecting, reading, planning, applying).
  returned: always
  type: float
  sample: 0.42
problems:
  description:
    - When the layout itself is wrong (bad options, an object declared twice, a prune without
      scope), every problem; nothing was sent.
  returned: failure
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    require_nats,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_reconcile import (
    layout_argument_spec,
    run_layout,
)


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(layout_argument_spec()), **module_kwargs())
    require_nats(module)
    result = run_layout(module.params, check_mode=module.check_mode, diff=module._diff)
    for warning in result.pop('warnings', []):
        module.warn(warning)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
