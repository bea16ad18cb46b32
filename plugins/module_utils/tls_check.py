# -*- coding: utf-8 -*-
# Copyright: cim.nats contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check a node's TLS files the way nats-server and its peers will use them, before any host
sees them.

``check_node_tls`` reads a certificate file (the node certificate, optionally followed by its
intermediates), its private key and a CA file (one or more certificates: a root, a bundle, or an
intermediate), and raises ``TLSFileError`` naming the file and the one thing that is wrong:
unreadable or not PEM, a key that does not belong to the certificate, a certificate outside its
validity period, no chain to the CA, an extended key usage that lacks serverAuth (or clientAuth,
for mutual TLS on routes), or subject alternative names that miss an address the node is reached
at. Names are matched as Go's crypto/x509 (which nats-server uses) matches them: SANs only, never
the common name; DNS names case-insensitively, with a wildcard for one left-most label; IP
addresses by value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import ipaddress

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the caller
    HAS_CRYPTOGRAPHY = False

# How deep a chain may be (leaf, intermediates, root) before we give up looking.
_MAX_CHAIN = 8


class TLSFileError(Exception):
    """One TLS file is unusable; ``role`` says which (cert, key or ca), ``path`` where it is."""

    def __init__(self, role, path, problem):
        super(TLSFileError, self).__init__(problem)
        self.role = role
        self.path = path
        self.problem = problem


