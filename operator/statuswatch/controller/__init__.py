"""The StatusWatch operator: one worker per StatusWatch, all served from one shared view, wired into kopf.

Pure parts (``models``, ``conditions``, ``settings``) hold the rules; ``worker`` and ``supervisor`` run them
over the polling engine; ``statusapi`` and ``metrics`` are the outputs; ``handlers`` and ``runner`` are the
only modules that know kopf. Start it with ``statuswatch run`` or :func:`statuswatch.controller.runner.run`.
"""

__all__: list[str] = []
