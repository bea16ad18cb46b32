# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Show messages as Ansible warnings, on the controller (the action of cim.nats.warn)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        _validation, args = self.validate_argument_spec(
            argument_spec=dict(msg=dict(type='list', elements='str', required=True)))
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        messages = [message for message in args['msg'] if message]
        # A task result's warnings are shown as [WARNING] lines (each text once per run).
        result.update(changed=False, msg=messages, warnings=messages)
        return result
