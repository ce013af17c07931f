# syntax=docker/dockerfile:1
#
# EstateDesk intake service image, on the shared base (deploy/docker/base.Dockerfile).
#
#   docker build -f deploy/docker/base.Dockerfile -t estatedesk/base:dev .
#   docker build -f deploy/docker/intake.Dockerfile --build-context base=docker-image://estatedesk/base:dev \
#     -t estatedesk/intake:dev .
#
# builder: the wheel closure of libs/estatedesk_common + services/intake (pinned by constraints.txt).
# runtime: the base plus those wheels and services/intake/ without tests at /app/services/intake/.
#   PYTHONPATH puts that copy first, so `python -m intake.cli migrate` finds its Alembic
#   migrations next to the sources (intake/cli.py looks two directories up) and the contract
#   command works unchanged: `nameko run --config services/intake/config.yml intake.service`.
# Metrics listen on METRICS_ADDR=0.0.0.0:9101 so Prometheus can scrape the container.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY constraints.txt ./
COPY libs/estatedesk_common/ libs/estatedesk_common/
COPY services/intake/ services/intake/
RUN pip wheel --wheel-dir /wheels -c constraints.txt ./libs/estatedesk_common ./services/intake \
 && rm -rf services/intake/tests

# `base` is the named build context holding estatedesk/base (compose: additional_contexts).
# hadolint ignore=DL3006
FROM base AS runtime
LABEL org.opencontainers.image.title="estatedesk-intake"
USER 0:0
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl
COPY --from=builder --chown=root:root /src/services/intake/ /app/services/intake/
ENV ESTATEDESK_PACKAGE=intake \
    PYTHONPATH=/app/services/intake/src \
    METRICS_ADDR=0.0.0.0 \
    INTAKE_METRICS_PORT=9101
USER 10001:10001
EXPOSE 9101
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/metrics' % os.environ['INTAKE_METRICS_PORT'], timeout=3)"]
CMD ["nameko", "run", "--config", "services/intake/config.yml", "intake.service"]
