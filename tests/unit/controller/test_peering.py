"""The peering gate and namespace sharding on plain data and a fake API: who serves, when, and what."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statuswatch.controller.peering import Gate, Peer, blocking_peers, parse_peers, peering_paths
from statuswatch.controller.settings import OperatorSettings, parse_shard, shard_of
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.testing import FakeTransport

EPOCH = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PEERING = "/apis/kopf.dev/v1/namespaces/shop/kopfpeerings/sw"
LIST = "/apis/statuswatch.io/v1alpha1/namespaces/shop/statuswatches"


# -- sharding ----------------------------------------------------------------------------------------------


def test_shard_of_is_the_documented_shell_recipe() -> None:
    # docs: `printf %s NAMESPACE | sha256sum`, first 16 hex digits, modulo N
    for namespace in ["default", "shop", "team-a", "kube-system", "ü-ns"]:
        digits = hashlib.sha256(namespace.encode()).hexdigest()[:16]
        for count in (1, 2, 3, 7):
            assert shard_of(namespace, count) == int(digits, 16) % count


def test_shard_of_known_values() -> None:
    # Fixed answers: a change of the rule would move the namespaces of every running sharded deployment.
    assert [shard_of(f"ns-{i}", 2) for i in range(8)] == [0, 1, 0, 0, 1, 0, 0, 0]
    assert [shard_of(f"ns-{i}", 3) for i in range(8)] == [0, 2, 2, 2, 2, 2, 1, 1]
    assert shard_of("default", 1) == 0


def test_every_namespace_is_served_by_exactly_one_shard_and_they_balance() -> None:
    count = 3
    shards = [OperatorSettings(all_namespaces=True, shard=(i, count)) for i in range(count)]
    served = dict.fromkeys(range(count), 0)
    for n in range(3000):
        owners = [i for i, settings in enumerate(shards) if settings.serves(f"team-{n}")]
        assert len(owners) == 1
        served[owners[0]] += 1
    assert all(800 < total < 1200 for total in served.values()), served


def test_unsharded_serves_everything() -> None:
    assert OperatorSettings().serves("anything")


@pytest.mark.parametrize("text", ["0/1", "1/2", "4/5"])
def test_parse_shard(text: str) -> None:
    index, count = text.split("/")
    assert parse_shard(text) == (int(index), int(count))


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "1/0", "/2", "1/"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        parse_shard(text)


def test_settings_reject_a_shard_out_of_range_and_a_short_lifetime() -> None:
    with pytest.raises(ValueError, match="shard 2/2"):
        OperatorSettings(shard=(2, 2))
    with pytest.raises(ValueError, match="peering_lifetime"):
        OperatorSettings(peering_lifetime=1)


# -- kopf's peering records --------------------------------------------------------------------------------


def record(priority: int, seen: datetime, lifetime: int = 60) -> dict[str, Any]:
    return {"priority": priority, "lifetime": lifetime, "lastseen": seen.isoformat()}


def test_parse_peers_reads_kopf_records() -> None:
    status = {
        "a": record(2, EPOCH, 15),
        "b": {"priority": 1},  # no lastseen: seen now, lifetime 60 (as kopf reads it)
        "c": {"priority": "high"},  # unreadable: skipped
        "d": "garbage",
        "e": {"priority": 0, "lastseen": "2026-11-22T11:59:00"},  # naive: UTC
    }
    assert parse_peers(status, now=EPOCH) == [
        Peer("a", 2, EPOCH + timedelta(seconds=15)),
        Peer("b", 1, EPOCH + timedelta(seconds=60)),
        Peer("e", 0, EPOCH),
    ]
    assert parse_peers(None, now=EPOCH) == []


def test_blocking_peers_follow_kopfs_rule() -> None:
    live = EPOCH + timedelta(seconds=5)
    peers = [
        Peer("me", 9, live),  # our own record never blocks
        Peer("higher", 3, live),
        Peer("equal", 2, live),  # kopf pauses both replicas of one priority
        Peer("lower", 1, live),
        Peer("dead-higher", 5, EPOCH),  # deadline reached: dead
    ]
    blockers = blocking_peers(peers, identity="me", priority=2, now=EPOCH)
    assert [peer.identity for peer in blockers] == ["higher", "equal"]


def test_peering_paths() -> None:
    assert peering_paths("sw", ["a", "b"], clusterwide=False) == [
        "/apis/kopf.dev/v1/namespaces/a/kopfpeerings/sw",
        "/apis/kopf.dev/v1/namespaces/b/kopfpeerings/sw",
    ]
    assert peering_paths("sw", [], clusterwide=True) == ["/apis/kopf.dev/v1/clusterkopfpeerings/sw"]


# -- the gate ----------------------------------------------------------------------------------------------


class Recorder:
    """The supervisor as the gate sees it: which events reached it, and when it was closed."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.live: set[str] = set()

    def __len__(self) -> int:
        return len(self.live)

    async def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        name = body["metadata"]["name"]
        self.log.append((str(event_type), f"{body['metadata']['namespace']}/{name}:{body.get('kind')}"))
        self.live.add(name)

    async def close(self) -> None:
        self.log.append(("close", ""))
        self.live.clear()


class Clock:
    def __init__(self) -> None:
        self.now = EPOCH

    def __call__(self) -> datetime:
        return self.now


def sw(name: str, namespace: str = "shop") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"}}


def gate(fake: FakeTransport, recorder: Recorder, clock: Clock, **settings: Any) -> Gate:
    return Gate(
        recorder,
        fake,
        OperatorSettings(**{"namespaces": ("shop",), **settings}),
        namespaces=["shop"],
        identity="me",
        clock=clock,
    )


