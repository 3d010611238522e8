"""The ``[security]`` table of a mapping file: how the adapter secures its OPC UA connection, checked offline.

A real tool's OPC UA server should be reached over a signed (``Sign``) or signed and encrypted
(``SignAndEncrypt``) channel, with the security policy ``Basic256Sha256``, ``Aes128Sha256RsaOaep`` or
``Aes256Sha256RsaPss``, an application instance certificate and private key of the client, the tool's own
certificate either **pinned** (``server_certificate``: exactly that certificate) or **trusted from a folder**
(``trusted_servers``: a copy of it, or of the CA that signed it), and optionally a user name and password::

    [security]
    policy = "Basic256Sha256"               # None | Basic256Sha256 | Aes128Sha256RsaOaep | Aes256Sha256RsaPss
    mode = "SignAndEncrypt"                 # Sign | SignAndEncrypt (the default)
    certificate = "pki/client.der"          # the client's certificate (DER or PEM); its SAN names its URI
    private_key = "pki/client.pem"          # the client's private key (PEM or DER, not encrypted)
    server_certificate = "pki/server.der"   # pinned ... or:  trusted_servers = "pki/trusted"
    user = "operator"                       # or user_env = "RF_A_OPCUA_USER"
    password_env = "RF_A_OPCUA_PASSWORD"    # or password_file = "~/.config/sputter-twin/rf-a.password"

Paths are relative to the mapping file's folder. **The password is never in the mapping**: only the name of the
environment variable or of the file that holds it. It is read when a connection is opened, handed to asyncua
and kept nowhere else: not in the mapping, the tool, the logs, the command log, the events or the campaign
store (asyncua's own debug log of the session request is redacted, :func:`redact_identity_tokens`). A password
file must not be readable by group or others (as ssh insists for its keys).

Without a ``[security]`` table the mapping means ``policy = "None"``, which the adapter and ``tool check``
**refuse** unless the table says ``allow_none = true`` explicitly (a lab network the operator accepts as trusted).

This module has no asyncua import: :class:`Security` is parsed with the mapping, and :func:`load_credentials`
reads and checks the files offline, before any connection, so a missing file, a key that does not belong to
the certificate, an expired client certificate or an unset password variable is one line and exit status 2.
:mod:`hardware.security_client` opens the secured connection; :mod:`hardware.security_server` serves secure
endpoints in the emulator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from hardware.mapping_types import MappingError

POLICIES = ("None", "Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss")
"""Security policies the adapter accepts (older ones, Basic128Rsa15 and Basic256, are deprecated by the OPC
Foundation and refused)."""
SECURE_POLICIES = POLICIES[1:]
MODES = ("Sign", "SignAndEncrypt")
"""Message security modes of a secure policy (``None`` goes with policy ``None`` only)."""
KEYS = ("policy", "mode", "certificate", "private_key", "server_certificate", "trusted_servers", "allow_none",
        "user", "user_env", "password_env", "password_file")
"""Keys of the ``[security]`` table."""
CERT_SUFFIXES = (".der", ".pem", ".crt", ".cer")
"""Files of a trust folder that are read as certificates."""


@dataclass(frozen=True)
class Security:
    """The ``[security]`` table as written (paths relative to the mapping file; no secret in it).

    The default, ``Security()``, is what a mapping without the table means: no security, and not allowed.
    """

    policy: str = "None"
    mode: str = "None"
    certificate: str = ""
    private_key: str = ""
    server_certificate: str = ""
    trusted_servers: str = ""
    allow_none: bool = False
    user: str = ""
    user_env: str = ""
    password_env: str = ""
    password_file: str = ""

    @property
    def is_none(self) -> bool:
        """Whether the connection is neither signed nor encrypted."""
        return self.policy == "None"

    @property
    def has_user(self) -> bool:
        return bool(self.user or self.user_env)

    def describe(self) -> str:
        """One line for reports: policy/mode, how the server is trusted, the user (never the password).

        >>> Security("Basic256Sha256", "Sign", "c.der", "c.pem", trusted_servers="trusted", user="op",
        ...          password_env="PW").describe()
        "Basic256Sha256/Sign, server trusted from trusted, user 'op' (password from $PW)"
        """
        if self.is_none:
            return "None/None: neither signed nor encrypted" + (" (allowed by allow_none)" if self.allow_none else "")
        trust = (f"server certificate pinned to {self.server_certificate}" if self.server_certificate
                 else f"server trusted from {self.trusted_servers}")
        who = ""
        if self.has_user:
            name = repr(self.user) if self.user else f"from ${self.user_env}"
            where = f"${self.password_env}" if self.password_env else self.password_file
            who = f", user {name} (password from {where})"
        return f"{self.policy}/{self.mode}, {trust}{who}"

    def require_allowed(self, source: str = "") -> None:
        """Refuse a connection without security unless the mapping allows it (``allow_none = true``)."""
        if self.is_none and not self.allow_none:
            raise MappingError("security.policy", "None", "an endpoint without signing or encryption is refused "
                               "unless the mapping allows it", "a [security] table with policy = "
                               + " | ".join(SECURE_POLICIES) + ", or allow_none = true", source)


def parse_security(table: Any) -> Security:
    """The ``[security]`` table, validated (shape only: files are read by :func:`load_credentials`)."""
    if not isinstance(table, dict):
        raise MappingError("security", table, "expected a table", "[security]")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        # the value is not echoed: a password written here by mistake must not land in a terminal or a log
        raise MappingError(f"security.{unknown[0]}", "...", "unknown key (a password never goes in the mapping: "
                           "password_env or password_file names where it is)", ", ".join(KEYS))
    for key, value in table.items():
        if key == "allow_none":
            if not isinstance(value, bool):
                raise MappingError("security.allow_none", value, "expected true or false", "true | false")
        elif not isinstance(value, str) or not value.strip():
            raise MappingError(f"security.{key}", value, "expected a non-empty string")
    policy = table.get("policy", "None")
    if policy not in POLICIES:
        raise MappingError("security.policy", policy, "unknown security policy", " | ".join(POLICIES))
    sec = Security(**{**table, "mode": table.get("mode", "None" if policy == "None" else "SignAndEncrypt")})
    if sec.is_none:
        if sec.mode != "None":
            raise MappingError("security.mode", sec.mode, "policy None can only go with mode None", "None")
        sec.require_allowed()
        extra = [k for k in KEYS if k not in ("policy", "mode", "allow_none") and getattr(sec, k)]
        if extra:
            raise MappingError(f"security.{extra[0]}", getattr(sec, extra[0]), "meaningless with policy None: "
                               "certificates and passwords are not sent over an unsecured channel",
                               "a secure policy: " + " | ".join(SECURE_POLICIES))
        return sec
    if sec.mode not in MODES:
        raise MappingError("security.mode", sec.mode, "unknown message security mode", " | ".join(MODES))
    if sec.allow_none:
        raise MappingError("security.allow_none", True, f"contradicts policy = {sec.policy!r}", "false")
    for key in ("certificate", "private_key"):
        if not getattr(sec, key):
            raise MappingError(f"security.{key}", None, f"missing: policy {sec.policy} needs the client's "
                               "certificate and private key", "a path to a DER or PEM file")
    if bool(sec.server_certificate) == bool(sec.trusted_servers):
        raise MappingError("security.server_certificate", sec.server_certificate or None,
                           "give exactly one of server_certificate (pinned) and trusted_servers (a folder)",
                           "server_certificate = FILE | trusted_servers = FOLDER")
    if sec.user and sec.user_env:
        raise MappingError("security.user_env", sec.user_env, "give user or user_env, not both")
    if sec.has_user and bool(sec.password_env) == bool(sec.password_file):
        raise MappingError("security.password_env", sec.password_env or None,
                           "a user needs exactly one of password_env and password_file (never the password itself)",
                           "password_env = VARIABLE | password_file = FILE")
    if not sec.has_user and (sec.password_env or sec.password_file):
        raise MappingError("security.user", None, "a password source without a user", "user = NAME | user_env = VAR")
    return sec


# -- offline loading ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Credentials:
    """What a secured connection needs, read and checked offline (no password: see :func:`read_password`)."""

    security: Security
    certificate_der: bytes
    private_key_der: bytes
    application_uri: str
    """The client's application URI, from its certificate's subjectAltName (the server checks they match)."""
    pinned_der: bytes = b""
    trusted_der: tuple[bytes, ...] = ()
    trusted_folder: Path | None = None
    base: Path = Path(".")
    source: str = ""

    def __repr__(self) -> str:  # the key stays out of reprs, tracebacks and logs
        return f"Credentials({self.security.describe()}, application_uri={self.application_uri!r})"


def resolve(path: str, base: Path) -> Path:
    """``path`` with ``~`` expanded, relative to ``base`` (the mapping file's folder)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def load_credentials(security: Security, source: str = "",
                     now: dt.datetime | None = None) -> Credentials | None:
    """Read and check every file of ``security`` offline; ``None`` for an allowed policy None.

    Raises :class:`MappingError` (one line, exit status 2) naming the mapping file ``source``, the key and the
    file: missing or unreadable, not a certificate or key, a key that does not belong to the certificate, a
    client certificate expired or not yet valid at ``now`` (default: the current UTC time), no application URI
    in its subjectAltName, an empty trust folder, a user or password source that is not set.
    """
    security.require_allowed(source)
    if security.is_none:
        return None
    base = Path(source).parent if source else Path(".")
    now = now or dt.datetime.now(dt.UTC)

    def fail(key: str, value: Any, problem: str, allowed: str = "") -> MappingError:
        return MappingError(f"security.{key}", value, problem, allowed, source)

    cert_path = resolve(security.certificate, base)
    cert = _read_certificate(cert_path, fail, "certificate")
    key_path = resolve(security.private_key, base)
    data = _read_bytes(key_path, fail, "private_key")
    try:
        key = (serialization.load_pem_private_key(data, None) if b"-----BEGIN" in data
               else serialization.load_der_private_key(data, None))
    except (ValueError, TypeError) as exc:
        raise fail("private_key", str(key_path), f"not an unencrypted PEM or DER private key ({exc})") from None
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise fail("private_key", str(key_path), f"does not belong to the certificate {cert_path}",
                   "the key the certificate was issued for")
    _check_valid(cert, now, lambda problem: fail("certificate", str(cert_path), problem,
                                                 "a certificate valid now: renew it"), "client")
    uris = _uris(cert)
    if not uris:
        raise fail("certificate", str(cert_path), "has no URI in its subjectAltName (the OPC UA application URI)",
                   "a certificate issued for an OPC UA application")
    pinned, trusted, folder = b"", (), None
    if security.server_certificate:
        pin_path = resolve(security.server_certificate, base)
        pinned = _der(_read_certificate(pin_path, fail, "server_certificate"))
    else:
        folder = resolve(security.trusted_servers, base)
        if not folder.is_dir():
            raise fail("trusted_servers", str(folder), "not a folder", "a folder of trusted certificates")
        trusted = tuple(_der(_read_certificate(p, fail, "trusted_servers")) for p in sorted(folder.iterdir())
                        if p.suffix.lower() in CERT_SUFFIXES)
        if not trusted:
            raise fail("trusted_servers", str(folder), "holds no certificate", "*.der | *.pem | *.crt | *.cer")
    if security.user_env and not os.environ.get(security.user_env):
        raise fail("user_env", security.user_env, "the environment variable is not set", "a user name")
    if security.has_user:
        read_password(security, base, source)  # available now; read again, and only, when connecting
    return Credentials(security, _der(cert), key.private_bytes(serialization.Encoding.DER,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()),
                       uris[0], pinned, trusted, folder, base, source)


