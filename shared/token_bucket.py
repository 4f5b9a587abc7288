"""A token bucket (pure, clock passed in): ``rate_per_s`` on average, ``burst`` at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    _tokens: float | None = None  # full at the first use
    _at: float = 0.0

    def available(self, now: float) -> float:
        """Tokens at ``now`` (refilled since the last call, at most ``burst``)."""
        tokens = self.burst if self._tokens is None else self._tokens
        self._tokens = min(self.burst, tokens + max(0.0, now - self._at) * self.rate_per_s)
        self._at = max(self._at, now)
        return self._tokens

    def spend(self) -> None:
        self._tokens = (self._tokens if self._tokens is not None else self.burst) - 1.0

    def wait_s(self, now: float) -> float:
        """Take a token, waiting for it if need be: how long the caller must wait (0.0 when
        one is there). The token is spent either way, so callers that wait are served in turn
        at ``rate_per_s``."""
        tokens = self.available(now)
        if tokens >= 1.0:
            self.spend()
            return 0.0
        # tokens are counted up to _at, which is in the future while earlier callers wait
        wait = max(0.0, self._at - now) + (1.0 - tokens) / self.rate_per_s
        self._tokens, self._at = 0.0, now + wait
        return wait
