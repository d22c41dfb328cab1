"""Real local servers for the notification adapters: an HTTP server recording POSTs (answering with a
chosen status) and an aiosmtpd SMTP server (optionally STARTTLS with a self-signed certificate and a
login), each on a free port in a thread of the test process."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support import free_port


@dataclass
class HttpRecord:
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    answer: dict[str, Any] = field(default_factory=lambda: {"id": "prov-1"})


@contextmanager
def http_provider() -> Iterator[tuple[str, HttpRecord]]:
    rec = HttpRecord()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            rec.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
            out = json.dumps(rec.answer).encode()
            self.send_response(rec.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/sms/send", rec
    finally:
        srv.shutdown()
        srv.server_close()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cp, kp = tmp / "cert.pem", tmp / "key.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    return cp, kp


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)  # envelopes
    refuse: set[str] = field(default_factory=set)  # recipients answered 550


@contextmanager
def smtp_server(*, tls_dir: Path | None = None, login: tuple[str, str] | None = None) -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox()

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in box.refuse:
                return "550 5.1.1 mailbox unavailable"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            box.messages.append(envelope)
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = (login is not None and isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == login[0] and auth_data.password.decode() == login[1])
        return AuthResult(success=ok)

    kw: dict[str, Any] = {}
    if tls_dir is not None:
        cert, key = self_signed(tls_dir)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        kw.update(tls_context=ctx, require_starttls=True)
    if login is not None:
        kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=tls_dir is not None)
    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    try:
        yield port, box
    finally:
        ctl.stop()