async def test_without_peering_the_gate_forwards_and_applies_the_shard() -> None:
    fake, recorder = FakeTransport(), Recorder()
    mine = next(f"ns-{i}" for i in range(20) if shard_of(f"ns-{i}", 2) == 1)
    other = next(f"ns-{i}" for i in range(20) if shard_of(f"ns-{i}", 2) == 0)
    subject = Gate(
        recorder,
        fake,
        OperatorSettings(all_namespaces=True, shard=(1, 2)),
        namespaces=[],
        identity="me",
    )
    assert subject.active
    assert await subject.check()
    await subject.observe("ADDED", sw("a", mine))
    await subject.observe("ADDED", sw("b", other))
    assert recorder.log == [("ADDED", f"{mine}/a:None")]
    assert fake.calls == []  # nothing to read without peering


async def test_standby_waits_for_the_active_replica_to_die_then_lists_and_serves() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    fake.answers[PEERING] = {"status": {"me": record(1, EPOCH, 15), "active": record(2, EPOCH, 15)}}
    subject = gate(fake, recorder, clock, peering="sw", priority=1, peering_lifetime=15)
    assert not subject.active  # nothing is served before the first read of the peering object
    assert not await subject.check()
    await subject.observe("ADDED", sw("a"))
    assert recorder.log == []  # kopf's events are dropped while paused

    clock.now = EPOCH + timedelta(seconds=14)
    assert not await subject.check()
    clock.now = EPOCH + timedelta(seconds=15)  # the active replica's keep-alive ran out
    fake.pages.append({"items": [sw("a"), sw("b")], "metadata": {"continue": "next"}})
    fake.pages.append({"items": [sw("c")], "metadata": {}})
    assert await subject.check()
    assert recorder.log == [
        ("None", "shop/a:StatusWatch"),
        ("None", "shop/b:StatusWatch"),
        ("None", "shop/c:StatusWatch"),
    ]
    assert fake.get_calls(LIST) == [{"limit": 500}, {"limit": 500, "continue": "next"}]
    await subject.observe("MODIFIED", sw("a"))
    assert recorder.log[-1] == ("MODIFIED", "shop/a:None")

    # A higher-priority replica comes (back): every worker stops, later events are dropped.
    recorder.log.clear()
    fake.answers[PEERING] = {"status": {"active": record(2, clock.now, 15)}}
    assert not await subject.check()
    assert recorder.log == [("close", "")]
    await subject.observe("MODIFIED", sw("a"))
    assert recorder.log == [("close", "")]
    assert subject.transitions == 2


async def test_a_peer_of_equal_priority_pauses_and_a_lower_one_does_not() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    fake.answers[PEERING] = {"status": {"twin": record(1, EPOCH)}}
    subject = gate(fake, recorder, clock, peering="sw", priority=1)
    assert not await subject.check()
    fake.answers[PEERING] = {"status": {"twin": record(0, EPOCH)}}
    fake.pages.append({"items": [], "metadata": {}})
    assert await subject.check()


async def test_a_missing_peering_object_blocks_nobody() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    fake.answers[PEERING] = ApiError(404, "NotFound", 'kopfpeerings.kopf.dev "sw" not found')
    fake.pages.append({"items": [sw("a")], "metadata": {}})
    subject = gate(fake, recorder, clock, peering="sw")
    assert await subject.check()
    assert recorder.live == {"a"}


async def test_an_unreadable_peering_object_pauses_only_after_a_lifetime() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    fake.answers[PEERING] = {"status": {}}
    fake.pages.append({"items": [sw("a")], "metadata": {}})
    subject = gate(fake, recorder, clock, peering="sw", peering_lifetime=20)
    assert await subject.check()

    fake.answers[PEERING] = ApiError(503, "ServiceUnavailable", "etcd is down")
    clock.now = EPOCH + timedelta(seconds=20)
    assert await subject.check()  # a blip: keep serving
    clock.now = EPOCH + timedelta(seconds=21)  # the others took us for dead by now
    assert not await subject.check()
    assert recorder.log[-1] == ("close", "")


async def test_an_unreadable_peering_object_never_activates_a_paused_replica() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    fake.answers[PEERING] = ConnectionResetError("reset")
    subject = gate(fake, recorder, clock, peering="sw")
    assert not await subject.check()
    assert recorder.log == []


async def test_a_failed_list_on_resume_is_retried_at_the_next_check() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    fake.answers[PEERING] = {"status": {}}
    fake.pages.append(ApiError(500, "InternalError", "boom"))
    subject = gate(fake, recorder, clock, peering="sw")
    assert not await subject.check()
    fake.pages.append({"items": [sw("a")], "metadata": {}})
    assert await subject.check()
    assert recorder.live == {"a"}


def test_check_interval_is_a_quarter_of_the_lifetime_within_bounds() -> None:
    fake, recorder, clock = FakeTransport(), Recorder(), Clock()
    intervals = [
        gate(fake, recorder, clock, peering="sw", peering_lifetime=life).interval for life in (2, 12, 60)
    ]
    assert intervals == [1.0, 3.0, 5.0]


def test_kopf_gets_the_peering_settings() -> None:
    from statuswatch.controller.runner import kopf_settings

    peered = kopf_settings(
        OperatorSettings(all_namespaces=True, peering="sw", priority=7, peering_lifetime=12)
    )
    assert (peered.peering.standalone, peered.peering.name, peered.peering.priority) == (False, "sw", 7)
    assert (peered.peering.lifetime, peered.peering.clusterwide) == (12, True)
    assert kopf_settings(OperatorSettings()).peering.standalone
