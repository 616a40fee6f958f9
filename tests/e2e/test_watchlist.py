"""The watchlist reader against the real local control plane.

Initial state, live changes, an API server restart, a deletion while disconnected, 410 Gone after etcd
compaction, the LIST+WATCH fallback with the WatchList gate off, a CRD installed after start, Secrets
watched as metadata only (the value never on the wire), and typed ingest equal to the projection.

Disconnection is made with a plain TCP relay between the reader and the API server (``Relay``): it forwards
bytes (TLS passes through untouched) and can cut every connection and refuse new ones for a while, which is
what a network partition looks like to the reader. The API server on the other side is the real one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import urllib.parse
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest
import yaml

from statuswatch.cluster.testing import COMPACT_ETCD, RESTART_APISERVER, E2ECluster
from statuswatch.kstatus import compute, project
from statuswatch.watchlist import (
    ApiClient,
    ApiError,
    Change,
    ClusterConfig,
    NoMatchError,
    Reader,
    RestMapper,
    RetrieveType,
    SharedView,
    StreamSettings,
    Subscription,
)
from statuswatch.watchlist.transport import (
    METADATA_LIST_ACCEPT,
    METADATA_WATCH_ACCEPT,
    Lines,
    Request,
    get_json,
    request_json,
)

pytestmark = pytest.mark.timeout(300)


def fast(page_size: int = 500) -> StreamSettings:
    """Quick reconnects keep the tests short; the protocol is the same as with the defaults."""
    return StreamSettings(backoff=(0.2, 2.0), page_size=page_size)


class Relay:
    """A TCP relay to the API server that can be cut (a partition) and restored."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.listen_port = 0
        self.cut = False
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.disconnect()
        if self._server is not None:
            self._server.close()

    def disconnect(self) -> None:
        """Cut every open connection and refuse new ones until :meth:`reconnect`."""
        self.cut = True
        for down, up in list(self._pairs):
            down.transport.abort()
            up.transport.abort()
        self._pairs.clear()

    def reconnect(self) -> None:
        self.cut = False

    async def _handle(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        if self.cut:
            down_w.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection(self.host, self.port)
        except OSError:
            down_w.transport.abort()
            return
        pair = (down_w, up_w)
        self._pairs.add(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(down_r, up_w), pipe(up_r, down_w))
        self._pairs.discard(pair)


# -- helpers ---------------------------------------------------------------------------------------


def config_of(cluster: E2ECluster) -> ClusterConfig:
    return ClusterConfig.from_kubeconfig(cluster.kubeconfig)


@contextlib.asynccontextmanager
async def relayed(cluster: E2ECluster) -> AsyncIterator[tuple[Relay, ClusterConfig]]:
    cfg = config_of(cluster)
    url = urllib.parse.urlsplit(cfg.server)
    assert url.hostname in ("127.0.0.1", "localhost"), "the relay assumes a local API server"
    async with Relay(url.hostname, url.port or 443) as relay:
        yield relay, dataclasses.replace(cfg, server=f"https://{url.hostname}:{relay.listen_port}")


async def create_cm(api: ApiClient, ns: str, name: str, **data: str) -> dict[str, Any]:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
    return await request_json(api, "POST", f"/api/v1/namespaces/{ns}/configmaps", body=body)


async def patch_cm(api: ApiClient, ns: str, name: str, **data: str) -> dict[str, Any]:
    return await request_json(
        api,
        "PATCH",
        f"/api/v1/namespaces/{ns}/configmaps/{name}",
        body={"data": data},
        content_type="application/merge-patch+json",
    )


async def delete_cm(api: ApiClient, ns: str, name: str) -> None:
    await request_json(api, "DELETE", f"/api/v1/namespaces/{ns}/configmaps/{name}")


async def server_state(api: ApiClient, ns: str) -> dict[str, tuple[str, str]]:
    """name -> (uid, resourceVersion) of every ConfigMap in ``ns``, as the API server has them."""
    items = (await get_json(api, f"/api/v1/namespaces/{ns}/configmaps"))["items"]
    return {o["metadata"]["name"]: (o["metadata"]["uid"], o["metadata"]["resourceVersion"]) for o in items}


def view_state(sub: Subscription) -> dict[str, tuple[str, str]]:
    return {
        o["metadata"]["name"]: (o["metadata"]["uid"], o["metadata"]["resourceVersion"]) for o in sub.list()
    }


async def next_changes(sub: Subscription, n: int, within: float = 60) -> list[Change]:
    async with asyncio.timeout(within):
        return [await anext(sub) for _ in range(n)]


async def no_more_changes(sub: Subscription, wait: float = 2.0) -> None:
    try:
        change = await asyncio.wait_for(anext(sub), wait)
    except TimeoutError:
        return
    pytest.fail(f"unexpected change {change.type} {change.object['metadata']['name']}")


def brief(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.type, c.object["metadata"]["name"]) for c in changes]