def _read(role, path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise TLSFileError(role, path, 'cannot be read (%s)' % (exc.strerror or exc))


def _certificates(role, path, data=None):
    data = _read(role, path) if data is None else data
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise TLSFileError(role, path, 'holds no PEM certificate (BEGIN CERTIFICATE)')
    return certs


def _private_key(path, data=None):
    data = _read('key', path) if data is None else data
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TLSFileError('key', path, 'is encrypted; nats-server needs an unencrypted key file')
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TLSFileError('key', path, 'holds no PEM private key nats-server can read (%s)' % exc)


def _public_bytes(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _describe(cert):
    return cert.subject.rfc4514_string() or '(empty subject)'


def _utc(cert, attribute):
    # cryptography >= 42 has *_utc; older releases give naive UTC datetimes.
    value = getattr(cert, attribute + '_utc', None)
    if value is None:
        value = getattr(cert, attribute).replace(tzinfo=datetime.timezone.utc)
    return value


def _check_validity(role, path, cert, now):
    not_before, not_after = _utc(cert, 'not_valid_before'), _utc(cert, 'not_valid_after')
    if now < not_before:
        raise TLSFileError(role, path, '%s is not valid before %s' % (_describe(cert), not_before.isoformat()))
    if now > not_after:
        raise TLSFileError(role, path, '%s expired on %s' % (_describe(cert), not_after.isoformat()))


def _issued_by(cert, issuer):
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def _chain_to_ca(cert_path, leaf, intermediates, ca_path, anchors, now):
    """Follow issuers from the leaf through the given intermediates to a certificate of the CA
    file; every certificate on the way must be valid now."""
    if leaf in anchors:  # a node certificate trusted as it is
        return []
    current, seen = leaf, []
    for _hop in range(_MAX_CHAIN):
        for anchor in anchors:
            if _issued_by(current, anchor):
                _check_validity('ca', ca_path, anchor, now)
                return seen + [anchor]
        nxt = next((c for c in intermediates if c is not current and c not in seen and _issued_by(current, c)), None)
        if nxt is None:
            break
        _check_validity('cert', cert_path, nxt, now)
        seen.append(nxt)
        current = nxt
    raise TLSFileError('cert', cert_path, '%s (issued by %s) does not chain to any certificate of the CA file %s (%s)'
                       % (_describe(leaf), leaf.issuer.rfc4514_string(), ca_path,
                          ', '.join(_describe(a) for a in anchors)))


def _extension(cert, oid_class):
    try:
        return cert.extensions.get_extension_for_class(oid_class).value
    except x509.ExtensionNotFound:
        return None


def subject_alt_names(cert):
    """The certificate's SANs as 'DNS:name' and 'IP:address' strings."""
    sans = _extension(cert, x509.SubjectAlternativeName)
    if sans is None:
        return []
    return (['DNS:%s' % name for name in sans.get_values_for_type(x509.DNSName)]
            + ['IP:%s' % addr for addr in sans.get_values_for_type(x509.IPAddress)])


def name_matches(name, sans):
    """True when Go's crypto/x509 would accept ``name`` (a host name or an IP) for these SANs."""
    try:
        addr = ipaddress.ip_address(name.strip('[]'))
    except ValueError:
        addr = None
    if addr is not None:
        return any(s.startswith('IP:') and ipaddress.ip_address(s[3:]) == addr for s in sans)
    wanted = name.rstrip('.').lower()
    for san in sans:
        if not san.startswith('DNS:'):
            continue
        pattern = san[4:].rstrip('.').lower()
        if pattern == wanted:
            return True
        if pattern.startswith('*.') and '.' in wanted and wanted.split('.', 1)[1] == pattern[2:]:
            return True
    return False


def check_node_tls(cert_path, key_path, ca_path=None, names=(), client_auth=False, now=None):
    """Check one node's TLS files; return what was found, raise ``TLSFileError`` otherwise.

    ``names``: every address the node is reached at that its certificate must carry.
    ``client_auth``: the certificate also acts as a client (mutual TLS on routes).
    Returns ``{'subject', 'sans', 'not_after', 'chain', 'sha1'}`` (the chain as subjects; ``sha1``
    the SHA-1 of each file checked, by role, so a caller can tell whether a copy on a host differs).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    data = {'cert': _read('cert', cert_path), 'key': _read('key', key_path)}
    certs = _certificates('cert', cert_path, data['cert'])
    leaf, intermediates = certs[0], certs[1:]
    key = _private_key(key_path, data['key'])
    if _public_bytes(key.public_key()) != _public_bytes(leaf.public_key()):
        raise TLSFileError('key', key_path, 'does not belong to the certificate %s (%s): their public keys differ'
                           % (cert_path, _describe(leaf)))
    _check_validity('cert', cert_path, leaf, now)
    chain = []
    if ca_path:
        data['ca'] = _read('ca', ca_path)
        anchors = _certificates('ca', ca_path, data['ca'])
        chain = _chain_to_ca(cert_path, leaf, intermediates, ca_path, anchors, now)
    usages = _extension(leaf, x509.ExtendedKeyUsage)
    if usages is not None:
        wanted = [('serverAuth', ExtendedKeyUsageOID.SERVER_AUTH)]
        if client_auth:
            wanted.append(('clientAuth', ExtendedKeyUsageOID.CLIENT_AUTH))
        missing = [label for label, oid in wanted
                   if oid not in usages and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages]
        if missing:
            raise TLSFileError('cert', cert_path, '%s lacks the extended key usage %s%s' % (
                _describe(leaf), ' and '.join(missing),
                ' (routes are mutual TLS: every node is a server and a client of the others)' if client_auth else ''))
    sans = subject_alt_names(leaf)
    missing_names = [name for name in names if name and not name_matches(name, sans)]
    if missing_names:
        raise TLSFileError('cert', cert_path, '%s does not name %s in its subject alternative names (it has: %s); '
                           'nats-server checks a peer certificate against the address it dialled'
                           % (_describe(leaf), ', '.join(missing_names), ', '.join(sans) or 'none'))
    return {
        'subject': _describe(leaf),
        'sans': sans,
        'not_after': _utc(leaf, 'not_valid_after').isoformat(),
        'chain': [_describe(c) for c in chain],
        'sha1': dict((role, hashlib.sha1(content).hexdigest()) for role, content in data.items()),
    }
