"""The TLS file check (cim.nats.nats_tls_check): a site PKI made with openssl passes, and each
way a node's files can be wrong fails naming the file and what is wrong."""
import datetime
import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.cim.nats.plugins.module_utils.tls_check import TLSFileError, check_node_tls, name_matches
from certificates import CLIENT_AUTH, SERVER_AUTH, CertificateAuthority, write_certificate, write_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_SITE_PKI = os.path.join(ROOT, 'tests', 'support', 'make_site_pki.sh')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """The site PKI of the Molecule production scenario: RSA root, ECDSA intermediate, bundle."""
    pki = tmp_path_factory.mktemp('pki')
    subprocess.run([MAKE_SITE_PKI, str(pki), 'nats-1=DNS:nats-1.example.internal,IP:10.0.1.11',
                    'nats-2=DNS:nats-2.example.internal,DNS:*.nats.example.internal,IP:10.0.1.12'], check=True)
    return pki


def files(pki, node, ca='ca.crt'):
    return str(pki / ('%s.crt' % node)), str(pki / ('%s.key' % node)), str(pki / ca)


def refused(role, words, *args, **kwargs):
    with pytest.raises(TLSFileError) as caught:
        check_node_tls(*args, **kwargs)
    assert caught.value.role == role, caught.value.problem
    for word in words:
        assert word in caught.value.problem, caught.value.problem
    return caught.value


def test_site_pki_with_rsa_and_ecdsa_keys_and_a_ca_bundle_passes(site):
    rsa = check_node_tls(*files(site, 'nats-1'), names=['10.0.1.11', 'nats-1.example.internal'], client_auth=True)
    ecdsa = check_node_tls(*files(site, 'nats-2'), names=['nats-2.example.internal', 'x.nats.example.internal'],
                           client_auth=True)
    assert rsa['sans'] == ['DNS:nats-1.example.internal', 'IP:10.0.1.11']
    assert rsa['chain'] == ecdsa['chain'] == ['CN=Example Site NATS Issuing CA,O=Example Site']


def test_checksums_are_those_a_copy_on_the_node_has(site, tmp_path):
    # The role copies a file only when the node's sha1sum of its copy differs from these.
    cert, key, ca = files(site, 'nats-1')
    found = check_node_tls(cert, key, ca, names=['10.0.1.11'])
    sums = subprocess.run(['sha1sum', cert, key, ca], capture_output=True, text=True, check=True).stdout.split()
    assert found['sha1'] == {'cert': sums[0], 'key': sums[2], 'ca': sums[4]}
    changed = tmp_path / 'ca.crt'
    changed.write_bytes((site / 'ca.crt').read_bytes() + b'\n')
    assert check_node_tls(cert, key, str(changed), names=['10.0.1.11'])['sha1']['ca'] != sums[4]
    assert set(check_node_tls(cert, key)['sha1']) == {'cert', 'key'}


def test_intermediate_in_the_certificate_file_and_only_the_root_as_ca(site, tmp_path):
    cert = tmp_path / 'chain.crt'
    cert.write_bytes((site / 'nats-1.crt').read_bytes() + (site / 'intermediate.crt').read_bytes())
    found = check_node_tls(str(cert), str(site / 'nats-1.key'), str(site / 'root.crt'), names=['10.0.1.11'])
    assert found['chain'] == ['CN=Example Site NATS Issuing CA,O=Example Site', 'CN=Example Site Root CA,O=Example Site']
    # Without the intermediate anywhere, there is no chain to the root.
    refused('cert', ['does not chain', 'root.crt'], *files(site, 'nats-1', ca='root.crt'))


def test_a_key_of_another_node_is_refused_before_anything_is_copied(site):
    cert, _key, ca = files(site, 'nats-1')
    error = refused('key', ['does not belong to the certificate'], cert, str(site / 'nats-2.key'), ca)
    assert error.path == str(site / 'nats-2.key')


def test_a_certificate_of_another_ca_is_refused(site, tmp_path):
    other = tmp_path / 'other'
    subprocess.run([MAKE_SITE_PKI, str(other), 'x=DNS:x'], check=True)
    refused('cert', ['does not chain', 'Example Site Root CA'], *files(site, 'nats-1', ca='ca.crt')[:2],
            str(other / 'ca.crt'))


