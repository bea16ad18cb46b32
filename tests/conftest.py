"""Fixtures shared by the unit and the integration tests.

* ``tls_material`` - a CA and the certificates it signs (tests/support/certificates.py): paths
  ``ca``, ``server_cert``/``server_key`` (localhost and 127.0.0.1, serverAuth and clientAuth),
  ``named_cert``/``named_key`` (the name nats.test only) and ``client_cert``/``client_key``
  (clientAuth); made once per session.
"""
import pytest

from certificates import make_tls_material


@pytest.fixture(scope='session')
def tls_material(tmp_path_factory):
    return make_tls_material(tmp_path_factory.mktemp('tls'))
