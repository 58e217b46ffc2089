# The staffing-registry hub image: one image for every role (`hub migrate`, `hub up`, `hub connector run <name>`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HUB_HTTP_HOST=0.0.0.0

# The project is installed editable from /app so that alembic/ (top level of the repo) sits next to hub/,
# where hub.adapters.database looks for it. Without the `embedded-broker` extra: the image talks to a real Kafka
# (HUB_KAFKA_BOOTSTRAP_SERVERS); `hub up` without one says so and exits.
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin hub \
    && mkdir -p /app/.hub-data \
    && chown hub:hub /app/.hub-data

USER hub

EXPOSE 8000

# slim has no curl: ask /healthz with the standard library (HUB_HTTP_PORT if set, else 8000).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('HUB_HTTP_PORT') or '8000'; sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]

CMD ["hub", "up"]
