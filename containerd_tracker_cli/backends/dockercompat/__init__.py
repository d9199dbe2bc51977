"""The backend for Docker-compatible CLIs: ``nerdctl`` and ``docker``.

Both print the same JSON shapes (``ps``/``images``/``events`` with
``--format '{{json .}}'``, ``inspect`` in Docker's format), so one parser set
and one argv builder serve both, with the differences named in one place
(:mod:`.flavours`).
"""
