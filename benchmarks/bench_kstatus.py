"""How fast kstatus runs, next to what decoding the same objects costs.

Status is recomputed on every change the shared view sees, so computing a status must cost less than
the ``json.loads`` that brought the object in. This benchmark builds a realistic mix of objects as an API
server sends them (managedFields, annotations, full pod specs), then measures in one run: decoding,
computing on the full objects, projecting, and computing on projected objects.

Run: ``python -m benchmarks.bench_kstatus [--objects N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from typing import Any

from statuswatch.kstatus import compute, project


def _metadata(kind: str, index: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"{kind.lower()}-{index}",
        "namespace": "shop",
        "uid": f"6f1c2a8e-0000-4000-8000-{index:012d}",
        "resourceVersion": str(100000 + index),
        "generation": 3,
        "creationTimestamp": "2026-11-21T10:00:00Z",
        "labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop", "tier": "frontend"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                {"kind": kind, "spec": {"x": "y" * 300}}
            ),
            "deployment.kubernetes.io/revision": "3",
        },
        "managedFields": [
            {
                "manager": manager,
                "operation": "Update",
                "apiVersion": "apps/v1",
                "time": "2026-11-21T10:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
                    "f:spec": {"f:replicas": {}},
                },
            }
            for manager in ("kubectl-client-side-apply", "kube-controller-manager")
        ],
        **extra,
    }


def _conditions(*pairs: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [
        {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": f"{type_} is {status} because {reason}",
            "lastUpdateTime": "2026-11-21T10:01:00Z",
            "lastTransitionTime": "2026-11-21T10:01:00Z",
        }
        for type_, status, reason in pairs
    ]


_CONTAINER = {
    "name": "web",
    "image": "registry.example/shop/web:1.4.2",
    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
    "env": [{"name": f"VAR_{n}", "value": f"value-{n}"} for n in range(8)],
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5},
    "terminationMessagePath": "/dev/termination-log",
    "imagePullPolicy": "IfNotPresent",
}
_POD_SPEC = {"containers": [_CONTAINER], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}


def deployment(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata("Deployment", i),
        "spec": {
            "replicas": 3,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}, "spec": _POD_SPEC},
        },
        "status": {
            "observedGeneration": 3,
            "replicas": 3,
            "updatedReplicas": 3,
            "readyReplicas": 2 + i % 2,
            "availableReplicas": 2 + i % 2,
            "conditions": _conditions(
                ("Available", "True", "MinimumReplicasAvailable"),
                ("Progressing", "True", "NewReplicaSetAvailable"),
            ),
        },
    }


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(
            "Pod",
            i,
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-1",
                    "uid": "r",
                    "controller": True,
                }
            ],
        ),
        "spec": {**_POD_SPEC, "nodeName": "kwok-node-1"},
        "status": {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": f"10.1.0.{i % 250}",
            "startTime": "2026-11-21T10:00:05Z",
            "conditions": _conditions(
                ("PodScheduled", "True", ""),
                ("Initialized", "True", ""),
                ("ContainersReady", "True", ""),
                ("Ready", "True" if i % 3 else "False", ""),
            ),
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": True,
                    "restartCount": 0,
                    "image": _CONTAINER["image"],
                    "imageID": "registry.example/shop/web@sha256:" + "0" * 64,
                    "containerID": "containerd://" + "1" * 64,
                    "state": {"running": {"startedAt": "2026-11-21T10:00:06Z"}},
                }
            ],
        },
    }


def replica_set(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": _metadata("ReplicaSet", i),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"pod-template-hash": "abc"}},
            "template": _POD_SPEC,
        },
        "status": {
            "observedGeneration": 3,
            "replicas": 3,
            "fullyLabeledReplicas": 3,
            "readyReplicas": 3,
            "availableReplicas": 3,
        },
    }


def service(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata("Service", i),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "10.0.0.12",
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "selector": {"app.kubernetes.io/name": "web"},
        },
        "status": {"loadBalancer": {}},
    }


def config_map(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata("ConfigMap", i),
        "data": {f"key-{n}": "v" * 64 for n in range(10)},
    }


def custom_resource(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "shop.example/v1",
        "kind": "Storefront",
        "metadata": _metadata("Storefront", i),
        "spec": {"theme": "dark", "replicas": 2},
        "status": {
            "observedGeneration": 3,
            "conditions": _conditions(("Ready", "True", "Reconciled"), ("Synced", "True", "Ok")),
        },
    }


#: A namespace's worth of a typical application: pods dominate, as they do in real clusters.
MIX: list[tuple[Callable[[int], dict[str, Any]], int]] = [
    (pod, 10),
    (replica_set, 3),
    (deployment, 2),
    (service, 2),
    (config_map, 2),
    (custom_resource, 1),
]


def build(count: int) -> list[bytes]:
    makers = [maker for maker, weight in MIX for _ in range(weight)]
    return [json.dumps(makers[i % len(makers)](i)).encode() for i in range(count)]


def _best(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    payloads = build(args.objects)
    decoded = [json.loads(payload) for payload in payloads]
    projected = [project(obj) for obj in decoded]
    n = len(payloads)

    timings = {
        "json.loads (full object)": _best(args.repeat, lambda: [json.loads(p) for p in payloads]),
        "compute (full object)": _best(args.repeat, lambda: [compute(obj) for obj in decoded]),
        "project": _best(args.repeat, lambda: [project(obj) for obj in decoded]),
        "compute (projected object)": _best(args.repeat, lambda: [compute(obj) for obj in projected]),
    }
    size = sum(len(p) for p in payloads) / n
    projected_size = sum(len(json.dumps(obj)) for obj in projected) / n
    print(f"kstatus benchmark: {n} objects (mix {', '.join(f'{m.__name__}x{w}' for m, w in MIX)}),")
    print(f"  mean JSON size {size:.0f} B, projected {projected_size:.0f} B; best of {args.repeat};")
    print(f"  Python {platform.python_version()} on {platform.machine()}")
    print(f"  {'operation':<28}{'per object':>12}{'per second':>14}{'vs json.loads':>15}")
    decode = timings["json.loads (full object)"]
    for name, seconds in timings.items():
        print(f"  {name:<28}{seconds / n * 1e6:>10.2f}us{n / seconds:>14,.0f}{seconds / decode:>14.2f}x")
    return timings


if __name__ == "__main__":
    main()
