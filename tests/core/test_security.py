"""Password hashing and signed tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jingwu.platform.errors import NotAuthenticated, TokenExpired
from jingwu.platform.security import hash_password, issue_token, read_token, verify_password

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_password_hash_is_argon2_and_verifies() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "wrong horse")
    assert not verify_password("not-a-hash", "x")


def test_token_roundtrip_and_expiry() -> None:
    tok = issue_token("s3cret", user_id="u1", now=NOW, ttl=timedelta(minutes=5))
    assert read_token("s3cret", tok, now=NOW + timedelta(minutes=4))[0] == "u1"
    with pytest.raises(TokenExpired):
        read_token("s3cret", tok, now=NOW + timedelta(minutes=5))


@pytest.mark.parametrize("mangle", [
    lambda t: t + "x",
    lambda t: "garbage",
    lambda t: t.split(".")[0] + ".AAAA",
    lambda t: "",
])
def test_tampered_or_malformed_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    tok = issue_token("s3cret", user_id="u1", now=NOW, ttl=timedelta(minutes=5))
    with pytest.raises(NotAuthenticated):
        read_token("s3cret", mangle(tok), now=NOW)


def test_token_from_another_secret_is_refused() -> None:
    tok = issue_token("other", user_id="u1", now=NOW, ttl=timedelta(minutes=5))
    with pytest.raises(NotAuthenticated):
        read_token("s3cret", tok, now=NOW)