def per_object(changes: list[Change]) -> dict[str, list[str]]:
    """Change types per object name, in the order they came."""
    out: dict[str, list[str]] = {}
    for change in changes:
        out.setdefault(change.object["metadata"]["name"], []).append(change.type)
    return out


async def wait_until(sub: Subscription, condition: Callable[[], bool], within: float = 90) -> None:
    """Until ``condition`` holds; re-checked whenever the subscription's stream changes state."""
    async with asyncio.timeout(within):
        while not condition():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):  # the serving stream may change under a subscription
                    await sub.stream.wait_changed()


class ErrorLog:
    """Records every distinct error a subscription's stream shows, while it runs."""

    def __init__(self, sub: Subscription):
        self.errors: list[Exception] = []
        self._sub = sub
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            error = self._sub.error
            if error is not None and (not self.errors or self.errors[-1] is not error):
                self.errors.append(error)
            await self._sub.stream.wait_changed()

    def stop(self) -> None:
        self._task.cancel()


# The system ConfigMap every namespace gets (kube-root-ca.crt) is part of the state too.
def names(sub: Subscription) -> set[str]:
    return {o["metadata"]["name"] for o in sub.list()} - {"kube-root-ca.crt"}


# -- tests -----------------------------------------------------------------------------------------


async def test_initial_state_then_add_modify_delete(cluster: E2ECluster, namespace: str) -> None:
    async with ApiClient(config_of(cluster)) as api:
        await asyncio.gather(*(create_cm(api, namespace, f"cm-{i:02d}", v="0") for i in range(30)))
        async with SharedView(api, settings=fast()) as view:
            sub = await view.subscribe("", "ConfigMap", namespace).open()
            await sub.wait_synced()
            assert sub.stream.sync_mode == "watchlist"
            assert view_state(sub) == await server_state(api, namespace)
            initial = await next_changes(sub, len(view_state(sub)))
            assert {c.type for c in initial} == {"ADDED"}
            assert {c.object["metadata"]["name"] for c in initial} - {"kube-root-ca.crt"} == {
                f"cm-{i:02d}" for i in range(30)
            }
            # Projected at ingest: identity kept, managedFields and data gone.
            obj = sub.get(namespace, "cm-00")
            assert obj is not None
            assert obj["apiVersion"] == "v1"
            assert obj["kind"] == "ConfigMap"
            assert obj["metadata"]["namespace"] == namespace
            assert obj["metadata"]["uid"]
            assert "managedFields" not in obj["metadata"]
            assert "data" not in obj

            added = await create_cm(api, namespace, "new", v="1")
            modified = await patch_cm(api, namespace, "cm-01", v="2")
            await delete_cm(api, namespace, "cm-02")
            changes = await next_changes(sub, 3)
            assert brief(changes) == [("ADDED", "new"), ("MODIFIED", "cm-01"), ("DELETED", "cm-02")]
            assert changes[0].object["metadata"]["uid"] == added["metadata"]["uid"]
            assert changes[1].object["metadata"]["resourceVersion"] == modified["metadata"]["resourceVersion"]
            await no_more_changes(sub)
            assert view_state(sub) == await server_state(api, namespace)
            await sub.close()


