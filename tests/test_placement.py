"""Placement: each load-balancing mode, drain, max sessions, unregistered hosts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anyplace.broker.placement import (
    Candidate,
    Decision,
    ExistingSession,
    choose_host,
    decide,
    load_index,
)
from anyplace.domain import LoadBalancing, SessionState

BREADTH, DEPTH, INDEX = (
    LoadBalancing.BREADTH_FIRST,
    LoadBalancing.DEPTH_FIRST,
    LoadBalancing.LOAD_INDEX,
)


def host(name: str, sessions: int, **kw: object) -> Candidate:
    return Candidate(name, sessions, 10, **kw)  # type: ignore[arg-type]


def test_breadth_first_spreads_and_depth_first_fills() -> None:
    hosts = [host("a", 3), host("b", 1), host("c", 7)]
    assert choose_host(hosts, BREADTH) == hosts[1]
    assert choose_host(hosts, DEPTH) == hosts[2]


def test_full_draining_unregistered_and_off_hosts_are_never_chosen() -> None:
    hosts = [
        host("full", 10),
        host("drain", 0, draining=True),
        host("lost", 0, registered=False),
        host("off", 0, powered_on=False),
    ]
    for mode in LoadBalancing:
        assert choose_host(hosts, mode) is None
    assert choose_host([*hosts, host("ok", 9)], DEPTH) == host("ok", 9)


def test_load_index_weighs_cpu_memory_and_logons() -> None:
    quiet_but_busy_cpu = host("a", 1, cpu_percent=90.0)
    more_users = host("b", 4, cpu_percent=20.0)
    logging_on = host("c", 2, logons_in_progress=2)
    assert load_index(quiet_but_busy_cpu) == 9000
    assert load_index(more_users) == 4000
    assert load_index(logging_on) == 10_000
    assert choose_host([quiet_but_busy_cpu, more_users, logging_on], INDEX) == more_users


@given(
    st.lists(
        st.builds(
            Candidate,
            name=st.text("abcdef", min_size=1, max_size=4),
            sessions=st.integers(0, 12),
            max_sessions=st.integers(1, 12),
            registered=st.booleans(),
            powered_on=st.booleans(),
            draining=st.booleans(),
        ),
        max_size=12,
    ),
    st.sampled_from(list(LoadBalancing)),
)
def test_the_choice_always_has_room_and_exists_when_any_host_does(
    hosts: list[Candidate], mode: LoadBalancing
) -> None:
    chosen = choose_host(hosts, mode)
    if any(h.has_room for h in hosts):
        assert chosen is not None
        assert chosen.has_room
    else:
        assert chosen is None


def test_a_user_is_sent_back_to_their_own_session_even_on_a_draining_host() -> None:
    hosts = [host("a", 9, draining=True), host("b", 0)]
    own = [
        ExistingSession(7, "a", SessionState.ACTIVE),
        ExistingSession(5, "a", SessionState.DISCONNECTED),
    ]
    assert decide(own, hosts, BREADTH) == Decision("reconnect", "a", 5)


def test_sessions_on_lost_hosts_are_not_reconnected_and_no_room_means_starting() -> None:
    hosts = [host("a", 0, registered=False), host("b", 10)]
    own = [ExistingSession(5, "a", SessionState.DISCONNECTED)]
    assert decide(own, hosts, BREADTH) == Decision("starting")
    assert decide(own, [*hosts, host("c", 3)], BREADTH) == Decision("new", "c")
    ended = [ExistingSession(6, "b", SessionState.ENDED)]
    assert decide(ended, [*hosts, host("c", 3)], DEPTH) == Decision("new", "c")
