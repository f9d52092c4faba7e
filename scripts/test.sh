#!/usr/bin/env bash
# The whole test suite, from a fresh clone: Node 22, npm dependencies, moto, the real
# Pulumi CLI (built once from the Go module proxy and cached), then `npm test`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
PSB_PULUMI_DIR="$(bash scripts/build-pulumi.sh)"
export PSB_PULUMI_DIR
npm test "$@"
