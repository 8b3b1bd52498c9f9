"""Launches decided in batches: each launch sees the ones before it; a refusal stays its own."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from anyplace.broker.agents import AgentRefused
from anyplace.broker.batcher import LaunchBatcher
from anyplace.broker.launch import (
    LaunchAsk,
    Launched,
    NotEntitled,
    NotSignedIn,
    Outcome,
    start_launches,
)
from anyplace.clock import VirtualClock
from anyplace.config import BrokerSettings
from anyplace.domain import PowerState, SessionState
from anyplace.errors import NotFound
from anyplace.identity.tokens import create_token, secret_digest
from anyplace.store.access import Store
from anyplace.store.models import ApiToken, Launch, Machine, Pool, User
from anyplace.store.models import Session as UserSession

SETTINGS = BrokerSettings()


def bring_up(store: Store, clock: VirtualClock, *names: str, max_sessions: int = 14) -> None:
    with store.transaction() as session:
        session.execute(
            update(Pool).where(Pool.name == "generel").values(max_sessions_per_host=max_sessions)
        )
        for machine in session.scalars(select(Machine).where(Machine.name.in_(names))):
            machine.power_state = PowerState.ON
            machine.last_heartbeat_at = clock.now()


def users_of(store: Store, department: str, count: int) -> list[int]:
    with store.sessions() as session:
        return list(
            session.scalars(
                select(User.id).where(User.department == department).order_by(User.id).limit(count)
            )
        )


def decide(store: Store, clock: VirtualClock, asks: list[LaunchAsk]) -> list[Outcome]:
    with store.transaction() as session:
        return start_launches(session, clock, SETTINGS, asks)


def placed(outcome: Outcome) -> Launched:
    assert isinstance(outcome, Launched), outcome
    return outcome


def live_sessions(store: Store) -> list[UserSession]:
    with store.sessions() as session:
        return list(session.scalars(select(UserSession).order_by(UserSession.id)))


def test_two_apps_of_one_user_in_one_batch_share_one_session(
    demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01", "gen-02")
    (user,) = users_of(demo_store, "jobcenter", 1)
    word, excel = (
        placed(outcome)
        for outcome in decide(
            demo_store,
            clock,
            [LaunchAsk("word", user_id=user), LaunchAsk("excel", user_id=user)],
        )
    )
    assert word.host == excel.host
    assert word.ticket
    assert excel.ticket != word.ticket
    (session,) = live_sessions(demo_store)
    assert session.apps == ["word", "excel"]
    with demo_store.sessions() as db:
        launches = db.scalars(select(Launch).order_by(Launch.id)).all()
    assert [launch.session_id for launch in launches] == [session.id, session.id]


def test_a_batch_fills_hosts_up_to_their_maximum_then_waits_for_capacity(
    demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01", "gen-02", max_sessions=2)
    users = users_of(demo_store, "jobcenter", 5)
    outcomes = [
        placed(outcome)
        for outcome in decide(demo_store, clock, [LaunchAsk("word", user_id=u) for u in users])
    ]
    assert Counter(outcome.host for outcome in outcomes) == {"gen-01": 2, "gen-02": 2, None: 1}
    assert [outcome.state for outcome in outcomes].count("starting") == 1
    assert outcomes[-1].state == "starting", "the batch is placed in the order it arrived"
    assert outcomes[-1].pool == "generel"
    assert len(live_sessions(demo_store)) == 4


def test_one_refused_launch_does_not_fail_the_others(
    demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    (user,) = users_of(demo_store, "jobcenter", 1)
    (planner,) = users_of(demo_store, "teknik-miljo", 1)
    with demo_store.transaction() as session:
        token = create_token(session, clock, name="t", admin=False, user=session.get(User, user))
        admin = create_token(session, clock, name="a", admin=True)
    outcomes = decide(
        demo_store,
        clock,
        [
            LaunchAsk("word", token_digest=secret_digest(token.secret)),
            LaunchAsk("word", token_digest=secret_digest("ap_not-a-token")),
            LaunchAsk("word", token_digest=secret_digest(admin.secret)),
            LaunchAsk("nope", user_id=user),
            LaunchAsk("omsorgsjournal", user_id=planner),
            LaunchAsk("word", "vnc", user_id=user),
            LaunchAsk("outlook", user_id=planner),
        ],
    )
    assert placed(outcomes[0]).host == "gen-01"
    assert isinstance(outcomes[1], NotSignedIn)
    assert isinstance(outcomes[2], NotEntitled)
    assert isinstance(outcomes[3], NotFound)
    assert isinstance(outcomes[4], NotEntitled)
    assert "client must be one of" in str(outcomes[5])
    web = placed(outcomes[6])
    assert (web.state, web.url, web.host, web.ticket) == (
        "ready",
        "https://outlook.office.com",
        None,
        None,
    )
    with demo_store.sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at).where(ApiToken.name == "t"))
        assert len(session.scalars(select(Launch)).all()) == 2


def test_revoked_and_expired_tokens_are_refused(demo_store: Store, clock: VirtualClock) -> None:
    (user,) = users_of(demo_store, "jobcenter", 1)
    with demo_store.transaction() as session:
        owner = session.get(User, user)
        revoked = create_token(session, clock, name="r", admin=False, user=owner)
        expiring = create_token(session, clock, name="e", admin=False, user=owner)
        revoked.token.revoked_at = clock.now()
        expiring.token.expires_at = clock.now()
    outcomes = decide(
        demo_store,
        clock,
        [
            LaunchAsk("word", token_digest=secret_digest(revoked.secret)),
            LaunchAsk("word", token_digest=secret_digest(expiring.secret)),
        ],
    )
    assert all(isinstance(outcome, NotSignedIn) for outcome in outcomes)


def test_the_batcher_answers_every_launch_after_its_batch_has_committed(
    demo_store: Store, clock: VirtualClock
) -> None:
    """Many threads at once: every answer is in the store when it arrives, and hosts stay
    within their maximum however the launches were grouped."""
    bring_up(demo_store, clock, "gen-01", "gen-02", "gen-03", max_sessions=10)
    users = users_of(demo_store, "jobcenter", 40)
    asked: list[str] = []
    batcher = LaunchBatcher(demo_store.engine, clock, SETTINGS, asked.append)
    answers: list[Future[Outcome]] = []
    guard = threading.Lock()

    def ask(user: int) -> None:
        answer = batcher.submit(LaunchAsk("word", user_id=user))
        with guard:
            answers.append(answer)

    threads = [threading.Thread(target=ask, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = [placed(answer.result(timeout=30)) for answer in answers]
    batcher.close()
    with demo_store.sessions() as session:
        stored = set(session.scalars(select(Launch.id)))
    assert {outcome.launch_id for outcome in outcomes} == stored
    hosts = Counter(outcome.host for outcome in outcomes)
    assert hosts == {"gen-01": 10, "gen-02": 10, "gen-03": 10, None: 10}
    assert set(asked) == {"generel"}, "capacity asked for the launches that wait"
    assert 1 <= batcher.batches <= len(users)


def test_a_failed_batch_fails_each_of_its_launches(demo_store: Store, clock: VirtualClock) -> None:
    """The database refusing the batch is an error for every waiting caller, not a hang."""
    broken = LaunchBatcher(demo_store.engine, clock, SETTINGS)
    with demo_store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE launches")
    (user,) = users_of(demo_store, "jobcenter", 1)
    answer = broken.submit(LaunchAsk("word", user_id=user))
    with pytest.raises(Exception, match="launches"):
        answer.result(timeout=30)
    broken.close()


def test_the_batcher_rereads_what_another_connection_changed(
    demo_store: Store, clock: VirtualClock
) -> None:
    """On SQLite the batcher keeps what it read while nobody else writes; a revoked token,
    a drained host or an ended session written elsewhere counts at the next batch."""
    bring_up(demo_store, clock, "gen-01", "gen-02")
    alice, bob = users_of(demo_store, "jobcenter", 2)
    with demo_store.transaction() as session:
        token = create_token(
            session, clock, name="alice", admin=False, user=session.get(User, alice)
        )
    digest = secret_digest(token.secret)
    batcher = LaunchBatcher(demo_store.engine, clock, SETTINGS)
    first = placed(batcher.submit(LaunchAsk("word", token_digest=digest)).result(timeout=30))
    with demo_store.transaction() as session:
        session.execute(update(Machine).where(Machine.name == first.host).values(drain=True))
        session.execute(update(UserSession).values(state=SessionState.ENDED))
    second = placed(batcher.submit(LaunchAsk("word", user_id=bob)).result(timeout=30))
    assert second.host != first.host, "the drained host takes no new session"
    with demo_store.transaction() as session:
        session.execute(
            update(ApiToken).where(ApiToken.name == "alice").values(revoked_at=clock.now())
        )
    refused = batcher.submit(LaunchAsk("word", token_digest=digest)).result(timeout=30)
    batcher.close()
    assert isinstance(refused, NotSignedIn)


def test_the_batcher_reads_nothing_again_while_nobody_else_writes(
    demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01", "gen-02")
    users = users_of(demo_store, "jobcenter", 2)
    batcher = LaunchBatcher(demo_store.engine, clock, SETTINGS)
    placed(batcher.submit(LaunchAsk("word", user_id=users[0])).result(timeout=30))
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement.split(maxsplit=1)[0].upper() + " " + statement)

    event.listen(demo_store.engine, "before_cursor_execute", count)
    try:
        again = placed(batcher.submit(LaunchAsk("excel", user_id=users[0])).result(timeout=30))
    finally:
        event.remove(demo_store.engine, "before_cursor_execute", count)
        batcher.close()
    assert again.state == "ready"
    reads_of_hosts = [s for s in statements if "FROM machines" in s]
    if demo_store.engine.dialect.name == "sqlite":
        assert reads_of_hosts == [], "hosts, counts and sessions came from the last batch"
    else:
        assert reads_of_hosts, "replicas share PostgreSQL: every batch reads afresh"


def test_a_report_applied_by_the_batcher_is_seen_by_the_next_launch(
    demo_store: Store, clock: VirtualClock
) -> None:
    """Heartbeats go through the batcher; what they change about sessions counts at once,
    and one that fails undoes only itself."""
    bring_up(demo_store, clock, "gen-01", "gen-02")
    (user,) = users_of(demo_store, "jobcenter", 1)
    batcher = LaunchBatcher(demo_store.engine, clock, SETTINGS)
    first = placed(batcher.submit(LaunchAsk("word", user_id=user)).result(timeout=30))

    def host_lost_its_sessions(db: Session) -> int:
        ended = db.scalars(select(UserSession)).all()
        for session in ended:
            session.state = SessionState.ENDED
        db.flush()
        return len(ended)

    def refused(db: Session) -> None:
        db.execute(update(Machine).values(drain=True))
        raise AgentRefused("the host credential is not valid; enrol again")

    assert batcher.apply_report(host_lost_its_sessions) == 1
    with pytest.raises(AgentRefused):
        batcher.apply_report(refused)
    second = placed(batcher.submit(LaunchAsk("word", user_id=user)).result(timeout=30))
    batcher.close()
    assert second.host is not None, "the refused report's drain was undone"
    with demo_store.sessions() as db:
        states = db.scalars(select(UserSession.state).order_by(UserSession.id)).all()
    assert states == [SessionState.ENDED, SessionState.PENDING], "a new session, no reconnect"
    assert first.launch_id != second.launch_id
