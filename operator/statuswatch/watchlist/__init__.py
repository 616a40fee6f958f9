"""The watchlist reader: one shared, streaming view of the cluster.

One watch stream per resource type and namespace, fed by the Kubernetes WatchList API (streaming initial
state, with LIST+WATCH as fallback), shared by every consumer so API load does not grow with the number of
StatusWatches. Objects are projected at ingest to what status computation reads.

- :class:`Reader` / :class:`RetrieveType`: every change to chosen built-in types, as one async iterator.
- :class:`SharedView` / :class:`Subscription`: any group/kind on demand, with store reads, sync state and
  :class:`StreamHealth`; optionally one cluster-wide stream per kind for many namespaces.
- :class:`Transport` / :class:`Request`: what all of it asks of an API client (``send`` and ``stream``),
  with :func:`get_json` / :func:`request_json` on top; :mod:`.testing` has a scripted fake.
- :class:`ApiClient` / :class:`ApiError`: the HTTP client, also for direct GETs; :class:`ClusterConfig` /
  :class:`Credentials`: what a kubeconfig or the pod's service account gives, for kopf's login too.
- :class:`RestMapper` / :class:`ResourceType` / :class:`NoMatchError`: discovery, also of typed names.
"""

from .config import ClusterConfig, ConfigError, Credentials
from .connection import ApiClient, ApiError, HeaderTimeout, InactivityTimeout
from .discovery import NoMatchError, ResourceType, RestMapper, UnknownResourceError
from .reader import RELIST_MAX, RELIST_MIN, Reader, RetrieveType
from .selector import SelectorError, compile_selector, matches
from .store import Change, ChangeType
from .stream import Backoff, Stream, StreamHealth, StreamSettings
from .transport import Request, Transport, get_json, request_json
from .view import SharedView, StreamKey, Subscription

__all__ = [
    "RELIST_MAX",
    "RELIST_MIN",
    "ApiClient",
    "ApiError",
    "Backoff",
    "Change",
    "ChangeType",
    "ClusterConfig",
    "ConfigError",
    "Credentials",
    "HeaderTimeout",
    "InactivityTimeout",
    "NoMatchError",
    "Reader",
    "Request",
    "ResourceType",
    "RestMapper",
    "RetrieveType",
    "SelectorError",
    "SharedView",
    "Stream",
    "StreamHealth",
    "StreamKey",
    "StreamSettings",
    "Subscription",
    "Transport",
    "UnknownResourceError",
    "compile_selector",
    "get_json",
    "matches",
    "request_json",
]
