# The image Airbyte runs: asana-beam's source-asana connector.
#
# Base images cannot be pulled where this project is built, so the image is
# made FROM scratch around a static binary built beforehand; the binary
# embeds its CA roots (golang.org/x/crypto/x509roots/fallback):
#
#   CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -o bin/source-asana ./cmd/source-asana
#   docker build -t airbyte/source-asana:dev .
#   docker run --rm airbyte/source-asana:dev spec
FROM scratch
COPY bin/source-asana /source-asana
# A user for the rootless run (Go's os/user needs it) and a temporary
# directory it may write.
COPY cmd/source-asana/image/etc /etc
COPY --chown=65532:65532 cmd/source-asana/image/tmp /tmp
ENV AIRBYTE_ENTRYPOINT="/source-asana" TMPDIR=/tmp HOME=/tmp
LABEL io.airbyte.name="airbyte/source-asana" io.airbyte.version="2.0.0"
# Rootless, as Airbyte's own images are since 1.3.1.
USER 65532:65532
ENTRYPOINT ["/source-asana"]
