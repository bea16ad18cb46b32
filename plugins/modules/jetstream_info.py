#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_info
short_description: Report a NATS server's JetStream account, streams and consumers
version_added: 0.1.0
description:
  - Reads, never changes. Returns the server the module connected to, the account's JetStream
    usage and limits, and every stream (or the ones named) with its configuration, state and
    consumers, as the JetStream API reports them. Meant for reports and for C(assert) tasks.
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
  - cim.nats.attributes.info
options:
  streams:
    description:
      - Report only these streams. Names that do not exist are listed in RV(missing).
      - Default is every stream of the account.
    type: list
    elements: str
  consumers:
    description: Include each stream's consumers.
    type: bool
    default: true
seealso:
  - module: cim.nats.jetstream_stream
  - module: cim.nats.jetstream_consumer
'''

EXAMPLES = r'''
- name: Read the event store
  cim.nats.jetstream_info:
    server: nats://nats1.example.com:4222
    streams: [CIM_EVENTS]
  delegate_to: localhost
  run_once: true
  register: js

- name: The event store keeps a year and its projection keeps up
  ansible.builtin.assert:
    that:
      - js.streams.CIM_EVENTS.config.max_age == 365 * 24 * 3600 * 1000000000
      - js.streams.CIM_EVENTS.consumers.GRAPH_PROJECTION.num_pending < 1000

- name: Every stream with its message count
  ansible.builtin.debug:
    msg: "{{ js.streams | dict2items | map(attribute='key') | zip(js.streams | dict2items | map(attribute='value.state.messages')) }}"
'''

RETURN = r'''
server:
  description: The server the module is connected to, from its INFO.
  returned: always
  type: dict
  sample: {"name": "nats1", "id": "NDAZ...", "version": "2.15.1", "cluster": "cim", "domain": null,
           "jetstream": true, "tls_required": true, "max_payload": 1048576, "connected_url": "tls://nats1:4222"}
account:
  description: The account's JetStream info (C($JS.API.INFO)) - usage, limits, API level, domain.
  returned: always
  type: dict
  sample: {"memory": 0, "storage": 1024, "streams": 4, "consumers": 2, "limits": {"max_streams": -1}, "api": {"level": 5}}
streams:
  description:
    - Stream name to its info (C(config), C(state), C(cluster), C(created)) and, unless
      O(consumers=false), C(consumers) (consumer name to its info).
  returned: always
  type: dict
  sample:
    CIM_EVENTS:
      config: {"name": "CIM_EVENTS", "subjects": ["events.>"], "max_age": 31536000000000000}
      state: {"messages": 42, "bytes": 4200, "consumer_count": 1}
      consumers:
        GRAPH_PROJECTION: {"config": {"ack_policy": "explicit"}, "num_pending": 0}
missing:
  description: Streams named in O(streams) that do not exist.
  returned: always
  type: list
  elements: str
  sample: []
kv_buckets:
  description: Names of the KV buckets among the reported streams (streams C(KV_<bucket>)).
  returned: always
  type: list
  elements: str
  sample: [config]
object_stores:
  description: Names of the object stores among the reported streams (streams C(OBJ_<bucket>)).
  returned: always
  type: list
  elements: str
  sample: [artifacts]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.connection import (
    JetStreamClient,
    NatsError,
    resolve_connection,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_apply import gather_info
from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    require_nats,
)


def main():
    module = AnsibleModule(
        argument_spec=module_argument_spec(dict(
            streams=dict(type='list', elements='str'),
            consumers=dict(type='bool', default=True),
        )),
        **module_kwargs())
    require_nats(module)
    try:
        with JetStreamClient(resolve_connection(module.params)) as client:
            report = gather_info(client, streams=module.params['streams'], consumers=module.params['consumers'])
    except NatsError as exc:
        module.fail_json(msg='JetStream info: %s' % exc)
    module.exit_json(changed=False, **report)


if __name__ == '__main__':
    main()
