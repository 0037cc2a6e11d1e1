# The image Airbyte runs: asana-beam's source-asana connector, built from
# a fresh clone with nothing but Docker and network access:
#
#   docker build -t airbyte/source-asana:dev .
#   docker run --rm airbyte/source-asana:dev spec
#
# The binary carries no simulator (-tags nodemo) and no debug information.
# On a machine that cannot pull base images, build the binary first and use
# cmd/source-asana/image/Dockerfile.prebuilt (FROM scratch), as the tests do.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -tags nodemo -trimpath -ldflags='-s -w' -o /out/source-asana ./cmd/source-asana

FROM scratch
COPY --from=build /out/source-asana /source-asana
# A user for the rootless run (Go's os/user needs it) and a temporary
# directory it may write.
COPY cmd/source-asana/image/etc /etc
COPY --chown=65532:65532 cmd/source-asana/image/tmp /tmp
ENV AIRBYTE_ENTRYPOINT="/source-asana" TMPDIR=/tmp HOME=/tmp
LABEL io.airbyte.name="airbyte/source-asana" io.airbyte.version="2.0.0"
# Rootless, as Airbyte's own images are since 1.3.1.
USER 65532:65532
ENTRYPOINT ["/source-asana"]
