# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible side of the single-object JetStream modules: one function per kind that takes
an ``AnsibleModule``, plans one object over one connection, honours check and diff mode, and
exits with the result or fails with the server's words.  All decisions are made in
``jetstream_model`` and executed by ``jetstream_apply``; nothing here is specific to one module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cim.nats.plugins.module_utils.connection import (
    HAS_NATS,
    NATS_IMPORT_ERROR,
    JetStreamApiError,
    JetStreamClient,
    NatsError,
    connection_argument_spec,
    connection_mutually_exclusive,
    connection_required_together,
    resolve_connection,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_apply import (
    PlanRefusedError,
    apply_plan,
    plan_consumer_on_server,
    plan_stream_on_server,
    read_account,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_model import (
    CONSUMER_FIELDS,
    STREAM_FIELDS,
    ModelError,
    describe_value,
    kv_stream_name,
    object_store_stream_name,
    protect_delete,
)
from ansible_collections.cim.nats.plugins.module_utils.jetstream_options import (
    consumer_config_from_options,
    kv_bucket_config_from_options,
    object_store_config_from_options,
    server_limits_from_options,
    stream_config_from_options,
)


def module_argument_spec(object_spec):
    """Return the full argument spec of a module: the connection options plus ``object_spec``."""
    spec = connection_argument_spec()
    spec.update(object_spec)
    return spec


def module_kwargs():
    """Keyword arguments every JetStream module passes to ``AnsibleModule`` besides its spec."""
    return dict(
        supports_check_mode=True,
        mutually_exclusive=connection_mutually_exclusive(),
        required_together=connection_required_together(),
    )


def require_nats(module):
    """Fail with Ansible's standard "missing required library" message when nats-py is absent."""
    if not HAS_NATS:
        module.fail_json(msg=missing_required_lib('nats-py'), exception=NATS_IMPORT_ERROR)


def _diff(plan):
    return {'before': plan['before'] or {}, 'after': plan['after'] or {}}


def warn_drift(module, plan, drift):
    """Warn (``module.warn``) for each field the server stored differently from ``plan``.

    ``drift`` is what ``apply_plan`` returned under ``drift``; such a field would be reported as
    changed on the next run, so the user hears about it now.
    """
    fields = STREAM_FIELDS if plan['kind'] == 'stream' else CONSUMER_FIELDS
    for name, values in sorted(drift.items()):
        module.warn('%s: the server stored %s=%s where %s was planned; the next run will report this field as '
                    'changed' % (plan['label'], name, describe_value(fields[name], values['stored']),
                                 describe_value(fields[name], values['planned'])))


def _data_loss(plan):
    """``data_loss`` for the result: what a delete or recreate destroys (or would, in check mode)."""
    if plan.get('data_loss') is None or plan['action'] not in ('delete', 'recreate', 'refuse'):
        return {}
    return {'data_loss': plan['data_loss']}


def _fail_refused(module, plan):
    module.fail_json(msg=plan['message'], action='refuse', refused=plan['refused'], changes=plan['changes'],
                     **dict(_data_loss(plan), **({'diff': _diff(plan)} if module._diff else {})))


def _fail_error(module, label, exc):
    extra = {}
    if isinstance(exc, JetStreamApiError):
        extra = dict(err_code=exc.err_code, code=exc.code)
        msg = '%s: the server refused the request: %s' % (label, exc)
    else:
        msg = '%s: %s' % (label, exc) if label else str(exc)
    module.fail_json(msg=msg, **extra)


STREAM_KINDS = {
    'stream': (stream_config_from_options, None, None),
    'kv_bucket': (kv_bucket_config_from_options, kv_stream_name, 'KV bucket %s'),
    'object_store': (object_store_config_from_options, object_store_stream_name, 'object store %s'),
}


def _reconcile_one(module, label, plan_on_server, info_key, **extra):
    """Plan one object on the server, apply the plan (unless in check mode) and exit.

    ``plan_on_server(client)`` returns ``(plan, info)``; a refused plan fails with its fields.
    The result holds ``changed``, ``action``, ``changes``, ``message``, the object's public info
    under ``info_key``, ``extra`` and, in diff mode, ``diff``.
    """
    try:
        with JetStreamClient(resolve_connection(module.params)) as client:
            plan, info = plan_on_server(client)
            if plan['action'] == 'refuse':
                _fail_refused(module, plan)
            if not module.check_mode and plan['changed']:
                applied = apply_plan(client, plan)
                info = applied['info']
                warn_drift(module, plan, applied['drift'])
    except ModelError as exc:
        module.fail_json(msg='%s: %s' % (label, exc))
    except PlanRefusedError as exc:
        _fail_refused(module, exc.plan)
    except NatsError as exc:
        _fail_error(module, label, exc)
    result = dict(changed=plan['changed'], action=plan['action'], changes=plan['changes'], message=plan['message'],
                  **dict(_data_loss(plan), **extra))
    result[info_key] = _public_info(info)
    if module._diff:
        result['diff'] = _diff(plan)
    module.exit_json(**result)


def run_stream_module(module, kind='stream'):
    """Reconcile one stream, KV bucket or object store described by ``module.params`` and exit.

    Result keys: ``changed``, ``action``, ``changes``, ``message``, ``stream`` (the stream's info
    after the run; the current one in check mode), ``bucket`` for buckets, ``data_loss`` for a
    delete or recreate, and ``diff``.  Deleting one that holds messages needs
    ``acknowledge_data_loss`` (``protect_delete``).
    """
    require_nats(module)
    params = module.params
    to_config, stream_name, label_format = STREAM_KINDS[kind]
    name = params['bucket'] if stream_name else params['name']
    label = (label_format % name) if label_format else 'stream %s' % name
    try:
        desired = to_config(params) if params['state'] == 'present' else {
            'name': stream_name(name) if stream_name else name}
        server_limits = server_limits_from_options(params.get('server_limits'))
    except ModelError as exc:
        module.fail_json(msg='%s: %s' % (label, exc))

    def plan_on_server(client):
        plan, info = plan_stream_on_server(
            client, desired, recreate=params['recreate'], acknowledge_data_loss=params['acknowledge_data_loss'],
            state=params['state'], label=label, server_limits=server_limits)
        return protect_delete(plan, params['acknowledge_data_loss']), info

    _reconcile_one(module, label, plan_on_server, 'stream', **({'bucket': name} if stream_name else {}))


def run_consumer_module(module):
    """Reconcile one consumer described by ``module.params`` and exit.

    Result keys: ``changed``, ``action``, ``changes``, ``message``, ``consumer`` (its info after the
    run; the current one in check mode) and ``diff``.  A missing stream fails a real run and is a
    warning in check mode (an earlier task may create it).
    """
    require_nats(module)
    params = module.params
    label = 'consumer %s on stream %s' % (params['name'], params['stream'])
    try:
        desired = consumer_config_from_options(params) if params['state'] == 'present' else {
            'name': params['name'], 'durable_name': params['name']}
        server_limits = server_limits_from_options(params.get('server_limits'))
    except ModelError as exc:
        module.fail_json(msg='%s: %s' % (label, exc))

    def plan_on_server(client):
        limits = read_account(client).get('limits') if params['state'] == 'present' else None
        plan, info, stream_info = plan_consumer_on_server(
            client, desired, params['stream'], account_limits=limits, recreate=params['recreate'],
            state=params['state'], server_limits=server_limits)
        if stream_info is None and params['state'] == 'present':
            if not module.check_mode:
                module.fail_json(msg='%s: stream %s does not exist; create it first (cim.nats.jetstream_stream)'
                                 % (label, params['stream']))
            module.warn('stream %s does not exist: a real run fails unless an earlier task creates it'
                        % params['stream'])
        return plan, info

    _reconcile_one(module, label, plan_on_server, 'consumer')


def _public_info(info):
    """The server's info without the API envelope keys (``type``, ``did_create``)."""
    if not info:
        return None
    return dict((k, v) for k, v in info.items() if k not in ('type', 'did_create', 'total', 'offset', 'limit'))