async def test_reader_reports_deployments_and_their_pods(cluster: E2ECluster, namespace: str) -> None:
    def deployment(name: str) -> str:
        labels = {"app": name}
        return yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}]},
                    },
                },
            }
        )

    await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=deployment("before"))
    seen: dict[tuple[str, str], list[Change]] = {}
    async with Reader(RetrieveType.DEPLOYMENT | RetrieveType.POD, config=config_of(cluster)) as reader:

        async def collect_until(done: Any) -> None:
            if done():
                return
            async with asyncio.timeout(120):
                async for change in reader:
                    meta = change.object["metadata"]
                    if meta.get("namespace") == namespace:
                        seen.setdefault((change.object["kind"], meta["name"]), []).append(change)
                    if done():
                        return

        await collect_until(lambda: ("Deployment", "before") in seen)
        first = seen[("Deployment", "before")][0]
        assert first.type == "ADDED"
        for key in ("name", "namespace", "uid", "resourceVersion"):
            assert first.object["metadata"][key]
        assert first.object["apiVersion"] == "apps/v1"
        assert "template" not in first.object.get("spec", {})

        await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=deployment("after"))

        def pods_of(name: str) -> list[str]:
            return [n for (k, n) in seen if k == "Pod" and n.startswith(f"{name}-")]

        await collect_until(lambda: ("Deployment", "after") in seen and len(pods_of("after")) == 2)
        await asyncio.to_thread(
            cluster.kubectl, "delete", "deployment", "after", "-n", namespace, "--wait=false"
        )
        await collect_until(lambda: seen[("Deployment", "after")][-1].type == "DELETED")
        assert seen[("Deployment", "after")][0].type == "ADDED"
        assert "MODIFIED" in [c.type for c in seen[("Deployment", "after")]]
        assert len(pods_of("before")) == 2
        assert reader.synced()
    # Iteration has ended with the context.
    with pytest.raises(StopAsyncIteration):
        await anext(reader)