def test_route_address_missing_from_the_sans_is_named(site):
    error = refused('cert', ['10.0.1.99', 'IP:10.0.1.11'], *files(site, 'nats-1'), names=['10.0.1.99'])
    assert 'subject alternative names' in error.problem
    # The common name is never used (Go's crypto/x509 ignores it too).
    refused('cert', ['nats-1'], *files(site, 'nats-1'), names=['nats-1'])


def test_missing_unreadable_and_non_pem_files(site, tmp_path):
    cert, key, ca = files(site, 'nats-1')
    refused('cert', ['cannot be read'], str(tmp_path / 'nope.crt'), key, ca)
    refused('ca', ['cannot be read'], cert, key, str(tmp_path / 'nope-ca.crt'))
    garbage = tmp_path / 'garbage.pem'
    garbage.write_text('not a certificate\n')
    refused('cert', ['no PEM certificate'], str(garbage), key, ca)
    refused('key', ['no PEM private key'], cert, str(garbage), ca)
    if os.geteuid() != 0:  # root reads a 0000 file anyway
        locked = tmp_path / 'locked.key'
        shutil.copy(key, locked)
        locked.chmod(0)
        refused('key', ['cannot be read'], cert, str(locked), ca)


def test_an_encrypted_key_is_refused(site, tmp_path):
    cert, key, ca = files(site, 'nats-2')
    private = serialization.load_pem_private_key(open(key, 'rb').read(), password=None)
    encrypted = tmp_path / 'enc.key'
    encrypted.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.BestAvailableEncryption(b'secret')))
    refused('key', ['encrypted'], cert, str(encrypted), ca)


def _issue(tmp_path, name, not_before, not_after, usages):
    """A node certificate signed by a fresh CA, with the given validity and extended key usages."""
    day = datetime.timedelta(days=1)
    ca = CertificateAuthority('test CA', not_before - day, not_after + day)
    cert, key = ca.issue(name, ['DNS:' + name], usages, not_before, not_after)
    return [write_certificate(tmp_path / (name + '.crt'), cert), write_key(tmp_path / (name + '.key'), key),
            write_certificate(tmp_path / (name + '-ca.crt'), ca.certificate)]


NOW = datetime.datetime.now(datetime.timezone.utc)
BOTH = [SERVER_AUTH, CLIENT_AUTH]


def test_expired_and_not_yet_valid_certificates(tmp_path):
    refused('cert', ['expired on'], *_issue(tmp_path, 'old', NOW - datetime.timedelta(days=30),
                                            NOW - datetime.timedelta(days=1), BOTH))
    refused('cert', ['not valid before'], *_issue(tmp_path, 'early', NOW + datetime.timedelta(days=1),
                                                  NOW + datetime.timedelta(days=30), BOTH))


def test_routes_need_client_auth_and_every_node_server_auth(tmp_path):
    day = datetime.timedelta(days=1)
    server_only = _issue(tmp_path, 'srv', NOW - day, NOW + day, [SERVER_AUTH])
    check_node_tls(*server_only)
    refused('cert', ['clientAuth', 'mutual TLS'], *server_only, client_auth=True)
    client_only = _issue(tmp_path, 'cli', NOW - day, NOW + day, [CLIENT_AUTH])
    refused('cert', ['serverAuth'], *client_only)
    # No extended key usage at all: any usage, as Go reads it.
    check_node_tls(*_issue(tmp_path, 'any', NOW - day, NOW + day, None), client_auth=True)


@pytest.mark.parametrize('name, sans, ok', [
    ('nats-1.example.internal', ['DNS:NATS-1.example.internal'], True),
    ('a.nats.example.internal', ['DNS:*.nats.example.internal'], True),
    ('a.b.nats.example.internal', ['DNS:*.nats.example.internal'], False),
    ('nats.example.internal', ['DNS:*.nats.example.internal'], False),
    ('10.0.1.11', ['DNS:10.0.1.11'], False),
    ('10.0.1.11', ['IP:10.0.1.11'], True),
    ('fd00::1', ['IP:fd00:0::1'], True),
    ('[fd00::1]', ['IP:fd00::1'], True),
])
def test_names_match_as_go_matches_them(name, sans, ok):
    assert name_matches(name, sans) is ok


