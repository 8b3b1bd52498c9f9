"""Request dependencies: a database session per request and the caller's identity."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from sqlalchemy.orm import Session, sessionmaker

from anyplace.clock import Clock
from anyplace.identity.tokens import authenticate_token
from anyplace.store.models import User

__all__ = [
    "Caller",
    "DbSession",
    "Principal",
    "bearer_secret",
    "capacity_asker",
    "capacity_request",
    "get_clock",
    "get_db",
    "parse_bearer",
    "require_admin",
    "unauthorized",
]


def get_db(request: Request) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back if it raises."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


# scope="function": the commit happens before the response is sent, so a client
# that was told "done" always finds it done (DESIGN.md, principle 5).
DbSession = Annotated[Session, Depends(get_db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an admin, or a user seeing only what is theirs."""

    name: str
    user: User | None
    is_admin: bool


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=message, headers={"WWW-Authenticate": "Bearer"}
    )


def parse_bearer(authorization: str) -> str | None:
    """The credential of an 'Authorization: Bearer <credential>' header, or None."""
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def bearer_secret(request: Request) -> str:
    """The API token sent as 'Authorization: Bearer <token>' (401 if there is none)."""
    secret = parse_bearer(request.headers.get("authorization", ""))
    if secret is None:
        raise unauthorized("send an API token as 'Authorization: Bearer <token>'")
    return secret


def get_caller(
    request: Request, db: DbSession, clock: Annotated[Clock, Depends(get_clock)]
) -> Principal:
    token = authenticate_token(db, clock, bearer_secret(request))
    if token is None:
        raise unauthorized("the API token is unknown, expired or revoked")
    return Principal(name=f"token:{token.name}", user=token.user, is_admin=token.is_admin)


Caller = Annotated[Principal, Depends(get_caller)]


def require_admin(caller: Caller) -> Principal:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="this needs an admin token")
    return caller


def capacity_asker(request: Request) -> Callable[[str], object] | None:
    """Start on demand without waiting: the controller plans once this request has committed.

    Planning inside the request would need a second transaction while the
    request's own is open, which SQLite (one writer) cannot give.
    """
    if request.app.state.controller is None:
        return None
    return capacity_request(request.app)


def capacity_request(app: FastAPI) -> Callable[[str], None]:
    """Ask the app's power controller (if it runs) for a host in a pool, in a thread of its own."""

    def ask(pool: str) -> None:
        controller = app.state.controller
        if controller is not None:
            threading.Thread(target=controller.request_capacity, args=(pool,), daemon=True).start()

    return ask
