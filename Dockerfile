FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY jobs ./jobs
COPY migrations ./migrations
RUN pip install . && useradd --system --home /app resource-finder
USER resource-finder

# Migrations run on every start; they are idempotent.
CMD ["sh", "-c", "resource-finder db upgrade && exec resource-finder run"]
