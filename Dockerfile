# syntax=docker/dockerfile:1
# The operator image. Built where a container engine exists (the development machine has none); the rules it
# keeps are checked by tests/unit/test_packaging_image.py, and tests/e2e/test_install.py builds and runs the
# same virtual environment from the same lock.
#
# Base: pinned by tag and by the digest of its multi-architecture index (taken from public Dockerfiles that
# pin the same tag; check it with `docker buildx imagetools inspect` when bumping).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first, so a source change does not invalidate this layer. Every file is checked by hash.
COPY requirements/ ./requirements/
RUN python -m venv /opt/build-tools \
 && /opt/build-tools/bin/pip install --require-hashes -r requirements/build.lock \
 && python -m venv /opt/statuswatch \
 && /opt/statuswatch/bin/pip install --require-hashes -r requirements/operator.lock
COPY pyproject.toml README.md ./
COPY operator ./operator
# operator/statuswatch/manifests links to config/ (CRD, RBAC, samples shipped as package data).
COPY config ./config
# The project itself, built with the hashed build tools (no unpinned download) and installed without
# dependencies: everything it needs came from the lock above. pip and the old setuptools that `venv`
# seeds are removed: not from the lock, and not needed at run time.
RUN /opt/build-tools/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
 && /opt/statuswatch/bin/pip install --no-deps /tmp/wheels/statuswatch-*.whl \
 && /opt/statuswatch/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/statuswatch/lib \
 && /opt/statuswatch/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
# A named user as well as a numeric one: kopf's peering identity calls getpass.getuser(), which needs either
# a passwd entry or $USER (set too, for clusters that override the uid).
RUN useradd --uid 65532 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin statuswatch
COPY --from=build /opt/statuswatch /opt/statuswatch
# Nothing is written to the image at run time: bytecode was compiled at build time, HOME and TMPDIR point at
# /tmp, which the manifests mount as an emptyDir under a read-only root filesystem.
ENV PATH=/opt/statuswatch/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    USER=statuswatch
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["statuswatch", "run"]
CMD ["--all-namespaces", "--metrics-port=8080"]
