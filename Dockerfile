# syntax=docker/dockerfile:1
#
# internbot image: a fully static binary on distroless.
#
#   docker build -t internbot .
#   docker run -d -v internbot-data:/data -p 127.0.0.1:8080:8080 \
#     -e SLACK_BOT_TOKEN=xoxb-... -e SLACK_APP_TOKEN=xapp-... internbot
#
# The bot runs as uid 65532: a named volume on /data is writable as is; a host
# directory bind-mounted there must be writable by 65532.
#
# The build step is scripts/build-static.sh, the same script CI runs, so the
# flags that link the image's binary are tested on every CI run.

# Pinned to the go directive in go.mod (go 1.26.8).
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Dependencies first, so editing code does not re-download modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
# --check proves the result is static and runs check-config in an empty root.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    OUT=/out/internbot bash scripts/build-static.sh --check \
 && mkdir -p /out/data

# distroless/static has CA certificates and a nonroot user (65532) and no shell,
# libc or curl. The binary needs none of them but the certificates: it is
# static, and it embeds the time zone database (it imports time/tzdata), so it
# needs no /usr/share/zoneinfo either.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/internbot /internbot
# Created here and owned by nonroot so that a new named volume on /data starts
# writable by the bot (Docker copies the image's directory and its owner).
COPY --from=build --chown=65532:65532 /out/data /data

USER 65532:65532
VOLUME /data
# A bare ":8080" would mean the container's loopback, which cannot be published; the
# container's interfaces are private to the host until published, and the README publishes
# the port on the host's 127.0.0.1 only (-p 127.0.0.1:8080:8080).
ENV INTERNBOT_DB=/data/internbot.db \
    INTERNBOT_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080

# The image has no curl or wget, so the binary checks itself: `internbot
# healthcheck` GETs the URL and exits 0 on 200. Keep the port in step with
# INTERNBOT_HTTP_ADDR if you change it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/internbot", "healthcheck", "-url", "http://127.0.0.1:8080/healthz"]

ENTRYPOINT ["/internbot"]
CMD ["run"]
