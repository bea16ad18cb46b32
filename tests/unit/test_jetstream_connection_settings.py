"""Connection settings: task options, then the environment, then defaults; never mixed methods."""
from ansible_collections.cim.nats.plugins.module_utils.connection import (
    JetStreamApiError,
    api_prefix,
    connection_argument_spec,
    resolve_connection,
)


def test_defaults_without_environment():
    settings = resolve_connection({}, environ={})
    assert settings['server'] == ['nats://localhost:4222']
    assert settings['user'] is None and settings['token'] is None
    assert settings['connect_timeout'] == 5.0


def test_environment_fills_unset_options():
    env = {'NATS_URL': 'nats://a:4222, nats://b:4222', 'NATS_USER': 'u', 'NATS_PASSWORD': 'p',
           'NATS_CA': '/ca.pem', 'NATS_CERT': '/c.pem', 'NATS_KEY': '/k.pem'}
    settings = resolve_connection({}, environ=env)
    assert settings['server'] == ['nats://a:4222', 'nats://b:4222']
    assert (settings['user'], settings['password']) == ('u', 'p')
    assert (settings['tls_ca_file'], settings['tls_cert_file'], settings['tls_key_file']) == (
        '/ca.pem', '/c.pem', '/k.pem')


def test_task_options_win_over_environment():
    env = {'NATS_URL': 'nats://env:4222', 'NATS_CA': '/env-ca.pem'}
    settings = resolve_connection({'server': ['nats://task:4222'], 'tls_ca_file': '/task-ca.pem'}, environ=env)
    assert settings['server'] == ['nats://task:4222']
    assert settings['tls_ca_file'] == '/task-ca.pem'


def test_authentication_methods_are_never_mixed():
    env = {'NATS_USER': 'env-user', 'NATS_PASSWORD': 'env-pass', 'NATS_CREDS': '/env.creds'}
    settings = resolve_connection({'token': 's3cret'}, environ=env)
    assert settings['token'] == 's3cret'
    assert settings['user'] is None and settings['creds_file'] is None


def test_environment_method_precedence_creds_first():
    env = {'NATS_TOKEN': 't', 'NATS_CREDS': '/x.creds', 'NATS_USER': 'u'}
    settings = resolve_connection({}, environ=env)
    assert settings['creds_file'] == '/x.creds' and settings['token'] is None and settings['user'] is None
    assert resolve_connection({}, environ={'NATS_TOKEN': 't', 'NATS_USER': 'u'})['token'] == 't'


def test_secrets_are_no_log():
    spec = connection_argument_spec()
    assert all(spec[name].get('no_log') for name in ('password', 'token', 'nkey_seed'))


def test_domain_prefix():
    assert api_prefix(None) == '$JS.API.'
    assert api_prefix('hub') == '$JS.hub.API.'


def test_api_errors_keep_the_servers_words():
    error = JetStreamApiError('subjects overlap with an existing stream', 10065, 400)
    assert str(error) == 'subjects overlap with an existing stream (err_code 10065, status 400)'
    assert error.err_code == 10065


def test_settings_that_cannot_work_fail_before_connecting(tmp_path):
    import pytest
    from ansible_collections.cim.nats.plugins.module_utils.connection import NatsConnectionError, check_connection
    with pytest.raises(NatsConnectionError) as err:
        check_connection(resolve_connection({'server': ['http://x:4222']}, environ={}))
    assert 'http://x:4222' in str(err.value)
    with pytest.raises(NatsConnectionError) as err:
        check_connection(resolve_connection({}, environ={'NATS_CA': str(tmp_path / 'missing.pem')}))
    assert 'tls_ca_file' in str(err.value) and 'does not exist' in str(err.value) and 'NATS_CA' in str(err.value)
    present = tmp_path / 'ca.pem'
    present.write_text('x')
    check_connection(resolve_connection({'server': ['localhost:4222', 'tls://h:1'], 'tls_ca_file': str(present)},
                                        environ={}))


def test_inline_creds_and_tls_first_are_task_options_and_secret():
    spec = connection_argument_spec()
    assert spec['creds']['no_log'] is True and spec['tls_handshake_first']['default'] is False
    env = {'NATS_CREDS': '/env.creds', 'NATS_USER': 'env-user'}
    settings = resolve_connection({'creds': '-----BEGIN NATS USER JWT-----', 'tls_handshake_first': True}, environ=env)
    # inline credentials are an authentication method of the task: the environment's are not mixed in
    assert settings['creds'].startswith('-----BEGIN') and settings['creds_file'] is None and settings['user'] is None
    assert settings['tls_handshake_first'] is True
