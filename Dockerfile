# coopbot in a container: slim, non-root, health-checked with `coopbot check`.
# Build: make docker (docker build -t coopbot .). Data lives in the /data volume (SQLite by default).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data

WORKDIR /app
RUN useradd --create-home --uid 10001 coopbot \
    && mkdir /data \
    && chown coopbot:coopbot /data

COPY pyproject.toml README.md ./
COPY bot.py config.py ./
COPY sandbox ./sandbox
COPY cogs ./cogs
COPY governance ./governance
COPY storage ./storage
RUN pip install --no-cache-dir .

USER coopbot
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=30s --start-period=20s --retries=3 CMD ["coopbot", "check"]
CMD ["coopbot", "run"]
