"""Open the adapter's OPC UA connection as the mapping's ``[security]`` table says (:mod:`hardware.security`).

A secured connection is opened in three steps, every one bounded in time:

1. **Discovery**: the endpoints the tool offers, asked over a temporary channel without security (GetEndpoints
   is the one service OPC UA allows there; no session, nothing read or written). No endpoint with the mapping's
   policy and mode → :class:`SecurityRefused` naming what the tool offers.
2. **The server's certificate**, from that endpoint, is checked *by the adapter* before it is used: exactly the
   pinned ``server_certificate``, or in the ``trusted_servers`` folder (the certificate itself, or one directly
   issued by a CA certificate there), and valid now. Otherwise :class:`SecurityRefused` with its subject and
   SHA-256 fingerprint. asyncua then encrypts the channel with that certificate's key and checks that the server
   signs the session with it, so a server that only copied the certificate cannot open the session.
3. **Session**: the client's certificate and key, the user name and the password (read now, from the
   environment or a file, :func:`hardware.security.read_password`). The tool's refusals — an untrusted or
   expired client certificate, a wrong user name or password — become one-line :class:`SecurityRefused`.

:class:`SecureClient` (an asyncua ``Client``) does the three steps in its ``connect()``, so whoever connects a
client made by :func:`make_client` — or by :func:`client_factory`, for code that takes an ``(endpoint, timeout)
→ Client`` factory — gets them without knowing them; :func:`secure_connect` bounds the whole.

:class:`SecurityRefused` (defined in :mod:`hardware.transport`, where the run procedure knows it without asyncua)
is a :class:`twin.errors.ToolError` (exit status 1: found at run time, on the tool).
Problems found offline (files, an expired own certificate, an unset variable) are
:class:`~hardware.mapping_types.MappingError` from :func:`hardware.security.load_credentials` (exit status 2).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncua import Client, ua
from asyncua.crypto import security_policies
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hardware.mapping_types import MappingError
from hardware.opcua_context import bounded
from hardware.security import (
    Credentials,
    fingerprint,
    issued_by_trusted,
    read_password,
    redact_identity_tokens,
    subject,
    user_name,
    validity_problem,
)
from hardware.transport import SecurityRefused

POLICY_CLASSES: dict[str, Any] = {
    "None": security_policies.SecurityPolicyNone,
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128Sha256RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256Sha256RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MESSAGE_MODES = {"None": ua.MessageSecurityMode.None_, "Sign": ua.MessageSecurityMode.Sign,
                 "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}
SECURE_CONNECT_S = 5.0
"""The least time a secured connection is given [s] (discovery, then the session with its asymmetric handshake),
the safe state's fresh one included, where one without security is given 2.5 s
(:data:`hardware.safe_state.RECONNECT_S`): :class:`hardware.opcua_transport.OpcUaTransport`'s ``connect_s``."""
_POLICY_NAMES = {cls.URI: name for name, cls in POLICY_CLASSES.items()}
_USER_REFUSED = {"BadUserAccessDenied", "BadIdentityTokenInvalid"}
_CERT_REFUSED = {
    "BadCertificateUntrusted": "the tool does not trust the client certificate: add it to the tool's trusted "
                               "clients",
    "BadCertificateTimeInvalid": "the tool finds the client certificate expired or not yet valid",
    "BadCertificateUriInvalid": "the tool finds that the client certificate does not name the client's "
                                "application URI",
    "BadCertificateRevoked": "the tool has revoked the client certificate",
    "BadCertificateUseNotAllowed": "the tool does not accept the client certificate's key usage",
    "BadCertificateInvalid": "the tool finds the client certificate invalid",
    "BadSecurityChecksFailed": "the tool's security checks failed on the client certificate",
}


@dataclass(frozen=True)
class SessionSecurity:
    """What a secured connection used, for reports (``tool check``); no secret in it."""

    endpoint: str
    offers: tuple[str, ...]
    """Every ``policy/mode`` the tool's endpoints offer."""
    used: str
    """``policy/mode`` of this connection."""
    server: str = ""
    """The server certificate's subject and SHA-256 fingerprint, and how it was trusted."""
    user: str = ""

    def describe(self) -> str:
        who = f"; user {self.user!r}" if self.user else "; anonymous"
        cert = f"; server certificate {self.server}" if self.server else ""
        return f"{self.used}{cert}{who} (the tool offers {', '.join(self.offers)})"