async def test_reader_serves_every_retrieve_type(cluster: E2ECluster) -> None:
    every = RetrieveType(0)
    for flag in RetrieveType:
        every |= flag
    # Kinds a fresh local control plane always has objects of.
    always = {"Node", "Namespace", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service"}
    received: set[str] = set()
    all_seen = asyncio.Event()
    async with Reader(every, config=config_of(cluster)) as reader:

        async def consume() -> None:
            async for change in reader:
                received.add(change.object["kind"])
                if always <= received:
                    all_seen.set()

        consumer = asyncio.create_task(consume())
        async with asyncio.timeout(120):
            for stream in reader.view.streams.values():
                await stream.wait_synced()
        streams = list(reader.view.streams.values())
        assert reader.synced()
        assert len(streams) == 13
        assert {s.sync_mode for s in streams} == {"watchlist"}
        stored = {obj["kind"] for s in streams for obj in s.store.values()}
        assert always <= stored
        await asyncio.wait_for(all_seen.wait(), 30)
        await reader.close()
        await asyncio.wait_for(consumer, 10)


async def test_apiserver_restart_mid_stream(cluster: E2ECluster, namespace: str, needs: Any) -> None:
    needs(RESTART_APISERVER)
    async with ApiClient(config_of(cluster)) as api:
        for i in range(5):
            await create_cm(api, namespace, f"cm-{i}")
        async with (
            SharedView(api, settings=fast()) as view,
            view.subscribe("", "ConfigMap", namespace) as sub,
        ):
            await sub.wait_synced()
            await next_changes(sub, len(view_state(sub)))
            before = sub.health()
            assert before.connected
            assert before.error is None
            seen = ErrorLog(sub)
            await asyncio.to_thread(cluster.restart_apiserver)
            await patch_cm(api, namespace, "cm-0", v="after-restart")
            await create_cm(api, namespace, "after-restart")
            changes = await next_changes(sub, 2)
            # Order depends on whether they arrive live or in a relist (sorted by name) after a 410.
            assert sorted(brief(changes)) == [("ADDED", "after-restart"), ("MODIFIED", "cm-0")]
            await no_more_changes(sub)  # nothing replayed, nothing invented
            await wait_until(sub, lambda: sub.health().connected and sub.error is None)
            after = sub.health()
            assert after.reconnects > before.reconnects
            assert after.failing_since is None
            # While the server was down the failure was visible, not hidden behind the old store.
            assert seen.errors, "no error was visible while the API server was down"
            seen.stop()
            assert view_state(sub) == await server_state(api, namespace)


async def test_deletion_while_disconnected_is_reported(cluster: E2ECluster, namespace: str) -> None:
    async with relayed(cluster) as (relay, cfg), ApiClient(config_of(cluster)) as direct:
        for i in range(3):
            await create_cm(direct, namespace, f"cm-{i}")
        async with (
            ApiClient(cfg) as api,
            SharedView(api, settings=fast()) as view,
            view.subscribe("", "ConfigMap", namespace) as sub,
        ):
            await sub.wait_synced()
            await next_changes(sub, len(view_state(sub)))
            relay.disconnect()
            await delete_cm(direct, namespace, "cm-1")
            await asyncio.sleep(3)  # the reader is retrying against a refusing relay meanwhile
            assert sub.get(namespace, "cm-1") is not None
            relay.reconnect()
            changes = await next_changes(sub, 1)
            assert brief(changes) == [("DELETED", "cm-1")]
            await no_more_changes(sub)
            assert names(sub) == {"cm-0", "cm-2"}


async def test_gone_after_compaction_relists_without_losing_or_inventing(
    cluster: E2ECluster, namespace: str, needs: Any
) -> None:
    needs(COMPACT_ETCD)
    needs(RESTART_APISERVER)
    async with relayed(cluster) as (relay, cfg), ApiClient(config_of(cluster)) as direct:
        for i in range(6):
            await create_cm(direct, namespace, f"cm-{i}")
        async with (
            ApiClient(cfg) as api,
            SharedView(api, settings=fast()) as view,
            view.subscribe("", "ConfigMap", namespace) as sub,
        ):
            await sub.wait_synced()
            await next_changes(sub, len(view_state(sub)))
            relay.disconnect()
            await delete_cm(direct, namespace, "cm-0")
            await delete_cm(direct, namespace, "cm-1")
            await patch_cm(direct, namespace, "cm-2", v="changed")
            await create_cm(direct, namespace, "cm-new")
            # Same name, new object: must come out as a delete and an add.
            await delete_cm(direct, namespace, "cm-3")
            await create_cm(direct, namespace, "cm-3", v="reborn")
            await asyncio.to_thread(cluster.compact_etcd)
            await asyncio.to_thread(cluster.restart_apiserver)
            relay.reconnect()
            changes = await next_changes(sub, 6)
            # Across objects the order is the relist's; for each object it must be the real one.
            assert per_object(changes) == {
                "cm-0": ["DELETED"],
                "cm-1": ["DELETED"],
                "cm-2": ["MODIFIED"],
                "cm-new": ["ADDED"],
                "cm-3": ["DELETED", "ADDED"],
            }
            reborn = [c for c in changes if c.object["metadata"]["name"] == "cm-3"]
            assert reborn[0].object["metadata"]["uid"] != reborn[1].object["metadata"]["uid"]
            await no_more_changes(sub)
            assert sub.stream.stats["gone"] >= 1
            assert sub.health().relists >= 1
            assert sub.error is None
            assert view_state(sub) == await server_state(direct, namespace)


async def test_fallback_to_list_watch_with_watchlist_gate_off(
    cluster: E2ECluster, namespace: str, needs: Any
) -> None:
    needs(RESTART_APISERVER)
    await asyncio.to_thread(cluster.restart_apiserver, ["--feature-gates=WatchList=false"])
    try:
        async with ApiClient(config_of(cluster)) as api:
            for i in range(4):
                await create_cm(api, namespace, f"cm-{i}")
            async with (
                SharedView(api, settings=fast(page_size=2)) as view,
                view.subscribe("", "ConfigMap", namespace) as sub,
            ):
                await sub.wait_synced()
                assert sub.stream.sync_mode == "list"
                assert sub.health().fallbacks == 1
                assert api.capabilities["watchlist:/ConfigMap"] is False
                assert view_state(sub) == await server_state(api, namespace)
                await next_changes(sub, len(view_state(sub)))
                await patch_cm(api, namespace, "cm-0", v="x")
                await delete_cm(api, namespace, "cm-1")
                assert brief(await next_changes(sub, 2)) == [("MODIFIED", "cm-0"), ("DELETED", "cm-1")]
                # Remembered per type: another stream of the kind goes straight to LIST; another kind
                # asks for itself (an aggregated API refusing WatchList says nothing about the others).
                async with view.subscribe("", "ConfigMap", "default", changes=False) as again:
                    await again.wait_synced()
                    assert again.stream.sync_mode == "list"
                    assert again.health().fallbacks == 0
                async with view.subscribe("", "Namespace", changes=False) as ns_sub:
                    await ns_sub.wait_synced()
                    assert ns_sub.stream.sync_mode == "list"
                    assert ns_sub.health().fallbacks == 1
                    assert ns_sub.get(None, namespace) is not None
    finally:
        await asyncio.to_thread(cluster.restart_apiserver)


async def test_crd_installed_after_start_is_served(cluster: E2ECluster, namespace: str) -> None:
    group = f"e2e{uuid.uuid4().hex[:8]}.statuswatch.io"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    gadget = {
        "apiVersion": f"{group}/v1",
        "kind": "Gadget",
        "metadata": {"name": "g1", "namespace": namespace},
    }
    async with ApiClient(config_of(cluster)) as api:
        mapper = RestMapper(api, refresh_interval=1.0)
        async with (
            SharedView(api, mapper, settings=fast()) as view,
            view.subscribe(group, "Gadget", namespace) as sub,
        ):
            with pytest.raises(NoMatchError):
                await sub.wait_synced()
            await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=json.dumps(crd))
            try:
                await asyncio.to_thread(
                    cluster.kubectl, "wait", "--for=condition=Established", f"crd/gadgets.{group}"
                )
                await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=json.dumps(gadget))
                changes = await next_changes(sub, 1)
                assert brief(changes) == [("ADDED", "g1")]
                assert changes[0].object["apiVersion"] == f"{group}/v1"
                assert sub.error is None
                await sub.wait_synced()
            finally:
                await asyncio.to_thread(cluster.kubectl, "delete", "crd", f"gadgets.{group}", "--wait=false")


