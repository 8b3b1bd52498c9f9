"""Paging shared by the list endpoints: ?limit=&offset=, total in X-Total-Count."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

__all__ = ["Limit", "Offset"]

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, description="skip this many items")]
