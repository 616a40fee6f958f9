"""Reader options and lifecycle: relist bounds, type mapping, close semantics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from statuswatch.watchlist import ClusterConfig, Reader, RetrieveType
from statuswatch.watchlist.testing import HANG, FakeTransport, bookmark

pytestmark = pytest.mark.timeout(10)

NOWHERE = ClusterConfig(server="http://127.0.0.1:9")  # never contacted: these tests do not start a reader


@pytest.mark.parametrize(
    "relist",
    [timedelta(minutes=59), timedelta(days=7, seconds=1), timedelta(0), timedelta(hours=-2), 3600],
)
def test_relist_out_of_bounds_names_the_bounds(relist: object) -> None:
    with pytest.raises(ValueError, match=r"between 1 hour and 7 days"):
        Reader(RetrieveType.POD, config=NOWHERE, relist=relist)  # type: ignore[arg-type]


@pytest.mark.parametrize("relist", [None, timedelta(hours=1), timedelta(days=7), timedelta(hours=30)])
def test_relist_within_bounds(relist: timedelta | None) -> None:
    reader = Reader(RetrieveType.POD, config=NOWHERE, relist=relist)
    assert reader.relist == relist


def test_type_mapping() -> None:
    assert Reader(RetrieveType.POD | RetrieveType.DEPLOYMENT, config=NOWHERE).kinds == [
        ("", "Pod"),
        ("apps", "Deployment"),
    ]
    rbac = Reader(RetrieveType.RBAC, config=NOWHERE).kinds
    assert sorted(k for _, k in rbac) == ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]
    assert {g for g, _ in rbac} == {"rbac.authorization.k8s.io"}
    every = RetrieveType(0)
    for flag in RetrieveType:
        every |= flag
    assert len(list(RetrieveType)) == 9
    assert len(Reader(every, config=NOWHERE).kinds) == 13
    with pytest.raises(ValueError, match="at least one"):
        Reader(RetrieveType(0), config=NOWHERE)
    with pytest.raises(ValueError, match="filter_size"):
        Reader(RetrieveType.POD, config=NOWHERE, filter_size=-1)


@pytest.mark.looptime
async def test_close_ends_iteration_and_is_safe_twice() -> None:
    api = FakeTransport()
    api.script_watch("/api/v1/pods", [bookmark("1", end=True, kind="Pod"), HANG])
    api.script_watch("/api/v1/nodes", [bookmark("1", end=True, kind="Node"), HANG])
    async with Reader(RetrieveType.POD | RetrieveType.NODE, transport=api) as reader:
        changes: list[object] = []

        async def consume() -> None:
            async for change in reader:
                changes.append(change)

        task = asyncio.create_task(consume())
        await asyncio.sleep(600)
        assert not task.done()
        assert api.open_watches == 2
        await reader.close()
        await asyncio.wait_for(task, 2)
        assert api.open_watches == 0
        await reader.close()
    assert changes == []
    with pytest.raises(StopAsyncIteration):
        await anext(reader)
    with pytest.raises(RuntimeError, match="closed"):
        await reader.start()
