"""The broker's CA and certificate (broker_security/tls.py): what Mosquitto and the devices
check, and what a user's own CA must be."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from custom_components.automationone.broker_security.tls import (
    MAX_CA_PEM,
    check_ca_pem,
    generate_broker_cert,
    generate_ca,
    main,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_broker_certificate_is_signed_by_the_ca_for_its_hosts() -> None:
    ca = generate_ca(now=NOW)
    broker = generate_broker_cert(ca, ["broker.lan", "192.168.1.10"], now=NOW)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.encode())
    cert = x509.load_pem_x509_certificate(broker.cert.encode())
    assert cert.issuer == ca_cert.subject
    public = ca_cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    cert.verify_directly_issued_by(ca_cert)  # raises if the signature or issuer is wrong
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["broker.lan"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.10"]
    assert cert.not_valid_before_utc < NOW < cert.not_valid_after_utc
    assert len(ca.cert) <= MAX_CA_PEM  # fits into a device's login command
    assert check_ca_pem(ca.cert) == ca.cert


def test_a_broker_certificate_needs_a_host() -> None:
    with pytest.raises(ValueError, match="at least one host"):
        generate_broker_cert(generate_ca(now=NOW), [], now=NOW)


def test_a_users_ca_must_be_a_ca_and_fit() -> None:
    ca = generate_ca(now=NOW)
    broker = generate_broker_cert(ca, ["broker.lan"], now=NOW)
    with pytest.raises(ValueError, match="not a CA certificate"):
        check_ca_pem(broker.cert)
    with pytest.raises(ValueError, match="at most 2800 fit"):
        check_ca_pem(ca.cert + " " * MAX_CA_PEM)


def test_the_script_writes_the_files_with_private_keys_0600(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--host", "broker.lan", "--out", str(tmp_path / "certs")])
    out = tmp_path / "certs"
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes == {"ca.crt": 0o644, "ca.key": 0o600, "broker.crt": 0o644, "broker.key": 0o600}
    assert check_ca_pem((out / "ca.crt").read_text())
    assert "wrote" in capsys.readouterr().out
