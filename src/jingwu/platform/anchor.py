"""Anchoring the audit chain outside the database: signed checkpoints of its head.

Every ``audit_anchor_interval_s`` seconds the app (and ``jingwu audit anchor`` on demand) reads the
chain head (seq, hash), signs ``{"v": 1, "seq", "hash", "at"}`` with the deployment's Ed25519 key,
appends the line to an append-only JSON Lines file and publishes it on the bus
(``jingwu.audit.checkpoint``, through the outbox, so a copy leaves the host). ``jingwu audit verify``
checks each checkpoint's signature and that the chain still holds the anchored entry with the
anchored hash: a cut tail, a reset chain or a rewritten head is detected, unless all of it happened
after the last checkpoint (the window is the interval).

The key is created on first use (``audit-anchor.key``, mode 0600) next to its public half
(``audit-anchor.pub``, hex) that verifiers need; an operator keeps a copy of the public key away
from the server.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jingwu.platform.domain import AuditRecord, ChainBreak, verify_chain

CHECKPOINT_TOPIC = "jingwu.audit.checkpoint"
VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str  # ISO 8601 UTC, when the checkpoint was signed
    key_id: str
    sig: str

    def as_dict(self) -> dict[str, Any]:
        return {"v": VERSION, "seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id,
                "sig": self.sig}


@dataclass
class Anchors:
    """Checkpoints read back from the file, with the lines that failed (bad JSON or signature)."""

    checkpoints: list[Checkpoint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    file: Path | None = None

    def by_seq(self) -> dict[int, Checkpoint]:
        return {c.seq: c for c in self.checkpoints}


def check_chain(records: Iterable[AuditRecord], head: tuple[int, str], anchors: Anchors | None) -> ChainBreak | None:
    """The chain checked against itself, its head and the signed checkpoints; a bad checkpoint line is
    a break too (seq 0: the anchor file was altered)."""
    marks = {c.seq: (c.hash, c.at) for c in anchors.checkpoints} if anchors else None
    brk = verify_chain(records, head=head, anchors=marks)
    if brk is None and anchors is not None and anchors.problems:
        brk = ChainBreak(0, f"anchor file {anchors.file}: {anchors.problems[0]}")
    return brk


def _signed_bytes(seq: int, head_hash: str, at: str) -> bytes:
    return json.dumps({"v": VERSION, "seq": seq, "hash": head_hash, "at": at}, sort_keys=True,
                      separators=(",", ":")).encode()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path`` (PEM, PKCS#8); created with mode 0600 when missing, its public
    half written beside it as ``<name>.pub`` (hex)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path(path).write_text(public_hex(key.public_key()) + "\n", encoding="ascii")
    return key


def public_path(key_path: Path) -> Path:
    return key_path.with_suffix(".pub")


def public_hex(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def load_public(path: Path) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(path.read_text(encoding="ascii").strip()))


def sign(key: Ed25519PrivateKey, seq: int, head_hash: str, at: datetime) -> Checkpoint:
    stamp = at.astimezone(UTC).isoformat(timespec="seconds")
    sig = key.sign(_signed_bytes(seq, head_hash, stamp)).hex()
    return Checkpoint(seq, head_hash, stamp, key_id(key.public_key()), sig)


def last_checkpoint(file: Path) -> dict[str, Any] | None:
    """The last line of the file as written (not verified); None when there is none."""
    if not file.exists():
        return None
    last = None
    with file.open("rb") as f:
        for line in f:
            if line.strip():
                last = line
    if last is None:
        return None
    try:
        out: dict[str, Any] = json.loads(last)
        return out
    except ValueError:
        return None


def append(file: Path, cp: Checkpoint) -> None:
    """Append one line and make it durable before returning (the file is only ever appended to)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(json.dumps(cp.as_dict(), sort_keys=True, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read(file: Path, public: Ed25519PublicKey) -> Anchors:
    """Every checkpoint in the file whose signature holds under ``public``; the others as problems."""
    out = Anchors(file=file)
    if not file.exists():
        return out
    kid = key_id(public)
    with file.open(encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                cp = Checkpoint(int(d["seq"]), str(d["hash"]), str(d["at"]), str(d["key_id"]), str(d["sig"]))
            except (ValueError, KeyError, TypeError):
                out.problems.append(f"checkpoint line {n} is not a checkpoint (the anchor file was altered)")
                continue
            if cp.key_id != kid:
                out.problems.append(f"checkpoint line {n} is signed by key {cp.key_id}, not this deployment's "
                                    f"key {kid}")
                continue
            try:
                public.verify(bytes.fromhex(cp.sig), _signed_bytes(cp.seq, cp.hash, cp.at))
            except (InvalidSignature, ValueError):
                out.problems.append(f"checkpoint line {n} (entry {cp.seq}) has a bad signature "
                                    "(the anchor file was altered)")
                continue
            out.checkpoints.append(cp)
    return out
