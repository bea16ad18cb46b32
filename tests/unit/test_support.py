"""The shared test helpers of tests/support: the nats-server harness starts the release asked for
and quotes the server's own words when it cannot start; the PLAY RECAP reader gives every host's
counts of the last run in an output; the shared test certificates carry the names and usages the
tests rely on."""
import pytest

from ansible_collections.cim.nats.plugins.module_utils.tls_check import TLSFileError, check_node_tls
from nats_harness import NatsServer, release_binary, releases_on_disk, start_nats_server
from recap import parse_recap


def test_the_harness_runs_the_release_asked_for_with_jetstream_on_loopback(tmp_path):
    oldest = releases_on_disk()[0]
    server = start_nats_server(tmp_path, "http: 127.0.0.1:-1\n", binary=release_binary(oldest))
    try:
        varz = server.varz()
        assert (varz["version"], varz["host"], varz["port"]) == (oldest, "127.0.0.1", server.port)
        assert server.url == "nats://127.0.0.1:%d" % server.port
        assert varz["jetstream"]["config"]["store_dir"].startswith(str(tmp_path))
    finally:
        server.stop()
    assert server.process.poll() is not None


def test_a_server_that_cannot_start_fails_with_its_own_words(tmp_path):
    server = NatsServer(tmp_path, "port: -1\nno_such_option: 1\n")
    with pytest.raises(RuntimeError, match="unknown field \"no_such_option\""):
        server.start()
    assert "no_such_option" in server.log_text()


def test_a_missing_release_is_named():
    with pytest.raises(RuntimeError, match="nats-server 0.0.1 is missing"):
        release_binary("0.0.1")


RECAPS = """\
PLAY RECAP *********************************************************************
n1                         : ok=12   changed=3    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
n2                         : ok=12   changed=3    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0

TASK [a later run] *************************************************************
changed: [n1]

PLAY RECAP *********************************************************************
n1                         : ok=9    changed=0    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
n2                         : ok=1    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""


def test_the_recap_reader_gives_the_last_runs_counts_per_host():
    assert parse_recap(RECAPS) == {
        "n1": {"ok": 9, "changed": 0, "unreachable": 0, "failed": 1, "skipped": 0, "rescued": 0, "ignored": 0},
        "n2": {"ok": 1, "changed": 0, "unreachable": 1, "failed": 0, "skipped": 0, "rescued": 0, "ignored": 0},
    }
    assert parse_recap("no recap here\nok=1 changed=0\n") == {}


def test_the_shared_certificates_name_what_the_tests_connect_to(tls_material):
    """The server certificate serves localhost and 127.0.0.1 and is a route client too; the
    nats.test one names that host only; the client one is no server; all chain to the one CA."""
    ca = tls_material['ca']
    server = check_node_tls(tls_material['server_cert'], tls_material['server_key'], ca,
                            names=['localhost', '127.0.0.1'], client_auth=True)
    assert server['sans'] == ['DNS:localhost', 'IP:127.0.0.1']
    assert check_node_tls(tls_material['named_cert'], tls_material['named_key'], ca, names=['nats.test'])['sans'] == [
        'DNS:nats.test']
    with pytest.raises(TLSFileError, match='does not name localhost'):
        check_node_tls(tls_material['named_cert'], tls_material['named_key'], ca, names=['localhost'])
    with pytest.raises(TLSFileError, match='serverAuth'):
        check_node_tls(tls_material['client_cert'], tls_material['client_key'], ca)
    with pytest.raises(TLSFileError, match='does not belong to the certificate'):
        check_node_tls(tls_material['server_cert'], tls_material['client_key'], ca)
