"""Reading pools with what their listings need loaded up front."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from anyplace.store.models import Pool

__all__ = ["list_pools"]


def list_pools(session: Session) -> Sequence[Pool]:
    return session.scalars(
        select(Pool)
        .options(selectinload(Pool.hosts), selectinload(Pool.vm_size))
        .options(selectinload(Pool.power_policy))
        .order_by(Pool.name)
    ).all()
