"""Fixtures shared by the unit tests."""
import subprocess

import pytest


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A CA and a server certificate for localhost / 127.0.0.1 (openssl)."""
    base = tmp_path_factory.mktemp("tls")

    def run(*args):
        subprocess.run(args, cwd=base, check=True, capture_output=True)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "req.csr",
        "-subj", "/CN=localhost")
    (base / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "req.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "ext")
    return {name: str(base / name) for name in ("ca.pem", "cert.pem", "key.pem")}
