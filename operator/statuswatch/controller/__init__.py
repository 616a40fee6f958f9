"""The operator: kopf handlers that keep each StatusWatch's status up to date (not built yet)."""
