#!/usr/bin/env bash
# Installs the system tools that parts of the test suite use. Idempotent and quiet when all is
# present. CI starts from a clean clone on a fresh machine, so this must do the whole job there.
#   clang-22: rebuilds the on-chain program to check the committed binary byte for byte.
#   node + the PGlite TimescaleDB build (tools/timescale): proves our Timescale DDL and queries.
set -euo pipefail
cd "$(dirname "$0")/../.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq >/dev/null && apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v clang-22 >/dev/null; then
  echo "test tools: installing clang-22 (on-chain verifiable build)"
  apt_install clang-22 || echo "test tools: could not install clang-22; the verifiable-build test will skip"
fi
if ! command -v npm >/dev/null; then
  echo "test tools: installing nodejs and npm (TimescaleDB harness)"
  apt_install nodejs npm || echo "test tools: could not install npm; the TimescaleDB tests will skip"
fi
if command -v npm >/dev/null && [ ! -d tools/timescale/node_modules/@unni-craftsman ]; then
  echo "test tools: installing the PGlite TimescaleDB harness (tools/timescale)"
  (cd tools/timescale && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error >/dev/null) \
    || echo "test tools: npm ci failed; the TimescaleDB tests will skip"
fi
echo "test tools: ok"
