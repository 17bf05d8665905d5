"""The site's small PKI, with the ``cryptography`` library: one CA per site, one TLS certificate for its broker.

Devices do not get client certificates (they log in with a password over TLS); they get the
CA certificate so they can verify the broker: its chain *and* its name (the certificate's
subject alternative names are the broker's LAN addresses and host names).

Keys are ECDSA P-256, written unencrypted (Mosquitto reads the server key at start; the CA key
never leaves the provisioning folder) with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Backdate a little: a device whose clock is a few minutes behind must still accept a fresh certificate.
CLOCK_SKEW = dt.timedelta(minutes=10)

Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    hosts: tuple[str, ...]
    fingerprint: str

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or _now()) >= self.not_after


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, site: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smart madoguchi"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, site),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_ca(site: str, days: int = 3650, *, not_before: dt.datetime | None = None) -> tuple[Key, x509.Certificate]:
    """A self-signed CA for one site, allowed to sign end-entity certificates only (path length 0)."""
    key = new_key()
    name = _name(f"smart madoguchi CA {site}", site)
    start = not_before or (_now() - CLOCK_SKEW)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def new_server_cert(
    ca_key: Key,
    ca_cert: x509.Certificate,
    hosts: list[str] | tuple[str, ...],
    days: int = 825,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[Key, x509.Certificate]:
    """The broker's key and certificate: its names and addresses as subject alternative names.

    ``not_before``/``not_after`` override the validity (tests make an expired certificate with them).
    """
    if not hosts:
        raise ValueError("the broker certificate needs at least one host name or address")
    key = new_key()
    start = not_before or (_now() - CLOCK_SKEW)
    end = not_after or (start + dt.timedelta(days=days))
    site = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    names = [_general_name(h) for h in hosts]
    cert = leaf_cert(
        key, ca_key, ca_cert, _name(hosts[0], str(site)), start, end, ExtendedKeyUsageOID.SERVER_AUTH, names
    )
    return key, cert


def leaf_cert(
    key: Key,
    ca_key: Key,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    start: dt.datetime,
    end: dt.datetime,
    usage: x509.ObjectIdentifier,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    """A certificate the CA signs for ``key``: not a CA, key agreement and signatures only, one extended usage
    (``SERVER_AUTH`` for a broker, ``CLIENT_AUTH`` for a city bridge or the hub), ``names`` as its subject
    alternative names (a server's host names and addresses)."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return (
        builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


# ---------------------------------------------------------------- PEM
def key_pem(key: Key) -> bytes:
    """The private key as unencrypted PKCS#8 PEM: write it with mode 0600."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_key(path: Path) -> Key:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def cert_info(cert: x509.Certificate) -> CertInfo:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        hosts = tuple(
            [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] + san.get_values_for_type(x509.DNSName)
        )
    except x509.ExtensionNotFound:
        hosts = ()
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        hosts=hosts,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(":"),
    )


def signed_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """True when ``ca_cert``'s key signed ``cert`` (a broker certificate belongs to this site's CA)."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