async def test_forbidden_type_reports_the_error(
    cluster: E2ECluster, namespace: str, service_account_kubeconfig: Any
) -> None:
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    kubeconfig = service_account_kubeconfig(rules)
    async with ApiClient(ClusterConfig.from_kubeconfig(kubeconfig)) as api, SharedView(api) as view:
        async with view.subscribe("", "ConfigMap", namespace, changes=False) as allowed:
            await allowed.wait_synced()
        async with view.subscribe("", "Secret", namespace, changes=False) as denied:
            with pytest.raises(ApiError) as info:
                await denied.wait_synced()
            assert info.value.status == 403
            assert denied.error is info.value


async def test_access_revoked_then_restored(
    cluster: E2ECluster, namespace: str, service_account_kubeconfig: Any
) -> None:
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    kubeconfig = service_account_kubeconfig(rules, name="reader")
    binding = await asyncio.to_thread(
        cluster.kubectl, "get", "rolebinding", "reader", "-n", namespace, "-o", "json"
    )
    restore = json.loads(binding.stdout)
    for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        restore["metadata"].pop(key, None)
    # Short server-side watch timeouts make the stream ask again soon (RBAC is checked per request).
    settings = StreamSettings(backoff=(0.2, 1.0), watch_timeout=(2, 2))
    async with (
        ApiClient(config_of(cluster)) as admin,
        ApiClient(ClusterConfig.from_kubeconfig(kubeconfig)) as api,
    ):
        await create_cm(admin, namespace, "before")
        async with (
            SharedView(api, settings=settings) as view,
            view.subscribe("", "ConfigMap", namespace) as sub,
        ):
            await sub.wait_synced()
            await next_changes(sub, len(view_state(sub)))
            await asyncio.to_thread(cluster.kubectl, "delete", "rolebinding", "reader", "-n", namespace)
            await wait_until(sub, lambda: isinstance(sub.error, ApiError))
            assert isinstance(sub.error, ApiError)
            assert sub.error.status == 403
            health = sub.health()
            assert health.synced  # it had a full state; the error says it is stale now
            assert health.failing_since is not None
            await create_cm(admin, namespace, "while-revoked")
            await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=json.dumps(restore))
            await wait_until(sub, lambda: sub.error is None)
            assert sub.health().failing_since is None
            assert brief(await next_changes(sub, 1)) == [("ADDED", "while-revoked")]
            await no_more_changes(sub)
            assert view_state(sub) == await server_state(admin, namespace)


