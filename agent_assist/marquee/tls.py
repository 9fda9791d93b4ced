"""TLS for marquee clients: trust the site's CA and/or pin the server's certificate.

A pin is the SHA-256 of the server certificate (DER), 64 hex digits, as IT
writes it in the site policy (``server.pin_sha256``); print it with
``openssl x509 -in cert.pem -outform der | sha256sum``. The pin is checked
*inside* the TLS handshake (a custom ``SSLSocket``/``SSLObject``), so a server
that does not match never receives the bearer token. With a pin and no CA, the
pin alone is the trust anchor (the usual case for a site's self-signed server);
with both, the chain is verified as well.
"""

from __future__ import annotations

import hashlib
import re
import ssl

from agent_assist.errors import MarqueeError

__all__ = ["PinMismatchError", "client_context", "context_for", "fingerprint"]

_PIN = re.compile(r"^[0-9a-f]{64}$")


class PinMismatchError(ssl.SSLCertVerificationError, MarqueeError):
    """The server's certificate is not the pinned one.

    An SSL verification error first, so TLS layers fail the handshake as for any
    untrusted certificate; a :class:`MarqueeError` too, so it is in our tree.
    """

    def __str__(self) -> str:
        # the TLS layer re-raises it with its arguments wrapped: show the sentence, not a tuple
        message: object = self.args
        while isinstance(message, tuple) and len(message) == 1:
            message = message[0]
        return str(message)


def fingerprint(der: bytes) -> str:
    """The SHA-256 of a DER certificate as 64 lower-case hex digits: what a pin is."""
    return hashlib.sha256(der).hexdigest()


def _check(peer: bytes | None, pin: str) -> None:
    got = fingerprint(peer) if peer else "none"
    if got != pin:
        raise PinMismatchError(
            f"the server's certificate ({got[:16]}...) does not match the pinned one"
        )


def client_context(*, ca_file: str | None = None, pin_sha256: str | None = None) -> ssl.SSLContext:
    """An SSL context for wss:// that trusts ``ca_file`` (or the system CAs) and checks the pin."""
    pin = (pin_sha256 or "").lower().replace(":", "").strip()
    if pin and not _PIN.match(pin):
        raise MarqueeError("a certificate pin is 64 hex digits (SHA-256 of the certificate)")
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise MarqueeError(f"cannot load the CA file {ca_file}: {exc}") from None
    if not pin:
        return context
    if not ca_file:  # the pin is the trust anchor
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE

    class PinnedSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            _check(self.getpeercert(binary_form=True), pin)

    class PinnedObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()  # raises SSLWantRead until the handshake is done
            _check(self.getpeercert(binary_form=True), pin)

    context.sslsocket_class = PinnedSocket
    context.sslobject_class = PinnedObject
    return context


def context_for(
    url: str, *, ca_file: str | None = None, pin_sha256: str | None = None
) -> ssl.SSLContext | None:
    """The SSL context a client of ``url`` needs: :func:`client_context` for wss://, else None."""
    if not url.startswith("wss://"):
        return None
    return client_context(ca_file=ca_file, pin_sha256=pin_sha256)
