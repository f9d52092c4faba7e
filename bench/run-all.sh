#!/usr/bin/env bash
# Runs every benchmark in one go (each prints its own table and ratios, and writes
# bench/out/<name>.json). Exit status: non-zero when any benchmark missed its target.
set -uo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$PSB_ROOT"
npm run build >/dev/null
PSB_PULUMI_DIR="$(bash scripts/build-pulumi.sh 2>/dev/null || true)"
export PSB_PULUMI_DIR
status=0
for b in startup creds bucket terragrunt floor keys init history fleet; do
  echo "=== bench/$b.ts"
  node --import tsx "bench/$b.ts" || status=1
done
exit $status
