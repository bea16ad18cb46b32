#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: jetstream_step_down
short_description: Move JetStream leadership off a server before it stops
version_added: 0.1.0
description:
  - Asks every replicated stream and consumer that one server leads to step down
    (C($JS.API.STREAM.LEADER.STEPDOWN.<stream>), C($JS.API.CONSUMER.LEADER.STEPDOWN.<stream>.<consumer>)),
    then the meta group's leader if it is that server (C($JS.API.META.LEADER.STEPDOWN)), and waits
    until the server leads none of them. Run it before a planned stop, so the objects hand over to a
    current replica while the server is still whole, instead of at its shutdown.
  - Which objects the server leads comes from the server's own JSZ, through the system account (the
    connection options). A stream or consumer step-down is a request inside the object's account, so
    O(account_users) gives a user per account. Objects of an account without a user are reported in
    RV(not_moved) and left to the server's own lame duck step-down.
  - Never fails because an object did not move (no current replica to take over, say), as the
    server's lame duck mode steps down from it at the stop in any case. It fails when the system
    account cannot be reached.
  - A server that does not answer (stopped) leads nothing; the module then changes nothing.
author:
  - cim.nats maintainers (@cim-nats)
extends_documentation_fragment:
  - cim.nats.connection
attributes:
  check_mode:
    support: full
    description: Reports what the server leads and would hand over; asks nothing to step down.
  diff_mode:
    support: none
    description: The result lists what moved and what did not.
options:
  server_name:
    description:
      - The C(server_name) of the server to move leadership off.
    type: str
    required: true
  account_users:
    description:
      - Per JetStream account, the user whose connection asks that account's streams and consumers to
        step down. It needs permission to publish to C($JS.API.STREAM.LEADER.STEPDOWN.>) and
        C($JS.API.CONSUMER.LEADER.STEPDOWN.>). The other connection options (servers, TLS) are shared.
    type: list
    elements: dict
    default: []
    suboptions:
      account:
        description: The account's name, as the servers' JSZ reports it.
        type: str
        required: true
      user:
        description: User name.
        type: str
      password:
        description: Password of O(account_users[].user).
        type: str
      token:
        description: Authentication token.
        type: str
      creds_file:
        description: A credentials file (JWT and NKEY seed).
        type: path
  wait_timeout:
    description:
      - Seconds to wait for the server to lead none of the objects that were asked to step down.
    type: int
    default: 30
seealso:
  - module: cim.nats.jetstream_meta_peers
  - name: JetStream clustering administration
    description: Stepping down stream, consumer and meta leaders.
    link: https://docs.nats.io/running-a-nats-service/configuration/clustering/jetstream_clustering/administration
'''

EXAMPLES = r'''
- name: Move the leaders off nats2 before its restart
  cim.nats.jetstream_step_down:
    server: [tls://nats1.example.com:4222, tls://nats3.example.com:4222]
    tls_ca_file: pki/ca.crt
    user: sys
    password: "{{ vault_nats_sys_password }}"
    server_name: nats2
    account_users:
      - account: CIM
        user: cim_admin
        password: "{{ vault_nats_cim_admin_password }}"
  delegate_to: localhost
'''

RETURN = r'''
running:
  description: Whether the server answered (a stopped server leads nothing).
  returned: always
  type: bool
  sample: true
led:
  description: What the server led when the module started (C(account > stream), C(account > stream > consumer), C(meta group)).
  returned: always
  type: list
  elements: str
  sample: ["CIM > CIM_EVENTS", "CIM > CIM_EVENTS > GRAPH_PROJECTION", "meta group"]
moved:
  description: What handed over to another server (in check mode, what would be asked).
  returned: always
  type: list
  elements: str
  sample: ["CIM > CIM_EVENTS", "meta group"]
not_moved:
  description: What the server still leads, each with the reason.
  returned: always
  type: dict
  sample: {"OTHER > ORDERS": "no user of account OTHER in account_users"}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cim.nats.plugins.module_utils.connection import (
    AUTH_OPTIONS,
    JetStreamUnavailableError,
    NatsError,
    resolve_connection,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import (
    module_argument_spec,
    module_kwargs,
    require_nats,
)
from ansible_collections.cim.nats.plugins.module_utils.leadership import (
    describe,
    jsz_leaders,
    led_by,
    step_down_account,
    wait_handed_over,
)
from ansible_collections.cim.nats.plugins.module_utils.meta_peers import SystemClient

# How long one read of a server's JSZ waits for its answer.
READ_WAIT = 3
META = 'meta group'


def _labels(led):
    out = []
    for account in sorted(led):
        out += [describe(account, stream) for stream in led[account]['streams']]
        out += [describe(account, stream, consumer) for stream, consumer in led[account]['consumers']]
    return out


def main():
    module = AnsibleModule(
        argument_spec=module_argument_spec(dict(
            server_name=dict(type='str', required=True),
            account_users=dict(type='list', elements='dict', default=[], options=dict(
                account=dict(type='str', required=True),
                user=dict(type='str'),
                password=dict(type='str', no_log=True),
                token=dict(type='str', no_log=True),
                creds_file=dict(type='path'),
            )),
            wait_timeout=dict(type='int', default=30),
        )),
        **module_kwargs())
    require_nats(module)
    params = module.params
    name = params['server_name']
    result = dict(changed=False, running=False, led=[], moved=[], not_moved={})
    settings = resolve_connection(params)
    users = dict((entry['account'], entry) for entry in params['account_users'])
    try:
        with SystemClient(settings) as system:
            answers = system.jsz(jsz_leaders(name), 1, READ_WAIT)
            if name not in answers:
                module.exit_json(**result)
            result['running'] = True
            led = led_by(answers[name], name)
            try:
                leads_meta = system.meta(wait=READ_WAIT)['leader'] == name
            except JetStreamUnavailableError:
                leads_meta = False  # an election is under way: nobody leads
            result['led'] = _labels(led) + ([META] if leads_meta else [])
            if module.check_mode:
                result['moved'] = [label for label in result['led']
                                   if label == META or label.split(' > ')[0] in users]
                result['not_moved'] = dict((label, 'no user of account %s in account_users' % label.split(' > ')[0])
                                           for label in result['led'] if label not in result['moved'])
                result['changed'] = bool(result['moved'])
                module.exit_json(**result)
            asked = []
            for account in sorted(led):
                if account not in users:
                    for label in _labels({account: led[account]}):
                        result['not_moved'][label] = 'no user of account %s in account_users' % account
                    continue
                account_settings = dict(settings)
                for option in AUTH_OPTIONS:
                    account_settings[option] = users[account].get(option)
                done, refused = step_down_account(account_settings, account, led[account])
                asked += done
                result['not_moved'].update(refused)
            if leads_meta:
                try:
                    system.lead_elsewhere({name}, timeout=params['wait_timeout'])
                    result['moved'].append(META)
                except JetStreamUnavailableError as exc:
                    result['not_moved'][META] = str(exc)
            still = set(_labels(wait_handed_over(system, name, READ_WAIT, params['wait_timeout']) if asked else {}))
            for label in asked:
                if label in still:
                    result['not_moved'][label] = 'still led by %s after %ss (wait_timeout)' % (name, params['wait_timeout'])
                else:
                    result['moved'].append(label)
            result['changed'] = bool(result['moved'])
    except NatsError as exc:
        module.fail_json(msg='JetStream step-down of %s: %s' % (name, exc), **result)
    for label, reason in sorted(result['not_moved'].items()):
        module.warn('%s stays led by %s until its lame duck stop: %s' % (label, name, reason))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
