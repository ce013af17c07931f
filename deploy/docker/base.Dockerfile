# syntax=docker/dockerfile:1
#
# The shared base of every EstateDesk image: python:3.11-slim, an unprivileged user (uid/gid 10001),
# and the wheels of libs/estatedesk_common with its pinned closure (nameko, eventlet, SQLAlchemy,
# psycopg2-binary, ...). The per-package images (intake, workflow, notify, reporting, gateway,
# migrate) start FROM this one, so those layers are built and pulled once.
#
#   docker build -f deploy/docker/base.Dockerfile -t estatedesk/base:dev .
#
# docker-compose.yml builds it as service `base` and hands it to the others as the named build
# context `base` (additional_contexts: base: service:base).

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY constraints.txt ./
COPY libs/estatedesk_common/ libs/estatedesk_common/
# setuptools stays below 81: `nameko run` imports pkg_resources (nameko/cli/main.py).
RUN pip wheel --wheel-dir /wheels -c constraints.txt \
      ./libs/estatedesk_common psycopg2-binary 'setuptools<81'

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="estatedesk-base" \
      org.opencontainers.image.description="EstateDesk shared runtime base (estatedesk_common + pinned dependencies)"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    ESTATEDESK_VAR=/app/var
RUN groupadd --system --gid 10001 estatedesk \
 && useradd --system --uid 10001 --gid estatedesk --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin estatedesk
WORKDIR /app
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl
# The only writable path the app needs (logs go to stdout). Kubernetes mounts an emptyDir here
# so the root filesystem can be read-only.
RUN mkdir -p /app/var && chown estatedesk:estatedesk /app/var
USER 10001:10001
CMD ["python", "-c", "print('estatedesk/base: build a package image on top of it (deploy/README.md)')"]
