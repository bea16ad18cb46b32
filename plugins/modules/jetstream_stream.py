#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_stream
short_description: Manage a NATS JetStream stream idempotently
version_added: 0.1.0
description:
  - Creates a JetStream stream when it is missing, leaves it alone when it matches, updates it
    in place when the server allows the change, and refuses with one clear message when it does
    not (naming each field, its old and new value, and the remedy).
  - The desired configuration is compared with the server's after both are normalised; an
    option left out means the server's default, so removing an option from the task resets the
    field. Server-written C(_nats.*) metadata and fields this module does not manage are kept.
  - Options carry the JetStream API's field names, as C(nats stream info --json) prints them;
    aliases cover the names natscli and the Terraform provider use.
  - Durations take V(2m), V(5s), V(365d), V(1h30m) (units ns, us, ms, s, m, h, d, w, y) or
    seconds as a number. Sizes take bytes or V(512MiB), V(1GB), V(10G) (every unit 1024-based,
    as natscli reads them, so V(10G) is 10 GiB; nats-server's config file reads a bare V(G) as 10^9). V(-1) means unlimited where the server allows it.
  - Changes the server never allows in place (O(storage), O(first_seq), O(allow_msg_counter),
    O(persist_mode)), only allows one way (O(sealed), O(deny_delete), O(deny_purge), O(allow_msg_ttl),
    O(allow_msg_schedules) can be turned on, never off) or
    allows conditionally (O(retention) not to or from V(workqueue); O(mirror) can be removed
    but not added or changed; O(placement) and O(num_replicas) not in one update) fail before
    any request is sent, unless O(recreate=true) and O(acknowledge_data_loss=true).
  - The rules are those of the release the server reports when the module connects. An option
    newer than that release (for example O(allow_msg_ttl) on 2.10) is refused before any request,
    since an older server would silently drop it; so is a change that release cannot make in place
    (O(max_consumers) before 2.12.5, turning O(allow_msg_ttl) on after creation on 2.11.0 and
    2.11.1), which a recreate can make.
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
  name:
    description:
      - Name of the stream. It cannot contain C(.), C(*), C(>), C(/), C(\) or white space.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the stream, V(absent) deletes it with all its messages and
        consumers; one that holds messages only with O(acknowledge_data_loss=true).
    type: str
    choices: [present, absent]
    default: present
  subjects:
    description:
      - Subjects the stream listens on; wildcards allowed. The server defaults to the stream's
        name for a stream that neither mirrors nor sources.
      - Subjects may not overlap those of another stream; the server refuses that (for example
        C(events.graph.>) next to a stream on C(events.>)).
    type: list
    elements: str
  description:
    description: Free text shown by C(nats stream info).
    type: str
  retention:
    description:
      - V(limits) keeps messages until a limit removes them, V(interest) while a consumer still
        needs them, V(workqueue) until one consumer acknowledges them. The server's default is
        V(limits). Changing to or from V(workqueue) needs a recreate.
    type: str
    choices: [limits, interest, workqueue]
  storage:
    description:
      - Where messages are stored. The server's default is V(file). Cannot change after creation.
    type: str
    choices: [file, memory]
  num_replicas:
    description:
      - Number of replicas in a JetStream cluster (1 to 5; 1 on a single server). Default 1.
    type: int
    aliases: [replicas]
  max_msgs:
    description: Most messages kept. V(-1) (the default) is unlimited.
    type: raw
  max_bytes:
    description: Most bytes kept, for example V(10GB). V(-1) (the default) is unlimited.
    type: raw
  max_age:
    description: Oldest message kept, for example V(365d). V(0) (the default) is unlimited.
    type: raw
  max_msg_size:
    description: Largest message accepted, for example V(1MB). V(-1) (the default) is unlimited.
    type: raw
  max_msgs_per_subject:
    description: Most messages kept per subject. V(-1) (the default) is unlimited.
    type: raw
    aliases: [max_per_subject]
  max_consumers:
    description: Most consumers the stream accepts. V(-1) (the default) is unlimited.
    type: raw
  discard:
    description:
      - When a limit is reached, V(old) drops the oldest messages (the default), V(new) refuses
        new ones.
    type: str
    choices: [old, new]
  discard_new_per_subject:
    description:
      - Apply O(discard=new) per subject. Needs O(discard=new) and O(max_msgs_per_subject). Default false.
    type: bool
    aliases: [discard_per_subject]
  duplicate_window:
    description:
      - Window in which a repeated C(Nats-Msg-Id) is dropped as a duplicate. The server's default
        is V(2m), or O(max_age) when that is shorter; none for mirrors and sourced streams.
    type: raw
    aliases: [dupe_window, duplicates]
  no_ack:
    description: Do not acknowledge publishes. Default false.
    type: bool
  allow_rollup_hdrs:
    description: Allow C(Nats-Rollup) headers to purge a subject or the stream. Default false.
    type: bool
    aliases: [allow_rollup]
  deny_delete:
    description: Forbid deleting messages through the API. Can be turned on, never off. Default false.
    type: bool
  deny_purge:
    description: Forbid purging through the API. Can be turned on, never off. Default false.
    type: bool
  allow_direct:
    description: Allow direct get of messages from any replica. Default false.
    type: bool
  mirror_direct:
    description:
      - Allow direct get on a mirror. For a mirror the server copies the origin's O(allow_direct);
        when not set the server's value is kept.
    type: bool
  sealed:
    description:
      - Seal the stream; no message can be added, deleted or purged any more. Can be turned on,
        never off, and not when creating. Sealing also sets max_age 0, discard new, deny delete,
        deny purge and no roll-ups, as the server does.
    type: bool
  compression:
    description: On-disk compression of a file stream. The server's default is V(none).
    type: str
    choices: [none, s2]
  subject_transform:
    description: Transform the subject of incoming messages before storing them.
    type: dict
    suboptions:
      src:
        description: Subject filter.
        type: str
        required: true
      dest:
        description: Transform destination.
        type: str
        required: true
  metadata:
    description:
      - Free key/value strings stored with the stream. Keys starting with C(_nats) are the
        server's own and are ignored.
    type: dict
  allow_msg_ttl:
    description: Allow per-message TTLs (C(Nats-TTL) header). Can be turned on, never off. Default false.
    type: bool
  subject_delete_marker_ttl:
    description:
      - Leave a delete marker with this TTL when max age removes the last message of a subject.
        Setting it also turns on O(allow_msg_ttl) and O(allow_rollup_hdrs), as the server does.
    type: raw
  allow_msg_counter:
    description:
      - Make the stream a counter stream (nats-server 2.12 and newer). Never changes after creation.
    type: bool
  allow_atomic:
    description: Allow atomic batch publishing (nats-server 2.12 and newer). Default false.
    type: bool
    aliases: [allow_atomic_publish]
  allow_msg_schedules:
    description:
      - Allow scheduled messages (nats-server 2.12 and newer). Can be turned on, never off. Also turns
        on O(allow_rollup_hdrs), as the server does.
    type: bool
  persist_mode:
    description:
      - V(default) flushes each write, V(async) flushes asynchronously (file storage, one replica, not with
        O(allow_atomic)); nats-server 2.12 and newer. Never changes after creation.
    type: str
    choices: [default, async]
  allow_batched:
    description: Allow fast batch publishing (nats-server 2.14 and newer). Default false.
    type: bool
    aliases: [allow_batch_publish]
  consumer_limits:
    description: Defaults and limits for the stream's consumers.
    type: dict
    suboptions:
      inactive_threshold:
        description: Default and largest inactivity threshold of consumers.
        type: raw
      max_ack_pending:
        description: Default and largest max ack pending of consumers.
        type: int
  first_seq:
    description: Sequence number of the first message. Applies when the stream is created only.
    type: int
seealso:
  - module: cim.nats.jetstream_consumer
  - module: cim.nats.jetstream_info
  - name: JetStream stream configuration
    description: The fields and their meaning, from the NATS documentation.
    link: https://docs.nats.io/nats-concepts/jetstream/streams
'''

EXAMPLES = r'''
# The seed guide's event store, run from the controller
- name: Event stream keeps a year of events
  cim.nats.jetstream_stream:
    server: nats://nats1.example.com:4222
    name: CIM_EVENTS
    subjects: ["events.>"]
    retention: limits
    storage: file
    num_replicas: 3
    max_msgs: -1
    max_age: 365d
    discard: old
    duplicate_window: 2m
  delegate_to: localhost
  run_once: true

# Connection settings once for all JetStream modules, over TLS with a user
- name: JetStream layout
  module_defaults:
    group/cim.nats.jetstream:
      server: tls://nats1.example.com:4222
      tls_ca_file: /etc/nats/ca.pem
      user: admin
      password: "{{ vault_nats_admin_password }}"
  delegate_to: localhost
  run_once: true
  block:
    - name: Dead letters for a week
      cim.nats.jetstream_stream:
        name: DLQ
        subjects: ["dlq.>"]
        max_age: 7d

    - name: Domain stream sourcing graph events from the event store
      cim.nats.jetstream_stream:
        name: GRAPH_EVENTS
        max_age: 30d
        sources:
          - name: CIM_EVENTS
            filter_subject: events.graph.>

# Running on a NATS host that has nats-py, with the credentials from the environment
- name: Stream declared on the NATS host itself
  cim.nats.jetstream_stream:
    name: ORDERS
    subjects: ["orders.*"]
  environment:
    NATS_URL: nats://127.0.0.1:4222
    NATS_CREDS: /etc/nats/admin.creds

# Memory to file storage cannot change in place: recreate, knowingly losing the messages
- name: Move SCRATCH to file storage
  cim.nats.jetstream_stream:
    name: SCRATCH
    storage: file
    recreate: true
    acknowledge_data_loss: true

- name: Remove a stream and its messages
  cim.nats.jetstream_stream:
    name: OLD_EVENTS
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
  sample: update
changes:
  description:
    - Each changed field with its old and new value, as normalised for the JetStream API
      (durations in nanoseconds; for a bucket, the fields of its stream). Empty when nothing changes.
  returned: success
  type: dict
  sample: {"max_age": {"old": 2592000000000000, "new": 31536000000000000}}
message:
  description: One sentence saying what was (or would be) done and why.
  returned: success
  type: str
  sample: "stream ORDERS: update max_age: 30d -> 365d"
stream:
  description:
    - The stream's info as the JetStream API returns it (C(config), C(state), C(cluster),
      C(created)), after the run; in check mode the current info. Null when the stream does not exist.
  returned: success
  type: dict
  sample:
    config: {"name": "ORDERS", "subjects": ["orders.*"], "retention": "limits", "storage": "file"}
    state: {"messages": 0, "bytes": 0, "first_seq": 0, "last_seq": 0, "consumer_count": 0}
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
  sample: 10065
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    run_stream_module,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import stream_argument_spec


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(stream_argument_spec()), **module_kwargs())
    run_stream_module(module, 'stream')


if __name__ == '__main__':
    main()
