# syntax=docker/dockerfile:1
#
# EstateDesk gateway image (Flask API + console), on the shared base (deploy/docker/base.Dockerfile).
#
#   docker build -f deploy/docker/base.Dockerfile -t estatedesk/base:dev .
#   docker build -f deploy/docker/gateway.Dockerfile --build-context base=docker-image://estatedesk/base:dev \
#     -t estatedesk/gateway:dev .
#
# builder: the wheel closure of libs/estatedesk_common + gateway (pinned by constraints.txt).
# runtime: the base plus those wheels and gateway/ without tests at /app/gateway/ (PYTHONPATH puts
#   it first, so templates, static files and migrations are found next to the sources).
# Listens on GATEWAY_HOST=0.0.0.0:GATEWAY_PORT=8000; /metrics on the same port.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY constraints.txt ./
COPY libs/estatedesk_common/ libs/estatedesk_common/
COPY gateway/ gateway/
RUN pip wheel --wheel-dir /wheels -c constraints.txt ./libs/estatedesk_common ./gateway \
 && rm -rf gateway/tests

# `base` is the named build context holding estatedesk/base (compose: additional_contexts).
# hadolint ignore=DL3006
FROM base AS runtime
LABEL org.opencontainers.image.title="estatedesk-gateway"
USER 0:0
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl
COPY --from=builder --chown=root:root /src/gateway/ /app/gateway/
ENV ESTATEDESK_PACKAGE=gateway \
    PYTHONPATH=/app/gateway/src \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000
USER 10001:10001
EXPOSE 8000
# /api/v1/health answers 200 only when the database and all four services answer (503: degraded).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('GATEWAY_PORT', '8000'), timeout=4)"]
CMD ["python", "-m", "gateway", "serve"]