def gadget_crd(group: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


async def test_crd_deleted_and_recreated(cluster: E2ECluster, namespace: str) -> None:
    group = f"e2e{uuid.uuid4().hex[:8]}.statuswatch.io"
    crd = json.dumps(gadget_crd(group))

    def gadget(name: str) -> str:
        return json.dumps(
            {
                "apiVersion": f"{group}/v1",
                "kind": "Gadget",
                "metadata": {"name": name, "namespace": namespace},
            }
        )

    async def install() -> None:
        await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=crd)
        await asyncio.to_thread(
            cluster.kubectl, "wait", "--for=condition=Established", f"crd/gadgets.{group}"
        )

    settings = StreamSettings(backoff=(0.2, 1.0), watch_timeout=(3, 3))
    await install()
    try:
        await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=gadget("g1"))
        async with ApiClient(config_of(cluster)) as api:
            mapper = RestMapper(api, refresh_interval=1.0)
            async with (
                SharedView(api, mapper, settings=settings) as view,
                view.subscribe(group, "Gadget", namespace) as sub,
            ):
                await sub.wait_synced()
                assert brief(await next_changes(sub, 1)) == [("ADDED", "g1")]
                await asyncio.to_thread(cluster.kubectl, "delete", "crd", f"gadgets.{group}", "--wait=true")
                await wait_until(sub, lambda: isinstance(sub.error, NoMatchError))
                assert sub.health().failing_since is not None
                await install()
                await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=gadget("g2"))
                await wait_until(sub, lambda: sub.error is None and sub.get(namespace, "g2") is not None)
                assert sub.get(namespace, "g1") is None
                changes = per_object(await next_changes(sub, 2))
                assert changes == {"g1": ["DELETED"], "g2": ["ADDED"]}
                assert sub.health().relists >= 1
    finally:
        await asyncio.to_thread(
            cluster.kubectl, "delete", "crd", f"gadgets.{group}", "--wait=false", "--ignore-not-found"
        )


