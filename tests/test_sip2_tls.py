"""SIP2 over TLS with self-signed certificates generated in the test (``cryptography``, test extra)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.errors import IlsUnavailable
from kiosk.sip2.client import Sip2Client
from kiosk.sip2.codec import ItemInformationRequest
from kiosk.sip2.testing import FakeAcs

pytestmark = pytest.mark.sip2_only("SIP2 over TLS sockets with generated certificates (FOLIO's HTTPS is requests' own)")


def _self_signed(tmp: Path, name: str, dns: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / f"{name}.crt", tmp / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tls")
    return {"server": _self_signed(tmp, "server", "localhost"), "client": _self_signed(tmp, "client", "kiosk1")}


def _server_ctx(certs, require_client: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certs["server"])
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certs["client"][0])
    return ctx


def _client(port: int, host: str, **kw) -> Sip2Client:
    return Sip2Client(host, port, user="kiosk", password="kiosk", institution="TEST", timeout_s=2,
                      retries=0, tls=True, **kw)


def _item_title(c: Sip2Client) -> str:
    return c.request(ItemInformationRequest(institution_id="TEST", item_id="I1")).title


def test_tls_with_ca_file_and_hostname_verification(certs):
    with FakeAcs(ssl_context=_server_ctx(certs)) as server, \
            _client(server.port, "localhost", tls_ca_file=certs["server"][0]) as c:
        assert _item_title(c) == "Book number 1"


def test_tls_hostname_mismatch_is_refused_by_default(certs):
    with FakeAcs(ssl_context=_server_ctx(certs)) as server:
        c = _client(server.port, "127.0.0.1", tls_ca_file=certs["server"][0])
        with pytest.raises(IlsUnavailable, match="(?i)hostname|match|certificate"):
            c.connect()
        # explicitly switched off (e.g. stunnel on an IP address): the CA is still checked
        with _client(server.port, "127.0.0.1", tls_ca_file=certs["server"][0],
                     tls_verify_hostname=False) as c2:
            assert _item_title(c2) == "Book number 1"


def test_tls_unknown_ca_is_refused(certs):
    with FakeAcs(ssl_context=_server_ctx(certs)) as server:
        c = _client(server.port, "localhost", tls_ca_file=certs["client"][0])
        with pytest.raises(IlsUnavailable):
            c.connect()


def test_tls_client_certificate(certs):
    with FakeAcs(ssl_context=_server_ctx(certs, require_client=True)) as server:
        with _client(server.port, "localhost", tls_ca_file=certs["server"][0],
                     tls_cert_file=certs["client"][0], tls_key_file=certs["client"][1]) as c:
            assert _item_title(c) == "Book number 1"
        without = _client(server.port, "localhost", tls_ca_file=certs["server"][0])
        with pytest.raises(IlsUnavailable):
            without.connect()
