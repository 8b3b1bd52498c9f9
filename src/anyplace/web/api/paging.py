"""Shared by the list endpoints: the prefix, and ?limit=&offset= with the total in X-Total-Count."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

__all__ = ["API_PREFIX", "Limit", "Offset"]

API_PREFIX = "/api/v1"
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, description="skip this many items")]
