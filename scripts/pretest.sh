#!/usr/bin/env bash
# `npm test` runs this first (the `pretest` script), so that `npm test` alone works on a fresh
# clone: Node.js 22, the npm dependencies and moto (scripts/env.sh), the real Pulumi CLI
# (built once from the Go module proxy, then cached; test/support/pulumi.ts finds it in the
# cache), MinIO (psb's second real S3 implementation, built once from the Go module proxy,
# pinned, then cached: scripts/build-minio.sh; test/support/minio.ts starts it), and psb
# itself (dist/ and oclif.manifest.json).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
bash scripts/build-pulumi.sh >/dev/null
bash scripts/build-minio.sh >/dev/null
npm run build
