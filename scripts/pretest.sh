#!/usr/bin/env bash
# `npm test` runs this first (the `pretest` script), so that `npm test` alone works on a fresh
# clone: Node.js 22, the npm dependencies and moto (scripts/env.sh), the real Pulumi CLI in
# both versions the end-to-end suite runs (built once each from the Go module proxy, then
# cached; test/support/pulumi.ts finds them in the cache), MinIO (psb's second real S3
# implementation, built once from the Go module proxy, pinned, then cached:
# scripts/build-minio.sh; test/support/minio.ts starts it), and psb itself (dist/ and
# oclif.manifest.json). The first run builds Pulumi and MinIO (several minutes each, with
# progress lines on stderr); later runs find the builds at once.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
for version in ${PSB_PULUMI_VERSIONS:-v3.274.1 v3.200.0}; do
  bash scripts/build-pulumi.sh "$version" >/dev/null
done
bash scripts/build-minio.sh >/dev/null
npm run build
