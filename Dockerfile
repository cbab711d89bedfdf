# syntax=docker/dockerfile:1
#
# DataGenie's server image: `docker build -t datagenie .`, or `docker compose up -d --build` with the
# docker-compose.yml beside this file (two servers, PostgreSQL, Redis and a load balancer).
#
# The build stage compiles the one binary; the image that runs it holds only that binary, the system's CA
# certificates (an https:// LLM endpoint is verified against them) and a health probe, and runs as a user without
# privileges. Its state lives in /data (DATAGENIE_PATHS__DATA_DIR) unless DATAGENIE_SYSTEM_DB__URL points at
# PostgreSQL; then /data holds only what each server keeps for itself (copies of uploaded spreadsheets, schema
# snapshots).

# The workspace is edition 2024 and uses features of recent Rust: keep this at the version CI builds with.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# The registry and target directories are the builder's caches (BuildKit), kept from one build to the next; the
# binary is copied out of the target cache, which is not part of any image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p datagenie \
    && install -m 0755 target/release/datagenie /usr/local/bin/datagenie

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/datagenie \
        --shell /usr/sbin/nologin datagenie \
    && install -d -o datagenie -g datagenie -m 0700 /data
COPY --from=build /usr/local/bin/datagenie /usr/local/bin/datagenie
COPY --chmod=0755 deploy/healthcheck.sh /usr/local/bin/datagenie-healthcheck

# Everything the server writes goes under /data: a new named volume takes this directory's owner and mode.
ENV DATAGENIE_PATHS__DATA_DIR=/data \
    DATAGENIE_PATHS__CACHE_DIR=/data/cache
USER datagenie
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# /healthz: the process answers (it listens only once its system database is open and migrated).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["datagenie-healthcheck", "8080"]

# `docker run IMAGE user create …`, `docker compose exec SERVICE datagenie migrate`: every command of the CLI.
ENTRYPOINT ["datagenie"]
CMD ["serve", "--bind", "0.0.0.0:8080"]
