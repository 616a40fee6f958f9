"""The benchmark's peers that run as their own processes, so each is counted apart at the API server.

``direct_poller`` is statuswatch's polling engine with direct GETs (kstatus's non-cached path);
``kstatus_go`` builds and finds the Go harness in ``benchmarks/kstatus-go`` (the real cli-utils poller).
"""
