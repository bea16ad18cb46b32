#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: nats_tls_check
short_description: Check a NATS node's certificate, key and CA files before they are deployed
version_added: 0.1.0
description:
  - Reads a node certificate (optionally followed by its intermediates), its private key and a
    CA file (a root, a bundle, or an intermediate) on the controller, and fails naming the host,
    the variable and the file when the files would not work for nats-server.
  - "Fails when: a file is missing or unreadable or holds no PEM data; the key is encrypted or
    does not belong to the certificate; a certificate of the chain is expired or not yet valid;
    the certificate does not chain to a certificate of the CA file; its extended key usage lacks
    serverAuth (or clientAuth with O(client_auth)); its subject alternative names miss one of
    O(names)."
  - Names are matched as Go's crypto/x509 matches them (which nats-server uses) - subject
    alternative names only, never the common name.
  - Always runs on the controller (its action plugin), whatever host the task is for, and
    changes nothing.
author:
  - cim.nats contributors (@cim-nats)
attributes:
  check_mode:
    support: full
    description: Reads files only.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to compare.
options:
  cert:
    description: Path of the node certificate (PEM; the node's own certificate first).
    type: path
  key:
    description: Path of the node's private key (PEM, unencrypted).
    type: path
  ca:
    description: Path of the CA file (PEM, one or more certificates). Empty skips the chain check.
    type: path
  names:
    description: Host names and IP addresses the certificate must carry as subject alternative names.
    type: list
    elements: str
    default: []
  client_auth:
    description: The certificate is also used as a client certificate (mutual TLS between servers).
    type: bool
    default: false
  candidate_names:
    description: Names to test against the certificate without failing; those it carries are returned.
    type: list
    elements: str
    default: []
  variables:
    description:
      - The variable names to quote in messages for V(cert), V(key) and V(ca), so a message names
        what the user set.
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: Check the node's TLS files before they are copied
  cim.nats.nats_tls_check:
    cert: "{{ inventory_dir }}/pki/{{ inventory_hostname }}.crt"
    key: "{{ inventory_dir }}/pki/{{ inventory_hostname }}.key"
    ca: "{{ inventory_dir }}/pki/ca.crt"
    names: [10.0.1.11]
    client_auth: true
    variables: {cert: nats_cluster_tls_cert_src, key: nats_cluster_tls_key_src, ca: nats_cluster_tls_ca_src}
'''

RETURN = r'''
subject:
  description: Subject of the node certificate.
  returned: success
  type: str
sans:
  description: Its subject alternative names, as C(DNS:name) and C(IP:address).
  returned: success
  type: list
  elements: str
not_after:
  description: When it expires (ISO 8601, UTC).
  returned: success
  type: str
chain:
  description: Subjects of the certificates from the node certificate's issuer to the CA.
  returned: success
  type: list
  elements: str
sha1:
  description:
    - The SHA-1 of each file checked, keyed C(cert), C(key) and C(ca) (C(ca) only when given).
    - The same checksum a copy of the file has, so a caller can tell which copies on a host differ.
  returned: success
  type: dict
matching_names:
  description: The O(candidate_names) the certificate carries, in the order given.
  returned: success
  type: list
  elements: str
file:
  description: The file that failed the check.
  returned: failure
  type: str
variable:
  description: The variable that names that file.
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cim.nats.plugins.module_utils.tls_check import (
    HAS_CRYPTOGRAPHY, TLSFileError, check_node_tls, name_matches)

ROLES = ('cert', 'key', 'ca')
ARGUMENT_SPEC = dict(
    cert=dict(type='path'),
    key=dict(type='path'),
    ca=dict(type='path'),
    names=dict(type='list', elements='str', default=[]),
    client_auth=dict(type='bool', default=False),
    candidate_names=dict(type='list', elements='str', default=[]),
    variables=dict(type='dict', default={}),
)


def main():
    # The action plugin runs the check on the controller; this runs only when the module is
    # executed directly, and checks files where it runs.
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'))
    params = module.params
    if not params['cert'] or not params['key']:
        module.fail_json(msg='cert and key are both needed')
    try:
        found = check_node_tls(params['cert'], params['key'], params['ca'] or None,
                               names=params['names'], client_auth=params['client_auth'])
    except TLSFileError as exc:
        label = params['variables'].get(exc.role) or exc.role
        module.fail_json(msg='%s %s %s' % (label, exc.path, exc.problem), file=exc.path, variable=label)
    found['matching_names'] = [name for name in params['candidate_names'] if name_matches(name, found['sans'])]
    module.exit_json(changed=False, **found)


if __name__ == '__main__':
    main()