async def test_aggregated_api_that_is_down_affects_only_its_stream(
    cluster: E2ECluster, namespace: str
) -> None:
    group = f"e2edown{uuid.uuid4().hex[:8]}.statuswatch.io"
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "nowhere", "namespace": namespace},
        "spec": {"ports": [{"port": 443, "targetPort": 8443}]},  # no selector, no endpoints
    }
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": f"v1.{group}"},
        "spec": {
            "group": group,
            "version": "v1",
            "service": {"namespace": namespace, "name": "nowhere", "port": 443},
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 1000,
            "versionPriority": 15,
        },
    }
    await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=json.dumps(service))
    await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=json.dumps(api_service))
    try:
        async with ApiClient(config_of(cluster)) as api:
            with pytest.raises(ApiError) as info:
                await get_json(api, f"/apis/{group}/v1")
            assert info.value.status == 503
            async with (
                SharedView(api, RestMapper(api, refresh_interval=1.0), settings=fast()) as view,
                view.subscribe(group, "Thing", namespace, changes=False) as down,
                view.subscribe("", "ConfigMap", namespace, changes=False) as fine,
            ):
                await fine.wait_synced()
                await wait_until(down, lambda: down.error is not None)
                assert not down.synced
                assert down.health().failing_since is not None
                assert fine.error is None
                assert fine.health().connected
                health = view.health()
                assert health[(group, "Thing", None, namespace)].error is not None
                assert health[("", "ConfigMap", None, namespace)].error is None
    finally:
        await asyncio.to_thread(cluster.kubectl, "delete", "apiservice", f"v1.{group}", "--ignore-not-found")


async def test_cluster_wide_stream_serves_namespaced_subscribers(cluster: E2ECluster, namespace: str) -> None:
    others = [f"{namespace}-{i}"[:63] for i in (2, 3)]
    for name in others:
        await asyncio.to_thread(cluster.kubectl, "create", "namespace", name)
    namespaces = [namespace, *others]
    try:
        async with (
            ApiClient(config_of(cluster)) as api,
            SharedView(api, cluster_wide_threshold=2, settings=fast()) as view,
        ):
            for ns in namespaces:
                await create_cm(api, ns, f"cm-{ns[-1]}")
            subs = [await view.subscribe("", "ConfigMap", ns).open() for ns in namespaces]
            for sub in subs:
                await sub.wait_synced()
            wide = ("", "ConfigMap", None, None)
            await wait_until(subs[0], lambda: list(view.streams) == [wide])
            assert all(sub.stream is view.streams[wide] for sub in subs)
            assert view.streams[wide].stats["connects"] == 1  # one watch connection for the kind
            for sub, ns in zip(subs, namespaces, strict=True):
                initial = await next_changes(sub, len(view_state(sub)))
                assert {c.object["metadata"]["namespace"] for c in initial} == {ns}
                assert names(sub) == {f"cm-{ns[-1]}"}
            for ns in namespaces:
                await patch_cm(api, ns, f"cm-{ns[-1]}", v="x")
            for sub, ns in zip(subs, namespaces, strict=True):
                (change,) = await next_changes(sub, 1)
                assert (change.type, change.object["metadata"]["namespace"]) == ("MODIFIED", ns)
                await no_more_changes(sub, wait=1.0)
            for sub in subs:
                await sub.close()
            assert view.streams == {}
    finally:
        for name in others:
            await asyncio.to_thread(cluster.kubectl, "delete", "namespace", name, "--wait=false")


class Recording(ApiClient):
    """An API client that keeps every byte of every body and watch line it received."""

    def __init__(self, config: ClusterConfig) -> None:
        super().__init__(config)
        self.received: list[bytes] = []
        self.accepts: list[str | None] = []

    async def send(self, request: Request) -> bytes:
        body = await super().send(request)
        # What the view read of the watched kind (not discovery, not the test's own writes).
        if request.method == "GET" and request.path.endswith("/secrets"):
            self.accepts.append(request.accept)
            self.received.append(body)
        return body

    async def stream(self, request: Request) -> Lines:
        self.accepts.append(request.accept)
        return self._recorded(await super().stream(request))

    async def _recorded(self, lines: Lines) -> AsyncGenerator[bytes, None]:
        try:
            async for line in lines:
                self.received.append(line)
                yield line
        finally:
            await lines.aclose()


