# complaint-bot in a container: slim Python, a non-root user, the ticket log and the phrase files
# on volumes. Build and run with compose.yaml (see the README), or:
#   docker build -t complaint-bot .
#   docker run -d --env-file .env -v tickets:/data -v phrases:/phrases complaint-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A font with Chinese glyphs, so /stats charts have Chinese labels (not pinyin).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
# compileall: packages installed from source (jieba, snownlp) may come without .pyc files, and
# the non-root user cannot write them, so every start would recompile jieba's big tables (+50 MB)
RUN pip install . && rm -rf /src \
    && python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin bot \
    && mkdir -p /data /phrases \
    && chown bot:bot /data /phrases
USER bot
WORKDIR /home/bot

# The phrase files admins edit: a new named volume starts as a copy of the shipped ones.
# The first start's caches (jieba's dictionary, the shared lexicon) are built into the image.
RUN complaint-bot phrases init /phrases \
    && complaint-bot analyze "预热" > /dev/null

ENV DATABASE_PATH=/data/tickets.db \
    PHRASES_DIR=/phrases \
    WEBHOOK_LISTEN=0.0.0.0 \
    WEBHOOK_PORT=8443
VOLUME ["/data", "/phrases"]
# webhook mode only (WEBHOOK_URL set): put a TLS proxy in front of this port
EXPOSE 8443

# The bot's job queue touches a heartbeat file beside the ticket log; stale means stuck.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["complaint-bot", "health"]

STOPSIGNAL SIGTERM
CMD ["complaint-bot", "run"]
