"""Application errors with a machine-readable code and a human message.

Standard library only: domain and service code raise these; the web layer maps
them to HTTP in one handler (``{"error": {"code", "message"}}``).
"""

from __future__ import annotations


class AppError(Exception):
    code: str = "error"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(AppError):
    code = "invalid_input"
    status = 422


class NotAuthenticated(AppError):
    code = "not_authenticated"
    status = 401


class InvalidCredentials(AppError):
    code = "invalid_credentials"
    status = 401


class TokenExpired(AppError):
    code = "token_expired"
    status = 401


class Forbidden(AppError):
    code = "forbidden"
    status = 403


class NotFound(AppError):
    code = "not_found"
    status = 404


class Conflict(AppError):
    code = "conflict"
    status = 409


class TooManyRequests(AppError):
    """429: the caller must wait ``retry_after`` seconds (sent as the Retry-After header)."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))
