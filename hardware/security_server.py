"""Secure endpoints for an emulated tool (any emulator profile), and the certificates to test them with.

:func:`serve_secure` turns an initialised ``asyncua.Server`` (before ``start()``) into one a careful lab would
run: only the secure policies and modes of a :class:`ServerSecurity` (no endpoint without security unless
``allow_none``), its application instance certificate and key (the application URI taken from the certificate),
client certificates checked on every session (valid now, naming the client's application URI, and — when a
trust list is given — in it or issued by a CA in it), and a user name and password when users are given.
:class:`hardware.emulator.Emulator` calls it when given ``security=``; another emulator profile does the same.

:func:`new_private_key`, :func:`make_certificate` and :func:`write_pki` generate self-signed OPC UA application
certificates (URI in the subjectAltName, key usages of OPC 10000-6 §6.2.2) for tests and ``sputter-twin tool
certs``. RSA-2048 key generation takes a noticeable fraction of a second: tests make one pair per session.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hardware.security import (
    CERT_SUFFIXES,
    MODES,
    SECURE_POLICIES,
    certificate_uris,
    issued_by_trusted,
    validity_problem,
)
from twin.errors import InputError


@dataclass(frozen=True, repr=False)
class ServerSecurity:
    """How an emulated tool secures its endpoints (build with :meth:`from_files`)."""

    certificate_der: bytes
    private_key_der: bytes
    policies: tuple[str, ...] = SECURE_POLICIES
    modes: tuple[str, ...] = MODES
    trusted_clients: tuple[bytes, ...] | None = None
    """DER certificates of the clients (or CAs) the tool trusts; ``None``: any client certificate valid now."""
    users: dict[str, str] = field(default_factory=dict, compare=False)
    """User name → password; empty: anonymous sessions only."""
    allow_none: bool = False
    """Also serve an endpoint without security."""

    def __repr__(self) -> str:  # no key, no password
        return (f"ServerSecurity(policies={self.policies}, modes={self.modes}, users={sorted(self.users)}, "
                f"trusted_clients={None if self.trusted_clients is None else len(self.trusted_clients)})")

    @classmethod
    def from_files(cls, certificate: str | Path, private_key: str | Path, *,
                   trusted_clients: str | Path | None = None, users: dict[str, str] | None = None,
                   policies: Iterable[str] = SECURE_POLICIES, modes: Iterable[str] = MODES,
                   allow_none: bool = False) -> ServerSecurity:
        """Read the server's certificate and key (DER or PEM) and the trusted client certificates (a folder);
        a bad file or option is an :class:`~twin.errors.InputError` naming it."""
        policies, modes = tuple(policies), tuple(modes)
        for name, values, allowed in (("policies", policies, SECURE_POLICIES), ("modes", modes, MODES)):
            bad = [v for v in values if v not in allowed]
            if bad or not values:
                raise InputError(name, bad[0] if bad else values, "not a secure policy/mode", " | ".join(allowed))
        cert = _load_cert(Path(certificate), "certificate")
        if not certificate_uris(cert):
            raise InputError("certificate", str(certificate), "has no URI in its subjectAltName",
                             "an OPC UA application certificate")
        data = _read(Path(private_key), "private_key")
        try:
            key = (serialization.load_pem_private_key(data, None) if b"-----BEGIN" in data
                   else serialization.load_der_private_key(data, None))
        except (ValueError, TypeError):
            raise InputError("private_key", str(private_key), "not an unencrypted PEM or DER private key") from None
        if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise InputError("private_key", str(private_key), f"does not belong to {certificate}")
        trusted = None
        if trusted_clients is not None:
            folder = Path(trusted_clients)
            if not folder.is_dir():
                raise InputError("trusted_clients", str(folder), "not a folder", "a folder of client certificates")
            trusted = tuple(_der(_load_cert(p, "trusted_clients")) for p in sorted(folder.iterdir())
                            if p.suffix.lower() in CERT_SUFFIXES)
        return cls(_der(cert), key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()),
                   policies, modes, trusted, dict(users or {}), allow_none)


async def serve_secure(server: Server, security: ServerSecurity) -> str:
    """Secure ``server`` (after ``init()`` and ``set_endpoint()``, before ``start()``); its application URI."""
    uri = certificate_uris(x509.load_der_x509_certificate(security.certificate_der))[0]
    await server.set_application_uri(uri)
    types = [getattr(ua.SecurityPolicyType, f"{p}_{m}") for p in security.policies for m in security.modes]
    if security.allow_none:
        types.insert(0, ua.SecurityPolicyType.NoSecurity)
    server.set_security_policy(types)
    await server.load_certificate(security.certificate_der)
    await server.load_private_key(security.private_key_der)
    server.set_certificate_validator(ClientCertificateCheck(security.trusted_clients))
    if security.users:
        server.iserver.user_manager = PasswordUsers(security.users)
        server.set_identity_tokens([ua.UserNameIdentityToken])
    else:
        server.set_identity_tokens([ua.AnonymousIdentityToken])
    return uri


class ClientCertificateCheck:
    """The server's check of a client certificate at CreateSession (an asyncua certificate validator)."""

    def __init__(self, trusted: tuple[bytes, ...] | None) -> None:
        self.trusted = trusted

    async def __call__(self, cert: x509.Certificate, app: ua.ApplicationDescription) -> None:
        if validity_problem(cert, dt.datetime.now(dt.UTC)):
            raise ServiceError(ua.StatusCodes.BadCertificateTimeInvalid)
        if app.ApplicationUri not in certificate_uris(cert):
            raise ServiceError(ua.StatusCodes.BadCertificateUriInvalid)
        if self.trusted is not None:
            der = _der(cert)
            if der not in self.trusted and not issued_by_trusted(cert, self.trusted):
                raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)