def test_the_cluster_preflight_names_host_variable_and_file(site, tmp_path):
    """The role's own task, run by ansible-playbook on the controller only."""
    playbook = tmp_path / 'check.yml'
    playbook.write_text(json.dumps([{
        'hosts': 'nats', 'gather_facts': False,
        'tasks': [{'ansible.builtin.include_role': {'name': 'cim.nats.nats_cluster', 'tasks_from': 'preflight_tls.yml'}}],
    }]))
    inventory = tmp_path / 'hosts.json'
    hostvars = {'ansible_connection': 'local', 'nats_cluster_tls_ca_src': str(site / 'ca.crt')}
    nodes = {
        # Its own pair at its own address: passes.
        'nats-1': dict(hostvars, nats_cluster_advertise='10.0.1.11', nats_cluster_tls_cert_src=str(site / 'nats-1.crt'),
                       nats_cluster_tls_key_src=str(site / 'nats-1.key')),
        # Its own certificate with another node's key.
        'nats-2': dict(hostvars, nats_cluster_advertise='10.0.1.12', nats_cluster_tls_cert_src=str(site / 'nats-2.crt'),
                       nats_cluster_tls_key_src=str(site / 'nats-1.key')),
        # Another node's pair: the route address is not in its SANs.
        'nats-3': dict(hostvars, nats_cluster_advertise='10.0.1.13', nats_cluster_tls_cert_src=str(site / 'nats-1.crt'),
                       nats_cluster_tls_key_src=str(site / 'nats-1.key')),
    }
    inventory.write_text(json.dumps({'all': {'children': {'nats': {'hosts': nodes}}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    run = subprocess.run(['ansible-playbook', '-i', str(inventory), str(playbook)], check=False, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = ' '.join(run.stdout.split())
    assert run.returncode != 0, out
    assert 'ok: [nats-1]' in out, out
    assert 'nats-2: nats_cluster_tls_key_src %s does not belong to the certificate %s' % (
        site / 'nats-1.key', site / 'nats-2.crt') in out, out
    assert 'nats-3: nats_cluster_tls_cert_src %s' % (site / 'nats-1.crt') in out, out
    assert 'does not name 10.0.1.13 in its subject alternative names' in out, out
    assert 'Nothing was copied to the host' in out, out


MONITOR_CASES = [
    # (id, extra vars, which certificate, the URL the health checks use, or None for a refusal)
    ("https, all addresses, loopback names in the certificate", {}, "loopback", "https://127.0.0.1:8222"),
    ("https, all addresses, site certificate: its route address", {"nats_server_tls_cert_names": ["10.0.1.11"]},
     "site", "https://10.0.1.11:8222"),
    ("https, one address the certificate names", {"nats_server_monitor_host": "10.0.1.11"}, "site",
     "https://10.0.1.11:8222"),
    ("https, one address the certificate does not name", {"nats_server_monitor_host": "10.0.9.9"}, "loopback", None),
    ("https, site certificate, no name to use", {}, "site", None),
    ("https, an explicit check host", {"nats_server_monitor_check_host": "nats-1.example.internal"}, "site",
     "https://nats-1.example.internal:8222"),
    ("http, one address", {"nats_server_monitor_scheme": "http", "nats_server_monitor_host": "10.0.1.11"}, "site",
     "http://10.0.1.11:8222"),
    ("http, all addresses", {"nats_server_monitor_scheme": "http"}, "site", "http://127.0.0.1:8222"),
]


@pytest.mark.parametrize("case, extra, cert, url", MONITOR_CASES, ids=[c[0] for c in MONITOR_CASES])
def test_health_checks_use_a_name_the_certificate_carries(case, extra, cert, url, site, tls_material, tmp_path):
    from test_preflight import run_play
    files = ({"nats_server_tls_cert_src": tls_material["server_cert"], "nats_server_tls_key_src": tls_material["server_key"],
              "nats_server_tls_ca_src": tls_material["ca"]} if cert == "loopback" else
             {"nats_server_tls_cert_src": str(site / "nats-1.crt"), "nats_server_tls_key_src": str(site / "nats-1.key"),
              "nats_server_tls_ca_src": str(site / "ca.crt")})
    extra = dict({"nats_server_tls_enabled": True, "nats_server_monitor_scheme": "https"}, **files, **extra)
    rc, results, out = run_play("server_tls.yml", tmp_path, extra=[extra])
    shown = [r["msg"]["monitor_url"] for status, host, label, r in results
             if status == "ok" and isinstance(r.get("msg"), dict) and "monitor_url" in r["msg"]]
    if url is None:
        assert rc != 0 and not shown, out
        assert "nats_server_monitor_check_host" in out
    else:
        assert rc == 0, out
        assert shown == [url]
