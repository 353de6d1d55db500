# syntax=docker/dockerfile:1
# Build stage: the Swift 6 toolchain. .ci/run runs the same `swift build` line, so the image's build is
# exercised on every CI run even though no Docker engine runs there.
FROM swift:6.3-noble AS build
WORKDIR /src
# Resolve dependencies in their own layer so source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product klaxon \
 && mkdir -p /staging \
 && cp "$(swift build -c release --show-bin-path)/klaxon" /staging/

# Runtime stage: a slim Ubuntu with time zones (rotations) and CA certificates (chat APIs over TLS).
FROM ubuntu:noble
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app --create-home --shell /usr/sbin/nologin klaxon
WORKDIR /app
COPY --from=build /staging/klaxon /usr/local/bin/klaxon
COPY bot-config.json bot-config.schema.json ./
RUN mkdir -p /app/data && chown klaxon:klaxon /app/data
# The SQLite file (storage.sqlite.path = data/klaxon.sqlite) lives here; mount it to keep incidents.
VOLUME ["/app/data"]
USER klaxon
EXPOSE 8080
# The daemon listens on 0.0.0.0 here, so /api/* must be authenticated: the shipped bot-config.json reads
# server.apiToken from KLAXON_API_TOKEN, and without it klaxon refuses to start (naming server.apiToken).
# Pass it at run time, never bake it into the image:
#   docker run -e KLAXON_API_TOKEN="$(openssl rand -hex 32)" -p 8080:8080 klaxon
# Clients send it as "Authorization: Bearer $KLAXON_API_TOKEN" (klaxon cmd does so from the same variable).
# /healthz, /readyz and /metrics stay open, so the HEALTHCHECK below needs no token. (No ENV line for it:
# an ENV would bake a value into the image, and BuildKit flags secrets in ENV.)
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# Exec form: klaxon is PID 1 and receives SIGTERM, which drains and exits cleanly.
ENTRYPOINT ["/usr/local/bin/klaxon"]
CMD ["serve", "--config", "/app/bot-config.json", "--host", "0.0.0.0"]
