"""Test certificates, made with ``cryptography``: a CA and the certificates it signs, each with
the names, extended key usages and validity a test asks for.

* ``CertificateAuthority(common_name, not_before, not_after)`` - a self-signed CA (ECDSA P-256);
  ``issue(common_name, sans, usages, not_before, not_after)`` signs a leaf certificate with a key
  of its own and returns ``(certificate, key)``; ``sans`` are written as openssl writes them
  (``DNS:localhost``, ``IP:127.0.0.1``); ``usages=None`` leaves the extended key usage out.
* ``write_certificate``, ``write_key`` - PEM files (keys unencrypted PKCS#8).
* ``make_tls_material(directory)`` - the files the test suites share (the ``tls_material``
  fixture): a CA, a server certificate for localhost / 127.0.0.1 (serverAuth and clientAuth, as
  a node on TLS routes needs), one for the name nats.test only (serverAuth) and a client
  certificate (clientAuth).

The site PKI of the Molecule production scenario is made apart, with the openssl command line
as a site makes one (make_site_pki.sh).
"""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


def _validity(not_before, not_after):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (now - datetime.timedelta(minutes=5) if not_before is None else not_before,
            now + datetime.timedelta(days=1) if not_after is None else not_after)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _general_name(san):
    kind, _sep, value = san.partition(':')
    if kind == 'DNS':
        return x509.DNSName(value)
    if kind == 'IP':
        return x509.IPAddress(ipaddress.ip_address(value))
    raise ValueError('a subject alternative name is DNS:<name> or IP:<address>, not %r' % san)


class CertificateAuthority:
    """A self-signed CA; by default valid from five minutes ago for a day."""

    def __init__(self, common_name='cim.nats test CA', not_before=None, not_after=None):
        self.key = ec.generate_private_key(ec.SECP256R1())
        not_before, not_after = _validity(not_before, not_after)
        self.certificate = (
            x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256()))

    def issue(self, common_name, sans, usages=(SERVER_AUTH,), not_before=None, not_after=None):
        """A leaf certificate signed by this CA and its new key: ``(certificate, key)``."""
        key = ec.generate_private_key(ec.SECP256R1())
        not_before, not_after = _validity(not_before, not_after)
        builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(self.certificate.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName([_general_name(san) for san in sans]), critical=False))
        if usages is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        return builder.sign(self.key, hashes.SHA256()), key


def write_certificate(path, certificate):
    """Write a certificate as PEM; returns the path as a string."""
    with open(str(path), 'wb') as handle:
        handle.write(certificate.public_bytes(serialization.Encoding.PEM))
    return str(path)


def write_key(path, key):
    """Write a private key as unencrypted PKCS#8 PEM; returns the path as a string."""
    with open(str(path), 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


def make_tls_material(directory):
    """The CA, server, nats.test and client certificates in ``directory``; returns their paths as
    ``ca``, ``server_cert``, ``server_key``, ``named_cert``, ``named_key``, ``client_cert``,
    ``client_key``."""
    ca = CertificateAuthority()
    files = {'ca': write_certificate(directory / 'ca.pem', ca.certificate)}
    for label, common_name, sans, usages in (
            ('server', 'localhost', ['DNS:localhost', 'IP:127.0.0.1'], [SERVER_AUTH, CLIENT_AUTH]),
            ('named', 'nats.test', ['DNS:nats.test'], [SERVER_AUTH]),
            ('client', 'ansible', ['DNS:ansible'], [CLIENT_AUTH])):
        certificate, key = ca.issue(common_name, sans, usages)
        files[label + '_cert'] = write_certificate(directory / ('%s.pem' % label), certificate)
        files[label + '_key'] = write_key(directory / ('%s-key.pem' % label), key)
    return files
