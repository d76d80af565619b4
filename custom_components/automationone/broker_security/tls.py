"""A CA and a broker certificate for a Mosquitto TLS listener (no HA imports).

EC P-256 keys: a CA PEM of ~600 characters fits into a device's `login` command with room to
spare. Uses the `cryptography` package Home Assistant ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
BROKER_DAYS = 730
MAX_CA_PEM = 2800  # docs/protocol.md, Device login: `ca`


@dataclass(frozen=True, slots=True)
class Pem:
    """A certificate and its private key, PEM."""

    cert: str
    key: str


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def generate_ca(common_name: str = "AutomationOne broker CA", *, now: dt.datetime) -> Pem:
    """A self-signed CA that may sign server certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def generate_broker_cert(ca: Pem, hosts: Sequence[str], *, now: dt.datetime) -> Pem:
    """A server certificate for `hosts` (DNS names or IP addresses), signed by `ca`."""
    if not hosts:
        raise ValueError("a broker certificate needs at least one host name or IP")
    ca_cert = x509.load_pem_x509_certificate(ca.cert.encode())
    ca_key = serialization.load_pem_private_key(ca.key.encode(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=BROKER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            # OpenSSL's strict checks (Python 3.13's default context) want the issuer's key id.
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def check_ca_pem(pem: str) -> str:
    """The user's own CA: one parseable CA certificate that fits into a `login` command."""
    if len(pem) > MAX_CA_PEM:
        raise ValueError(f"the CA is {len(pem)} characters, at most {MAX_CA_PEM} fit")
    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise ValueError("not a CA certificate") from None
    if not constraints.ca:
        raise ValueError("not a CA certificate")
    return pem


def main(argv: Sequence[str] | None = None) -> None:
    """`python3 tls.py --host 192.168.1.10 --out /etc/mosquitto/certs` (docs/security.md)."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description="A CA and a broker certificate for Mosquitto.")
    parser.add_argument("--host", action="append", required=True, help="broker name or IP")
    parser.add_argument("--out", required=True, help="folder for ca.crt, broker.crt, *.key")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    ca = generate_ca(now=now)
    broker = generate_broker_cert(ca, args.host, now=now)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text, mode in (
        ("ca.crt", ca.cert, 0o644),
        ("ca.key", ca.key, 0o600),
        ("broker.crt", broker.cert, 0o644),
        ("broker.key", broker.key, 0o600),
    ):
        path = out / name
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
    print(f"wrote {out}/ca.crt ca.key broker.crt broker.key")


if __name__ == "__main__":
    main()