@pytest.mark.parametrize("mode", ["watchlist", "list"])
async def test_secrets_are_watched_as_metadata_only(cluster: E2ECluster, namespace: str, mode: str) -> None:
    value = uuid.uuid4().hex
    encoded = base64.b64encode(value.encode())
    body = {"metadata": {"name": "creds", "labels": {"app": "shop"}}, "stringData": {"password": value}}
    api = Recording(config_of(cluster))
    async with api:
        await request_json(api, "POST", f"/api/v1/namespaces/{namespace}/secrets", body=body)
        if mode == "list":
            api.capabilities["watchlist"] = False
        async with SharedView(api, settings=fast()) as view, view.subscribe("", "Secret", namespace) as sub:
            await sub.wait_synced()
            assert sub.stream.sync_mode == mode  # WatchList works with PartialObjectMetadata
            assert sub.stream.metadata_only
            stored = sub.get(namespace, "creds")
            assert stored is not None
            assert (stored["apiVersion"], stored["kind"]) == ("v1", "Secret")
            assert stored["metadata"]["labels"] == {"app": "shop"}
            assert compute(stored).status == "Current"
            await next_changes(sub, len(sub.list()))

            patch = {"metadata": {"labels": {"app": "shop", "rotated": "yes"}}, "stringData": {"x": value}}
            await request_json(
                api,
                "PATCH",
                f"/api/v1/namespaces/{namespace}/secrets/creds",
                body=patch,
                content_type="application/merge-patch+json",
            )
            (modified,) = await next_changes(sub, 1)
            assert modified.type == "MODIFIED"
            assert modified.object["metadata"]["labels"]["rotated"] == "yes"
            await request_json(api, "DELETE", f"/api/v1/namespaces/{namespace}/secrets/creds")
            assert brief(await next_changes(sub, 1)) == [("DELETED", "creds")]

            everything = json.dumps([*sub.stream.store.values(), modified.object])
            assert '"data"' not in everything
            assert '"stringData"' not in everything
            # Not only dropped: never sent. No byte the stream received holds the value.
            wire = b"".join(api.received)
            assert wire
            assert value.encode() not in wire
            assert encoded not in wire
            assert b"PartialObjectMetadata" in wire
            assert set(api.accepts) <= {METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT}


async def test_typed_ingest_equals_the_projection_of_live_objects(
    cluster: E2ECluster, namespace: str
) -> None:
    manifest = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: registry.example/web:1}}, {{name: side, image: registry.example/s:1}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: once, namespace: {namespace}}}
spec:
  template:
    spec: {{restartPolicy: Never, containers: [{{name: j, image: registry.example/j:1}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {namespace}}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
"""
    await asyncio.to_thread(cluster.kubectl, "apply", "-f", "-", input=manifest)
    kinds = [("", "Pod"), ("apps", "Deployment"), ("apps", "ReplicaSet"), ("batch", "Job"), ("", "Service")]
    kinds += [("", "Event"), ("", "ServiceAccount")]
    async with ApiClient(config_of(cluster)) as api, SharedView(api, settings=fast()) as view:
        subs = [await view.subscribe(group, kind, namespace, changes=False).open() for group, kind in kinds]
        pods = subs[0]
        await wait_until(pods, lambda: len([p for p in pods.list() if p["status"].get("phase")]) >= 4)
        compared: dict[str, int] = {}
        for sub in subs:
            await sub.wait_synced()
            stream = sub.stream
            resource = stream.resource
            assert resource is not None
            full = await get_json(api, resource.path(namespace))
            for item in full["items"]:
                item = {"apiVersion": resource.api_version, "kind": resource.kind, **item}
                meta = item["metadata"]
                stored = sub.get(namespace, meta["name"])
                if stored is None or stored["metadata"]["resourceVersion"] != meta["resourceVersion"]:
                    continue  # changed in between: a later version, compared on the next kind's turn
                assert stored == project(item), f"{resource.kind} {meta['name']}"
                assert compute(stored) == compute(item)
                compared[resource.kind] = compared.get(resource.kind, 0) + 1
            assert stream._decoder is not None
            assert stream._decoder.enabled  # the audit found no difference
            assert stream._decoder.full_decodes == 0
        assert compared.get("Pod", 0) >= 3
        assert {"Deployment", "ReplicaSet", "Job", "Service", "Event"} <= set(compared)
