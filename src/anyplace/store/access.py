"""Opening the configured store, and refusing to work on a schema that is not current."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from anyplace.config import Settings
from anyplace.errors import AnyplaceError
from anyplace.store.engine import make_engine, make_session_factory, redact_url
from anyplace.store.migrate import current_revision, head_revision

__all__ = ["Store", "open_store"]


@dataclass(frozen=True)
class Store:
    engine: Engine
    sessions: sessionmaker[Session]
    url: str

    def require_current(self) -> None:
        """Raise a clear error unless the schema is at the migrations' head."""
        try:
            current = current_revision(self.engine)
        except SQLAlchemyError as exc:
            raise AnyplaceError(f"cannot open the database {self.url}: {_reason(exc)}") from None
        head = head_revision()
        if current != head:
            state = "empty" if current is None else f"at revision {current}"
            raise AnyplaceError(
                f"the database {self.url} is {state}, this version needs {head}: "
                "run `anyplace db upgrade`"
            )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session committed at the end of the block, rolled back if it raises."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


def open_store(settings: Settings) -> Store:
    engine = make_engine(settings.database.url, echo=settings.database.echo)
    return Store(engine, make_session_factory(engine), redact_url(settings.database.url))


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).strip().splitlines()[0]