def offer(ep: ua.EndpointDescription) -> str:
    """``policy/mode`` of an endpoint, as the mapping spells them."""
    policy = _POLICY_NAMES.get(ep.SecurityPolicyUri, ep.SecurityPolicyUri.rpartition("#")[2] or "None")
    mode = {ua.MessageSecurityMode.None_: "None", ua.MessageSecurityMode.Sign: "Sign",
            ua.MessageSecurityMode.SignAndEncrypt: "SignAndEncrypt"}.get(ep.SecurityMode, str(ep.SecurityMode))
    return f"{policy}/{mode}"


async def discover(endpoint: str, timeout_s: float) -> list[ua.EndpointDescription]:
    """The endpoints ``endpoint`` offers (GetEndpoints over a temporary channel without security)."""
    probe = Client(endpoint, timeout=timeout_s)
    return list(await bounded(probe.connect_and_get_server_endpoints(), timeout_s + 1))


def offers(endpoints: list[ua.EndpointDescription]) -> tuple[str, ...]:
    """Distinct ``policy/mode`` strings of ``endpoints``, in the server's order."""
    return tuple(dict.fromkeys(offer(ep) for ep in endpoints if ep.EndpointUrl.startswith("opc.tcp")))


def check_server_certificate(der: bytes, creds: Credentials, endpoint: str, now: dt.datetime | None = None) -> str:
    """How the server certificate ``der`` is trusted ('pinned' or 'trusted from FOLDER'); :class:`SecurityRefused`
    if it is not the pinned one, not in (nor directly issued by a CA in) the trust folder, or not valid ``now``."""
    if not der:
        raise SecurityRefused(f"{endpoint}: the endpoint sends no server certificate")
    cert = x509.load_der_x509_certificate(der)
    who = f"{subject(der)}, SHA-256 {fingerprint(der)}"
    if creds.pinned_der:
        if der != creds.pinned_der:
            raise SecurityRefused(f"{endpoint}: untrusted server: its certificate ({who}) is not the pinned "
                                  f"security.server_certificate (SHA-256 {fingerprint(creds.pinned_der)})")
        how = "pinned"
    elif der in creds.trusted_der or issued_by_trusted(cert, creds.trusted_der):
        how = f"trusted from {creds.trusted_folder}"
    else:
        raise SecurityRefused(f"{endpoint}: untrusted server: its certificate ({who}) is neither in nor issued by "
                              f"a CA in security.trusted_servers ({creds.trusted_folder})")
    problem = validity_problem(cert, now or dt.datetime.now(dt.UTC))
    if problem:
        raise SecurityRefused(f"{endpoint}: the server certificate ({who}) {problem}")
    return f"{who} ({how})"


