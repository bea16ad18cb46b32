#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_consumer
short_description: Manage a durable NATS JetStream consumer idempotently
version_added: 0.1.0
description:
  - Creates a durable consumer on a stream when it is missing, leaves it alone when it matches,
    updates it in place when the server allows the change, and refuses with one clear message
    when it does not.
  - The desired configuration is compared with the server's after both are normalised (server
    defaults filled in, including those the stream's C(consumer_limits) set; durations in
    nanoseconds; C(_nats.*) metadata ignored). An option left out means the server's default,
    so removing an option from the task resets the field.
  - A create is sent with the API action C(create) and an update with C(update), so a create
    never silently edits a consumer someone else defined meanwhile.
  - The server never changes O(deliver_policy), O(opt_start_seq), O(opt_start_time),
    O(ack_policy), O(replay_policy), O(idle_heartbeat), O(flow_control), O(max_waiting),
    O(mem_storage), nor turns a pull consumer into a push consumer or back. Such a change fails
    before any request is sent, unless O(recreate=true).
  - The rules are those of the release the server reports when the module connects; an option or
    value newer than that release (O(priority_policy) before 2.11, V(prioritized) before 2.12,
    O(ack_policy=flow_control) before 2.14) is refused before any request.
  - A consumer with O(deliver_subject) is a push consumer; without it a pull consumer.
  - Durations take V(30s), V(5m), V(1h30m) or seconds as a number; V(-1) means unlimited for
    O(max_deliver) and O(max_ack_pending).
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
  - cim.nats.attributes
attributes:
  check_mode:
    support: full
    description: >-
      Reads the server and reports exactly what a real run would do; changes nothing. A missing
      stream is a warning in check mode (an earlier task may create it) and an error otherwise.
