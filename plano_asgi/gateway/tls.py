"""TLS to providers: which certificate authorities the gateway trusts, and clear failures.

The CA bundle comes from, in order: ``overrides.upstream_tls_ca_path`` in the config (a
Plano key; the file *replaces* the default bundle, as in Plano), then the
``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` environment variables, then the system's trust store
(httpx2's default). One context is built per gateway and used by its client for provider
calls and HTTP filters alike, so a private CA (a self-hosted model server, a corporate
proxy, a test CA) works on every path.
Certificates are always verified against the host name; there is no switch to turn that off.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx2

from plano_asgi.config import PlanoConfig
from plano_asgi.errors import ConfigError, ConfigIssue

__all__ = ["tls_failure_detail", "upstream_ssl_context"]


def upstream_ssl_context(config: PlanoConfig) -> ssl.SSLContext:
    """The client TLS context for provider calls (see the module doc for the CA order).

    Raises :class:`ConfigError` at startup when ``upstream_tls_ca_path`` names a file that
    cannot be read as PEM certificates, rather than failing every request later.
    """
    path = config.overrides.upstream_tls_ca_path
    if not path:
        return httpx2.create_ssl_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
    ca = Path(path).expanduser()
    try:
        if ca.is_dir():
            return ssl.create_default_context(capath=str(ca))
        return ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        issue = ConfigIssue(
            "overrides.upstream_tls_ca_path",
            f"cannot load the CA bundle {path!r}: {exc.__class__.__name__}: {exc}",
        )
        raise ConfigError([issue]) from None


def tls_failure_detail(exc: BaseException) -> str | None:
    """A short, secret-free reason when ``exc`` (or its cause) is a TLS failure, else None."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            message = getattr(seen, "verify_message", None)
            reason = str(message or seen.reason or "unknown reason").rstrip(".")
            return f"TLS certificate verification failed ({reason})"
        if isinstance(seen, ssl.SSLError):
            return f"TLS handshake failed ({seen.reason or type(seen).__name__})"
        seen = seen.__cause__ or seen.__context__
    return None