class SecureClient(Client):
    """An asyncua ``Client`` whose :meth:`connect` secures the connection as ``credentials`` say first.

    Made by :func:`make_client` (or a ``client_factory``): whoever connects a client — the run, the safe state's
    fresh connection, ``tool check`` — gets the same steps (discovery, the server certificate checked, the
    session with certificate and user) without knowing them. ``credentials`` ``None`` is an allowed connection
    without security. After :meth:`connect`, :attr:`session_security` says what was used.
    """

    def __init__(self, url: str, timeout: float = 4.0, credentials: Credentials | None = None) -> None:
        super().__init__(url, timeout=timeout)
        self.credentials = credentials
        self.step_timeout_s = float(timeout) + 1.0
        """Bound of the discovery step [s] (the caller bounds the whole :meth:`connect`)."""
        self.session_security: SessionSecurity | None = None

    async def connect(self, *args: Any, **kwargs: Any) -> None:
        """Connect as the credentials say; :class:`SecurityRefused` for a refusal, anything else as it comes."""
        endpoint = self.server_url.geturl()
        creds = self.credentials
        if creds is None:
            try:
                await super().connect(*args, **kwargs)
            except ua.UaError as exc:
                if "No matching endpoints" not in str(exc):
                    raise
                offered = offers(await discover(endpoint, self.step_timeout_s))
                raise SecurityRefused(f"{endpoint}: the tool offers no endpoint without security (it offers "
                                      f"{', '.join(offered) or 'none'}): write a [security] table with one of "
                                      "those") from None
            self.session_security = SessionSecurity(endpoint, (), "None/None")
            return
        sec = creds.security
        redact_identity_tokens()
        endpoints = await discover(endpoint, self.step_timeout_s)
        offered = offers(endpoints)
        wanted = f"{sec.policy}/{sec.mode}"
        match = [ep for ep in endpoints if offer(ep) == wanted]
        if not match:
            raise SecurityRefused(f"{endpoint}: the tool offers no {wanted} endpoint (it offers "
                                  f"{', '.join(offered) or 'none'}): set security.policy and security.mode to one "
                                  "of those")
        server_der = _first_certificate(match[0].ServerCertificate)
        trusted = check_server_certificate(server_der, creds, endpoint)
        self.application_uri = creds.application_uri
        await self.set_security(POLICY_CLASSES[sec.policy], creds.certificate_der, creds.private_key_der,
                                server_certificate=server_der, mode=MESSAGE_MODES[sec.mode])
        user = user_name(sec)
        if user:
            self.set_user(user)
            try:
                self.set_password(read_password(sec, creds.base, creds.source))
            except MappingError as exc:
                raise SecurityRefused(str(exc)) from None
        try:
            await super().connect(*args, **kwargs)
        except ua.UaStatusCodeError as exc:
            raise SecurityRefused(_refusal(exc, endpoint, user, creds)) from None
        finally:
            self._password = None  # asyncua keeps it for reconnections; this adapter opens a fresh client instead
        self.session_security = SessionSecurity(endpoint, offered, wanted, trusted, user)


def make_client(endpoint: str, timeout_s: float, credentials: Credentials | None = None) -> SecureClient:
    """An unconnected client for ``endpoint`` (request timeout ``timeout_s`` [s]) that connects as
    ``credentials`` say."""
    return SecureClient(endpoint, timeout_s, credentials)


def client_factory(credentials: Credentials | None) -> Callable[[str, float], SecureClient]:
    """``(endpoint, timeout_s) → client`` for code that makes its clients through a factory."""
    return functools.partial(make_client, credentials=credentials)


async def secure_connect(client: SecureClient, timeout_s: float) -> SessionSecurity:
    """``await client.connect()`` bounded by ``timeout_s`` [s]; what the session uses."""
    await bounded(client.connect(), timeout_s)
    if client.session_security is None:  # connect() returned without setting it: cannot happen
        raise RuntimeError("the client connected without recording its security")
    return client.session_security


def _refusal(exc: ua.UaStatusCodeError, endpoint: str, user: str, creds: Credentials) -> str:
    name = ua.StatusCode(exc.code).name
    if name in _USER_REFUSED:
        return f"{endpoint}: the tool refused user {user!r}: wrong user name or password ({name})"
    if name == "BadIdentityTokenRejected":
        return (f"{endpoint}: the tool refused the identity token ({name}): it wants a user name and password"
                if not user else f"{endpoint}: the tool refused user {user!r} ({name})")
    if name in _CERT_REFUSED:
        return (f"{endpoint}: {_CERT_REFUSED[name]} (security.certificate, SHA-256 "
                f"{fingerprint(creds.certificate_der)}; {name})")
    return f"{endpoint}: the tool refused the secured session ({name})"


def _first_certificate(data: bytes | None) -> bytes:
    """The first certificate of a DER chain (a server may send its chain)."""
    if not data:
        return b""
    try:
        return x509.load_der_x509_certificate(data).public_bytes(Encoding.DER)
    except ValueError:  # a chain: the first certificate's own length is in its DER header
        length = int.from_bytes(data[2:4], "big") + 4 if data[1] == 0x82 else len(data)
        return data[:length]
