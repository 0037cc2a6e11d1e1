#!/usr/bin/env bash
# Builds goccy/bigquery-emulator v0.6.6, the BigQuery-compatible server the
# BigQuery sink is tested against, once per machine, and prints its path.
#
# It is a module of its own (this directory) so that the emulator's cgo
# dependency, ZetaSQL, stays out of asana-beam's go.mod. ZetaSQL needs
# clang: gcc 12 stops on a constexpr error. A cold build takes about 13
# minutes and 7 GB of memory on 2 cores; the binary is then reused.
set -euo pipefail
cd "$(dirname "$0")"
version=v0.6.6
out="${XDG_CACHE_HOME:-$HOME/.cache}/asana-beam/bigquery-emulator-$version"
if [ ! -x "$out" ]; then
  if ! command -v clang++ >/dev/null; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >&2
  fi
  mkdir -p "$(dirname "$out")"
  echo "building bigquery-emulator $version (about 13 minutes the first time)" >&2
  CGO_ENABLED=1 CC=clang CXX=clang++ go build -o "$out.tmp" github.com/goccy/bigquery-emulator/cmd/bigquery-emulator >&2
  mv "$out.tmp" "$out"
fi
echo "$out"