options:
  stream:
    description: Name of the stream the consumer reads.
    type: str
    required: true
    aliases: [stream_name]
  name:
    description: Name of the durable consumer.
    type: str
    required: true
    aliases: [durable_name, durable]
  state:
    description: V(present) creates or updates the consumer, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Free text.
    type: str
  filter_subject:
    description: Deliver only messages on this subject (wildcards allowed).
    type: str
  filter_subjects:
    description: Deliver only messages on these subjects. Not together with O(filter_subject).
    type: list
    elements: str
  deliver_policy:
    description:
      - Where delivery starts. The server's default is V(all). Fixed at creation.
    type: str
    choices: [all, last, new, by_start_sequence, by_start_time, last_per_subject]
  opt_start_seq:
    description: First stream sequence, with O(deliver_policy=by_start_sequence).
    type: int
    aliases: [start_sequence]
  opt_start_time:
    description: First time, RFC 3339 (V(2024-01-31T12:00:00Z)), with O(deliver_policy=by_start_time).
    type: str
    aliases: [start_time]
  ack_policy:
    description:
      - How messages are acknowledged. Fixed at creation.
      - This module defaults to V(explicit), as natscli, the NATS clients and the Terraform
        provider do (the raw API's default is V(none)).
      - V(flow_control) (nats-server 2.14 and newer) acks by flow control responses; the server then
        turns on O(flow_control) with a one second O(idle_heartbeat).
    type: str
    choices: [explicit, none, all, flow_control]
    default: explicit
  ack_wait:
    description:
      - Time to wait for an acknowledgement before redelivering. The server's default is V(30s)
        with acknowledgements; with O(backoff) it is the first backoff step.
    type: raw
  max_deliver:
    description: Most delivery attempts per message. V(-1) (the default) is unlimited.
    type: raw
  backoff:
    description:
      - Redelivery delays, one per attempt (for example V([1s, 5s, 30s])); the last repeats.
        Needs O(max_deliver) of at least as many attempts (or unlimited).
    type: list
    elements: raw
  replay_policy:
    description: V(instant) (the default) or V(original) speed. Fixed at creation.
    type: str
    choices: [instant, original]
  max_ack_pending:
    description:
      - Most messages delivered and not yet acknowledged. The default is the stream's
        C(consumer_limits.max_ack_pending), else 1000 (0 with O(ack_policy=none)). V(-1) is unlimited.
    type: raw
    aliases: [max_pending]
  max_waiting:
    description: Most pending pull requests (pull consumers). The server's default is 512. Fixed at creation.
    type: int
  max_batch:
    description: Largest batch a pull request may ask for (pull consumers). V(0) (the default) is unlimited.
    type: int
    aliases: [max_request_batch]
  max_expires:
    description: Longest expiry a pull request may ask for (pull consumers). V(0) (the default) is unlimited.
    type: raw
    aliases: [max_request_expires]
  inactive_threshold:
    description:
      - Delete the consumer after this long without activity. The default is the stream's
        C(consumer_limits.inactive_threshold), else never.
    type: raw
  headers_only:
    description: Deliver only the headers (and the body size). Default false.
    type: bool
  sample_freq:
    description: Percentage of acknowledgements to sample for monitoring, for example V(100%).
    type: str
    aliases: [sample_frequency]
  num_replicas:
    description: Replicas of the consumer's state. V(0) (the default) inherits the stream's.
    type: int
    aliases: [replicas]
  mem_storage:
    description: Keep the consumer's state in memory. Default false. Fixed at creation.
    type: bool
    aliases: [memory_storage]
  metadata:
    description: Free key/value strings. Keys starting with C(_nats) are the server's own and are ignored.
    type: dict
  deliver_subject:
    description:
      - Subject to push messages to; makes a push consumer. A pull consumer cannot become a
        push consumer nor the reverse.
    type: str
    aliases: [delivery_subject]
  deliver_group:
    description: Queue group that shares the pushed messages (push consumers).
    type: str
    aliases: [delivery_group]
  flow_control:
    description: Flow control for push consumers; needs O(idle_heartbeat). Fixed at creation.
    type: bool
  idle_heartbeat:
    description: Heartbeat interval when idle (push consumers). Fixed at creation.
    type: raw
    aliases: [heartbeat]
  rate_limit_bps:
    description: Delivery rate limit in bits per second (push consumers). V(0) (the default) is unlimited.
    type: int
    aliases: [rate_limit]
  max_bytes:
    description:
      - Largest number of bytes one pull request may ask for (pull consumers), for example V(1MiB).
        V(0) (the default) is unlimited.
    type: raw
    aliases: [max_request_max_bytes]
  priority_policy:
    description:
      - How pull requests of O(priority_groups) share the messages (nats-server 2.11 and newer;
        V(prioritized) 2.12 and newer). The server's default is V(none). Can change in place.
    type: str
    choices: [none, overflow, pinned_client, prioritized]
  priority_groups:
    description: Priority groups of a pull consumer; needed with any O(priority_policy) but V(none).
    type: list
    elements: str
  priority_timeout:
    description:
      - How long a pinned client keeps its pin without pulling (O(priority_policy=pinned_client)).
        The server's default is V(2m) for that policy.
    type: raw
    aliases: [pinned_ttl]
  pause_until:
    description:
      - Pause delivery until this time, RFC 3339 (V(2030-01-31T12:00:00Z)); nats-server 2.11 and
        newer. Leaving it out resumes a paused consumer.
    type: str
  recreate:
    description:
      - When the wanted change cannot be made in place, delete the consumer and create it again.
        The consumer loses its delivery and acknowledgement state and starts again from its
        O(deliver_policy); the stream's messages are not touched.
    type: bool
    default: false
seealso:
  - module: cim.nats.jetstream_stream
  - module: cim.nats.jetstream_info
  - name: JetStream consumers
    description: The fields and their meaning, from the NATS documentation.
    link: https://docs.nats.io/nats-concepts/jetstream/consumers
'''

EXAMPLES = r'''
# The seed guide's consumers, from the controller
- name: Graph projection reads graph events
  cim.nats.jetstream_consumer:
    server: nats://nats1.example.com:4222
    stream: CIM_EVENTS
    name: GRAPH_PROJECTION
    filter_subject: events.graph.>
    deliver_policy: all
    ack_policy: explicit
    replay_policy: instant
    max_deliver: 3
  delegate_to: localhost
  run_once: true

- name: Workflow processor with a short ack wait
  cim.nats.jetstream_consumer:
    stream: CIM_EVENTS
    name: WORKFLOW_PROCESSOR
    filter_subject: events.workflow.>
    ack_wait: 5s
    max_deliver: 5
  delegate_to: localhost
  run_once: true

- name: Retry with growing delays
  cim.nats.jetstream_consumer:
    stream: ORDERS
    name: SHIPPING
    backoff: [1s, 10s, 1m]
    max_deliver: 5

- name: Push consumer for a queue group
  cim.nats.jetstream_consumer:
    stream: ORDERS
    name: MONITOR
    deliver_subject: monitor.orders
    deliver_group: monitors
    idle_heartbeat: 10s
    flow_control: true

- name: Start over from new messages only (loses the consumer's position)
  cim.nats.jetstream_consumer:
    stream: ORDERS
    name: AUDIT
    deliver_policy: new
    recreate: true

- name: Remove a consumer
  cim.nats.jetstream_consumer:
    stream: ORDERS
    name: OLD_WORKER
    state: absent
'''

RETURN = r'''
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
  sample: {"ack_wait": {"old": 30000000000, "new": 5000000000}}
message:
  description: One sentence saying what was (or would be) done and why.
  returned: success
  type: str
  sample: "consumer WORKFLOW_PROCESSOR on stream CIM_EVENTS: update ack_wait: 30s -> 5s"
consumer:
  description:
    - The consumer's info as the JetStream API returns it (C(config), C(delivered),
      C(ack_floor), C(num_pending), ...) after the run; in check mode the current info. Null
      when the consumer does not exist.
  returned: success
  type: dict
  sample:
    stream_name: CIM_EVENTS
    name: GRAPH_PROJECTION
    config: {"durable_name": "GRAPH_PROJECTION", "ack_policy": "explicit", "max_deliver": 3}
    num_pending: 0
refused:
  description:
    - When the change cannot be made in place, each field with its old and new value and why; for a
      delete of a stream that holds messages, the field C(state).
  returned: failure
  type: list
  elements: dict
  sample: [{"field": "deliver_policy", "old": "all", "new": "new", "why": "the deliver policy is fixed when the consumer is created"}]
err_code:
  description: The JetStream API error code, when the server refused a request.
  returned: failure
  type: int
  sample: 10012
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    run_consumer_module,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import consumer_argument_spec


def main():
    module = AnsibleModule(argument_spec=module_argument_spec(consumer_argument_spec()), **module_kwargs())
    run_consumer_module(module)


if __name__ == '__main__':
    main()
