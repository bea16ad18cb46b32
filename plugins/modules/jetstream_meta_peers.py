#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_meta_peers
short_description: Remove servers from a JetStream cluster's meta group, safely
version_added: 0.1.0
description:
  - Removes servers from the JetStream meta group (C($JS.API.SERVER.REMOVE)), one at a time, and
    waits until the meta leader has placed every stream replica they held on the remaining servers
    and those replicas are current. This is how a cluster shrinks (the servers to retire) and how
    it forgets a dead server that was replaced under another name (an offline peer that is no
    member any more).
  - A server that is still running when it is removed turns JetStream off; its clients stay
    connected until it is stopped. When the meta leader is one of the servers to remove, it is asked
    to step down first, until another server leads.
  - Refuses, before any change, to remove a server that holds the only replica of a stream, or
    one whose streams have more replicas than the remaining servers, or to remove so many peers
    that the meta group would lose its majority, or to act while a server that stays is not current.
  - Connects as a user of the system account, from where the module runs (usually the controller).
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
attributes:
  check_mode:
    support: full
    description: Reads the meta group and the streams, makes every refusal, and reports what it would remove.
  diff_mode:
    support: none
    description: The result lists the peers before and after.
options:
  members:
    description:
      - Server names (C(server_name)) of the servers that stay in the cluster.
    type: list
    elements: str
    required: true
  remove:
    description:
      - Server names to remove from the meta group, in this order. Names the meta group does not
        know are skipped (already removed).
    type: list
    elements: str
    default: []
  remove_stale:
    description:
      - Also remove the peers that are offline and named in neither O(members) nor O(remove), such
        as a dead server replaced under a new name. A running peer named in neither list is an error.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait, after each removal, for the meta leader to forget the server and for the
        streams it held to be back at their replica count with every replica current.
    type: int
    default: 300
seealso:
  - module: cim.nats.jetstream_info
  - name: JetStream clustering administration
    description: Removing a server from the meta group.
    link: https://docs.nats.io/running-a-nats-service/configuration/clustering/jetstream_clustering/administration
'''

EXAMPLES = r'''
- name: Retire nats4 and nats5 (5 -> 3 nodes)
  cim.nats.jetstream_meta_peers:
    server: tls://nats1.example.com:4222
    tls_ca_file: pki/ca.crt
    user: sys
    password: "{{ vault_nats_sys_password }}"
    members: [nats1, nats2, nats3]
    remove: [nats4, nats5]
  delegate_to: localhost
  run_once: true

- name: Forget the dead nats3, replaced by nats4
  cim.nats.jetstream_meta_peers:
    server: tls://nats1.example.com:4222
    user: sys
    password: "{{ vault_nats_sys_password }}"
    members: [nats1, nats2, nats4]
    remove_stale: true
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
removed:
  description: The servers removed (or, in check mode, that would be), in order.
  returned: always
  type: list
  elements: str
  sample: [nats4, nats5]
streams:
  description: Per removed server, the streams it held a replica of (C(account > stream)); only running servers can say.
  returned: always
  type: dict
  sample: {"nats4": ["CIM > CIM_EVENTS", "CIM > GRAPH_EVENTS"]}
leader:
  description: The meta leader that answered first (the one that judged the plan).
  returned: always
  type: str
  sample: nats2
peers_before:
  description: The meta group's peers before, as the meta leader reported them.
  returned: always
  type: list
  elements: str
  sample: [nats1, nats2, nats3, nats4, nats5]
peers_after:
  description: The meta group's peers at the end.
  returned: always
  type: list
  elements: str
  sample: [nats1, nats2, nats3]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.connection import NatsError, resolve_connection
from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    require_nats,
)
from ansible_collections.cim.nats.plugins.module_utils.meta_peers import SystemClient, plan, wait_replaced

# How long one read of the meta group or of a server's streams waits for its answers.
READ_WAIT = 3


def main():
    module = AnsibleModule(
        argument_spec=module_argument_spec(dict(
            members=dict(type='list', elements='str', required=True),
            remove=dict(type='list', elements='str', default=[]),
            remove_stale=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=300),
        )),
        **module_kwargs())
    require_nats(module)
    params = module.params
    result = dict(changed=False, removed=[], streams={}, leader='', peers_before=[], peers_after=[])
    try:
        with SystemClient(resolve_connection(params)) as client:
            view = client.meta(wait=READ_WAIT)
            result['leader'] = view['leader']
            result['peers_before'] = result['peers_after'] = sorted(view['peers'])
            # Every server to remove that still answers says what it holds, however the leader sees it.
            held = client.streams_on([name for name in params['remove'] if name in view['peers']], wait=READ_WAIT)
            to_remove, refusals = plan(view, params['members'], params['remove'], params['remove_stale'], held)
            # What an offline server held, the leaders of those streams can tell (not its R1 streams).
            if [server for server in to_remove if server not in held]:
                led = client.streams_led(len(view['peers']), wait=READ_WAIT)
                for server in to_remove:
                    if server not in held:
                        held[server] = [detail for detail in led.values() if server in detail['peers']]
            result['streams'] = dict((server, ['%s > %s' % (s['account'], s['stream']) for s in held.get(server, [])])
                                     for server in to_remove)
            if refusals:
                module.fail_json(msg='Nothing was removed from the JetStream meta group: ' + ' '.join(refusals), **result)
            result['removed'] = to_remove
            result['changed'] = bool(to_remove)
            if module.check_mode or not to_remove:
                module.exit_json(**result)
            for server in to_remove:
                client.lead_elsewhere(set(to_remove), timeout=60)
                if not client.remove(server, timeout=60):
                    result['peers_after'] = sorted(client.meta(wait=READ_WAIT)['peers'])
                    module.fail_json(msg='%s is still in the JetStream meta group after three removal requests; check '
                                         'the meta leader (its /jsz and log), then run again.' % server, **result)
                short = wait_replaced(client, server, held.get(server, []), len(view['peers']), params['wait_timeout'])
                if short:
                    result['peers_after'] = sorted(client.meta(wait=READ_WAIT)['peers'])
                    module.fail_json(
                        msg='%s was removed from the JetStream meta group, but within %ss (wait_timeout) these '
                            'streams are not back at their replica count with every replica current: %s. The meta '
                            'leader keeps placing them; check the servers that stay (their /healthz), then run again.'
                            % (server, params['wait_timeout'], ', '.join('%s > %s' % (s['account'], s['stream']) for s in short)),
                        **result)
            result['peers_after'] = sorted(client.meta(wait=READ_WAIT)['peers'])
    except NatsError as exc:
        module.fail_json(msg='JetStream meta group: %s' % exc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
