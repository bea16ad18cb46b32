# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run cim.nats.nats_tls_check on the controller, where the files are, whatever the host is.

The files are checked before anything is copied to a host, so the check never needs the host:
it runs inside the controller's worker, with the controller's cryptography library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.cim.nats.plugins.module_utils.tls_check import (
    HAS_CRYPTOGRAPHY, TLSFileError, check_node_tls, name_matches)
from ansible_collections.cim.nats.plugins.modules.nats_tls_check import ARGUMENT_SPEC, ROLES


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail('nats_tls_check: %s' % '; '.join(validation.error_messages))
        args = validation.validated_parameters
        if not HAS_CRYPTOGRAPHY:
            raise AnsibleActionFail('nats_tls_check needs the Python library cryptography on the controller '
                                    '(pip install cryptography)')
        host = (task_vars or {}).get('inventory_hostname', '?')
        labels = dict((role, args['variables'].get(role) or role) for role in ROLES)
        missing = [labels[role] for role in ('cert', 'key') if not args[role]]
        if missing:
            result.update(failed=True, msg='%s: TLS is on but %s %s empty' % (
                host, ' and '.join(missing), 'is' if len(missing) == 1 else 'are'))
            return result
        try:
            found = check_node_tls(args['cert'], args['key'], args['ca'] or None, names=args['names'],
                                   client_auth=args['client_auth'])
        except TLSFileError as exc:
            result.update(failed=True, file=exc.path, variable=labels[exc.role],
                          msg='%s: %s %s %s. Nothing was copied to the host.' % (
                              host, labels[exc.role], exc.path, exc.problem))
            return result
        found['matching_names'] = [name for name in args['candidate_names'] if name_matches(name, found['sans'])]
        result.update(changed=False, **found)
        return result
