# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark callback: the wall time of every task and the remote calls each one made.

Enabled by benchmarks/playbook_no_change.py only (ANSIBLE_CALLBACKS_ENABLED). A task's time runs
from its start to the next task's start, as profile_tasks counts it. A remote call is one command
run on a host (a module, a checksum, a temporary directory) or one file put there; the action
plugins of the worker processes append each to the file named by CIM_BENCH_CALLS_FILE (the
workers are forked after this module is loaded, so the wrapper below is theirs too). Calls that
run on the controller (delegated to localhost, or the local connection) are counted apart.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: cim_bench_profile
type: aggregate
short_description: task times and remote calls per task, for the benchmarks
description: Writes the wall time of every task (and the time a module reports for its own work, its C(elapsed)) and, per task, each command and file transfer to a host.
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED, CIM_BENCH_TASKS_FILE and CIM_BENCH_CALLS_FILE set]
'''

import json
import os
import time

from ansible.plugins.action import ActionBase
from ansible.plugins.callback import CallbackBase

_CALLS_FILE = os.environ.get('CIM_BENCH_CALLS_FILE')
_TASKS_FILE = os.environ.get('CIM_BENCH_TASKS_FILE')


def _log_call(action, kind):
    transport = getattr(action._connection, 'transport', '?')
    line = json.dumps({'task': action._task._uuid, 'host': action._play_context.remote_addr,
                       'transport': transport, 'kind': kind}) + '\n'
    # One write of one short line to a file opened for appending: lines of concurrent workers
    # never interleave.
    fd = os.open(_CALLS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _wrap(name, kind):
    original = getattr(ActionBase, name)

    def wrapper(self, *args, **kwargs):
        _log_call(self, kind)
        return original(self, *args, **kwargs)

    wrapper.__wrapped__ = original
    setattr(ActionBase, name, wrapper)


if _CALLS_FILE and not hasattr(ActionBase._low_level_execute_command, '__wrapped__'):
    _wrap('_low_level_execute_command', 'exec')
    _wrap('_transfer_file', 'put')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'cim_bench_profile'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._tasks = []
        self._start = time.time()

    def _close_last(self):
        if self._tasks and self._tasks[-1]['seconds'] is None:
            self._tasks[-1]['seconds'] = time.time() - self._tasks[-1]['started']

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_last()
        role = task._role.get_name() if task._role else ''
        self._tasks.append({'uuid': task._uuid, 'name': task.get_name(include_role_fqcn=False), 'role': role,
                            'path': task.get_path() or '', 'started': time.time(), 'seconds': None})

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_runner_on_ok(self, result):
        # A module that times its own work (the JetStream reconcile's ``elapsed``): kept to the
        # millisecond, which its summary line rounds away.
        elapsed = result._result.get('elapsed')
        if self._tasks and isinstance(elapsed, (int, float)):
            self._tasks[-1]['reported_seconds'] = elapsed

    def v2_playbook_on_stats(self, stats):
        self._close_last()
        if _TASKS_FILE:
            with open(_TASKS_FILE, 'w') as handle:
                json.dump({'seconds': time.time() - self._start, 'tasks': self._tasks,
                           'changed': dict((host, stats.summarize(host)['changed']) for host in stats.processed)},
                          handle)
