# syntax=docker/dockerfile:1
#
# EstateDesk migrate image: every package (intake, workflow, notify, reporting, gateway) in one
# image, on the shared base, for the one-shot schema job (compose service `migrate`, Kubernetes Job
# `estatedesk-migrate-<release>`). Default command: migrate all five packages, in contract order.
#
#   docker build -f deploy/docker/base.Dockerfile -t estatedesk/base:dev .
#   docker build -f deploy/docker/migrate.Dockerfile --build-context base=docker-image://estatedesk/base:dev \
#     -t estatedesk/migrate:dev .

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY constraints.txt ./
COPY libs/estatedesk_common/ libs/estatedesk_common/
COPY services/ services/
COPY gateway/ gateway/
RUN pip wheel --wheel-dir /wheels -c constraints.txt ./libs/estatedesk_common \
      ./services/intake ./services/workflow ./services/notify ./services/reporting ./gateway \
 && rm -rf services/*/tests gateway/tests

# `base` is the named build context holding estatedesk/base (compose: additional_contexts).
# hadolint ignore=DL3006
FROM base AS runtime
LABEL org.opencontainers.image.title="estatedesk-migrate"
USER 0:0
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl
COPY --from=builder --chown=root:root /src/services/intake/ /app/services/intake/
COPY --from=builder --chown=root:root /src/services/workflow/ /app/services/workflow/
COPY --from=builder --chown=root:root /src/services/notify/ /app/services/notify/
COPY --from=builder --chown=root:root /src/services/reporting/ /app/services/reporting/
COPY --from=builder --chown=root:root /src/gateway/ /app/gateway/
ENV ESTATEDESK_PACKAGE=all \
    PYTHONPATH=/app/services/intake/src:/app/services/workflow/src:/app/services/notify/src:/app/services/reporting/src:/app/gateway/src
USER 10001:10001
CMD ["sh", "-ec", "for pkg in intake workflow notify reporting gateway; do echo \"migrate: $pkg\"; python -m \"$pkg.cli\" migrate; done"]