class PasswordUsers:
    """An asyncua user manager: the users of :attr:`ServerSecurity.users`, compared in constant time."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = dict(users)

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        want = self._users.get(username or "")
        if want is None or password is None or not hmac.compare_digest(want.encode(), password.encode()):
            return None
        return User(role=UserRole.User, name=username)


# -- certificates ---------------------------------------------------------------------------------------------------
def new_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key (the size every policy here accepts)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(key: rsa.RSAPrivateKey, application_uri: str, *, server: bool, now: dt.datetime,
                     valid_from_days: float = -1.0, valid_to_days: float = 365.0,
                     hostnames: tuple[str, ...] | None = None) -> x509.Certificate:
    """A self-signed OPC UA application instance certificate for ``application_uri``.

    Valid from ``now + valid_from_days`` to ``now + valid_to_days`` (a negative ``valid_to_days`` makes an
    expired one); subjectAltName = the URI and ``hostnames`` (default: this machine's name and localhost, which
    asyncua checks its own certificate for); key usages and the extended key usage (server or
    client authentication) of OPC 10000-6 §6.2.2.
    """
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sputter-twin"),  # reads CN=...,O=...
                      x509.NameAttribute(NameOID.COMMON_NAME, application_uri.rpartition(":")[2] or "opcua")])
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    names = dict.fromkeys(hostnames if hostnames is not None else (socket.gethostname(), "localhost"))
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + dt.timedelta(days=valid_from_days))
               .not_valid_after(now + dt.timedelta(days=valid_to_days))
               .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(application_uri),
                                                           *map(x509.DNSName, names)]), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                            data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False),
                              critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return builder.sign(key, hashes.SHA256())


def write_certificate(cert: x509.Certificate, path: Path) -> Path:
    """Write ``cert`` as DER (``.der``) or PEM (any other suffix)."""
    enc = serialization.Encoding.DER if path.suffix.lower() == ".der" else serialization.Encoding.PEM
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(enc))
    return path


def write_private_key(key: rsa.RSAPrivateKey, path: Path) -> Path:
    """Write ``key`` as unencrypted PKCS#8 PEM, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return path


@dataclass(frozen=True)
class Pki:
    """The files :func:`write_pki` wrote."""

    folder: Path
    server_certificate: Path
    server_key: Path
    client_certificate: Path
    client_key: Path
    trusted_clients: Path
    """Folder holding a copy of the client certificate (the emulator's trust list)."""
    trusted_servers: Path
    """Folder holding a copy of the server certificate (the adapter's trust list)."""


def write_pki(folder: Path, *, now: dt.datetime, server_key: rsa.RSAPrivateKey | None = None,
              client_key: rsa.RSAPrivateKey | None = None, server_uri: str = "urn:sputter-twin:emulator",
              client_uri: str = "urn:sputter-twin:adapter", days: float = 365.0) -> Pki:
    """A self-signed server and client certificate pair with each side's trust folder, under ``folder``."""
    server_key = server_key or new_private_key()
    client_key = client_key or new_private_key()
    server = make_certificate(server_key, server_uri, server=True, now=now, valid_to_days=days)
    client = make_certificate(client_key, client_uri, server=False, now=now, valid_to_days=days)
    pki = Pki(folder, folder / "server.der", folder / "server_key.pem", folder / "client.der",
              folder / "client_key.pem", folder / "trusted-clients", folder / "trusted-servers")
    write_certificate(server, pki.server_certificate)
    write_private_key(server_key, pki.server_key)
    write_certificate(client, pki.client_certificate)
    write_private_key(client_key, pki.client_key)
    write_certificate(client, pki.trusted_clients / "client.der")
    write_certificate(server, pki.trusted_servers / "server.der")
    return pki


def _read(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(name, str(path), "file not found" if isinstance(exc, FileNotFoundError)
                         else f"cannot read it ({type(exc).__name__})") from None


def _load_cert(path: Path, name: str) -> x509.Certificate:
    data = _read(path, name)
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise InputError(name, str(path), "not a PEM or DER X.509 certificate") from None


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
