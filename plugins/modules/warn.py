#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: warn
short_description: Show messages as Ansible warnings
version_added: 0.1.0
description:
  - "Shows each message as an Ansible warning (C([WARNING]: ...)) and changes nothing. The play
    goes on; use M(ansible.builtin.assert) or M(ansible.builtin.fail) to stop it."
  - Runs on the controller only (an action plugin); it never connects to the host.
  - The same text is shown once per run, however many hosts warn about it.
author:
  - cim.nats contributors (@cim-nats)
options:
  msg:
    description: The messages; empty ones are left out.
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    description: Warns in check mode too.
  diff_mode:
    support: none
    description: Nothing to compare.
seealso:
  - module: ansible.builtin.debug
  - module: ansible.builtin.assert
'''

EXAMPLES = r'''
- name: Warn about users who cannot consume from JetStream
  cim.nats.warn:
    msg: "{{ nats_server_users | cim.nats.nats_jetstream_permissions | cim.nats.nats_jetstream_permission_warnings }}"
'''

RETURN = r'''
msg:
  description: The messages shown as warnings.
  returned: always
  type: list
  elements: str
'''
