"""Exponential backoff (pure): how long to wait before attempt number `attempt` + 1.

Used for power actions here and deliveries later; the jittered variant spreads
many clients out (AWS Architecture Blog, "full jitter").
"""

from __future__ import annotations

import random

__all__ = ["backoff_seconds", "full_jitter_seconds"]


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """base, 2 x base, 4 x base ... after attempts 1, 2, 3 ..., never more than `cap`."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return float(min(cap, base * 2 ** (attempt - 1)))


def full_jitter_seconds(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    return rng.uniform(0.0, backoff_seconds(attempt, base=base, cap=cap))
