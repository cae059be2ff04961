"""TLS: the reference serves HTTPS with --ssl-certfile/--ssl-keyfile; vigil verifies it."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.conftest import drill_target_config
from vigil.config import load_config
from vigil.observe.security import check_tls
from vigil.readiness.evidence import SecurityObservation
from vigil.readiness.judgements import judge_security
from vigil.results import Status

pytestmark = pytest.mark.integration


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def tls_verdict(seen) -> object:
    observation = SecurityObservation(started_at=dt.datetime.now(dt.UTC), tls=seen)
    checks = {c.name: c for c in judge_security(observation, 0.001, 0.2)[0]}
    return checks["tls_valid_without_plaintext"]


def test_the_reference_over_tls_verifies_and_refuses_plaintext(start_target, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path, "server")
    other, _ = self_signed(tmp_path, "other")
    # vigil's probes and clients trust the test certificate the way a user's would.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    base = load_config(None).target
    config = base.model_copy(
        update={
            "command": [*base.command, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
            "base_url": "https://127.0.0.1:{port}",
        }
    )
    target = start_target(config)
    assert target.endpoint.base_url.startswith("https://")

    good = check_tls(target.endpoint.base_url, cert, 5.0)
    assert good is not None and good.verified, good
    assert good.plaintext_status is None
    verdict = tls_verdict(good)
    assert verdict.status is Status.PASSED, verdict.message
    assert "certificate that verifies" in verdict.message

    untrusted = check_tls(target.endpoint.base_url, other, 5.0)
    verdict = tls_verdict(untrusted)
    assert verdict.status is Status.FAILED
    assert "its certificate does not verify" in verdict.message


def test_a_port_that_answers_plaintext_fails_the_tls_check(start_target):
    target = start_target(drill_target_config())
    plain_port = target.endpoint.base_url.rsplit(":", 1)[1]
    seen = check_tls(f"https://127.0.0.1:{plain_port}", None, 5.0)
    verdict = tls_verdict(seen)
    assert verdict.status is Status.FAILED
    assert "a plaintext request on the TLS port got HTTP 200" in verdict.message
    assert tls_verdict(check_tls(target.endpoint.base_url, None, 5.0)).status is (
        Status.NOT_APPLICABLE
    )