def user_name(security: Security) -> str:
    """The user name to log in with ('' for anonymous)."""
    return security.user or (os.environ.get(security.user_env, "") if security.user_env else "")


def read_password(security: Security, base: Path, source: str = "") -> str:
    """The password, from the environment variable or the file the mapping names; never stored or logged.

    A password file must not be readable by group or others (POSIX), and holds the password on its first line.
    """
    if security.password_env:
        value = os.environ.get(security.password_env)
        if not value:
            raise MappingError("security.password_env", security.password_env, "the environment variable is not "
                               "set or empty", "a variable holding the password", source)
        return value
    path = resolve(security.password_file, base)
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MappingError("security.password_file", str(path), f"readable by others (mode {mode & 0o777:o})",
                               "chmod 600", source)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError("security.password_file", str(path), "file not found", "", source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError("security.password_file", str(path), f"cannot read it ({type(exc).__name__})", "",
                           source) from None
    value = text.splitlines()[0] if text else ""
    if not value:
        raise MappingError("security.password_file", str(path), "is empty", "the password on the first line", source)
    return value


def fingerprint(der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate, as ``AB:CD:...`` (first 8 bytes: enough to tell two apart).

    >>> fingerprint(b"x")
    '2D:71:16:42:B7:26:B0:44'
    """
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()[:8])


def subject(der: bytes) -> str:
    """The subject of a DER certificate, RFC 4514 (``CN=...``)."""
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def validity_problem(cert: x509.Certificate, now: dt.datetime) -> str:
    """'' if ``cert`` is valid at ``now``, else what is wrong (expired on ..., not valid before ...)."""
    if cert.not_valid_after_utc < now:
        return f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    if cert.not_valid_before_utc > now:
        return f"not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    return ""


def certificate_uris(cert: x509.Certificate) -> list[str]:
    """The URIs of a certificate's subjectAltName (an OPC UA application's URI is the first)."""
    return _uris(cert)


def issued_by_trusted(cert: x509.Certificate, trusted: tuple[bytes, ...]) -> bool:
    """Whether ``cert`` is directly issued (and signed) by a CA certificate among ``trusted`` (DER)."""
    for der in trusted:
        ca = x509.load_der_x509_certificate(der)
        try:
            basic = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            continue
        if not basic.ca:
            continue
        try:
            cert.verify_directly_issued_by(ca)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


# -- helpers ------------------------------------------------------------------------------------------------------
def _read_bytes(path: Path, fail: Any, key: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise fail(key, str(path), "file not found") from None
    except OSError as exc:
        raise fail(key, str(path), f"cannot read it ({type(exc).__name__})") from None


def _read_certificate(path: Path, fail: Any, key: str) -> x509.Certificate:
    data = _read_bytes(path, fail, key)
    try:
        return (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                else x509.load_der_x509_certificate(data))
    except ValueError:
        raise fail(key, str(path), "not a PEM or DER X.509 certificate") from None


def _check_valid(cert: x509.Certificate, now: dt.datetime, fail: Any, who: str) -> None:
    problem = validity_problem(cert, now)
    if problem:
        raise fail(f"the {who} certificate {problem}")


def _uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(san.value.get_values_for_type(x509.UniformResourceIdentifier))


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


class _RedactIdentityTokens(logging.Filter):
    """asyncua's debug log prints every request it sends, the ActivateSessionRequest too, whose user token holds
    the password in clear text inside a SignAndEncrypt channel: log that request without its body."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(type(a).__name__ == "ActivateSessionRequest" for a in args):
            record.msg, record.args = "Sending: ActivateSessionRequest (identity token not logged)", ()
        return True


_REDACT = _RedactIdentityTokens()
_ASYNCUA_REQUEST_LOGGER = "asyncua.client.ua_client.UASocketProtocol"


def redact_identity_tokens() -> None:
    """Install the redaction on asyncua's request logger (idempotent; called before every secured connection)."""
    logger = logging.getLogger(_ASYNCUA_REQUEST_LOGGER)
    if _REDACT not in logger.filters:
        logger.addFilter(_REDACT)


__all__ = ["CERT_SUFFIXES", "KEYS", "MODES", "POLICIES", "SECURE_POLICIES", "Credentials", "Security",
           "certificate_uris", "fingerprint", "issued_by_trusted", "load_credentials", "parse_security",
           "read_password", "redact_identity_tokens", "resolve", "subject", "user_name", "validity_problem"]
