"""Login throttling: failed logins counted per account and per client address, with a lockout that doubles
with every further failure (ADR 0017).

In process memory, per server process: a deployment running several processes behind one address divides
the budget between them by that many at most (documented in docs/security.md). Standard library only;
times come from the injected clock, so the rules are tested without waiting.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    account_failures: int = 5  # failures of one account within the window before it is locked
    address_failures: int = 20  # failures from one client address (any accounts) within the window
    window: timedelta = timedelta(minutes=15)
    first_lockout: timedelta = timedelta(seconds=30)  # doubled at every further failure while counted
    max_lockout: timedelta = timedelta(minutes=15)


@dataclass
class _Count:
    failures: list[datetime] = field(default_factory=list)
    locked_until: datetime | None = None


class LoginThrottle:
    """Thread-safe counters; ``check`` before verifying a password, ``failed``/``succeeded`` after."""

    def __init__(self, policy: ThrottlePolicy | None = None, size: int = 100_000) -> None:
        self.policy = policy or ThrottlePolicy()
        self.size = size
        self._lock = threading.Lock()
        self._accounts: dict[str, _Count] = {}
        self._addresses: dict[str, _Count] = {}

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().casefold()[:200]

    def retry_after(self, username: str, address: str | None, now: datetime) -> float:
        """Seconds until this account (and address) may try again; 0 when it may try now."""
        with self._lock:
            waits = [c.locked_until for c in (self._accounts.get(self._key(username)),
                                              self._addresses.get(address or "")) if c and c.locked_until]
        return max([(w - now).total_seconds() for w in waits] + [0.0])

    def failed(self, username: str, address: str | None, now: datetime) -> float:
        """Count a failure; the lockout it starts or lengthens, in seconds (0: none)."""
        p = self.policy
        locked = 0.0
        with self._lock:
            if len(self._accounts) + len(self._addresses) > self.size:
                self._prune(now)
            for table, key, limit in ((self._accounts, self._key(username), p.account_failures),
                                      (self._addresses, address, p.address_failures)):
                if not key:
                    continue
                c = table.setdefault(key, _Count())
                c.failures = [t for t in c.failures if now - t < p.window] + [now]
                over = len(c.failures) - limit
                if over >= 0:
                    lock = min(p.first_lockout * (2 ** over), p.max_lockout)
                    c.locked_until = now + lock
                    locked = max(locked, lock.total_seconds())
        return locked

    def succeeded(self, username: str) -> None:
        """A correct password clears the account's failures (not the address's: one good account must not
        launder guesses at others)."""
        with self._lock:
            self._accounts.pop(self._key(username), None)

    def _prune(self, now: datetime) -> None:
        for table in (self._accounts, self._addresses):
            for k in [k for k, c in table.items()
                      if (not c.failures or now - c.failures[-1] >= self.policy.window)
                      and (c.locked_until is None or c.locked_until <= now)]:
                del table[k]
