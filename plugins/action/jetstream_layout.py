# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run cim.nats.jetstream_layout inside the controller's worker when it runs on the controller.

Running a module costs the controller a search of its module_utils (every file parsed) to
build the AnsiballZ payload, then a new Python that unpacks it and compiles them again: a fixed
second or so that is most of a no-change run of a whole layout. When the task runs on the
controller (``delegate_to: localhost`` or a local connection, no become, no task environment)
and nats-py is importable here, this plugin validates the options with the module's own
argument spec and calls the same ``run_layout`` the module calls, in process. Everywhere else
it runs the module as usual.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.cim.nats.plugins.module_utils.connection import HAS_NATS
from ansible_collections.cim.nats.plugins.module_utils.jetstream_module import module_argument_spec, module_kwargs
from ansible_collections.cim.nats.plugins.module_utils.jetstream_reconcile import layout_argument_spec, run_layout


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    def _runs_in_process(self):
        """True when the module would run on the controller, as this user, with this environment."""
        return (HAS_NATS and self._connection.transport == 'local' and not self._play_context.become
                and not any(self._task.environment or ()))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        if not self._runs_in_process():
            result.update(self._execute_module(module_name='cim.nats.jetstream_layout',
                                               module_args=self._task.args, task_vars=task_vars))
            return result
        # Plain data, as the module would receive it: validation copies the options, and copying
        # hundreds of the templar's tagged values costs more than the whole reconcile.
        args = json.loads(json.dumps(self._task.args))
        kwargs = module_kwargs()
        kwargs.pop('supports_check_mode', None)
        validation = ArgumentSpecValidator(module_argument_spec(layout_argument_spec()), **kwargs).validate(args)
        if validation.error_messages:
            raise AnsibleActionFail('%s: %s' % (self._task.action, '; '.join(validation.error_messages)))
        outcome = run_layout(validation.validated_parameters, check_mode=bool(self._task.check_mode),
                             diff=bool(self._task.diff))
        # As AnsibleModule does for a module's result: no secret from the options in the output.
        if validation._no_log_values:
            outcome = remove_values(outcome, validation._no_log_values)
        result.update(outcome)
        return result
