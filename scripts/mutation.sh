#!/usr/bin/env bash
# Mutation testing of the modules where a surviving mutant means lost keys or lost bytes
# (stryker.config.mjs lists them). `npm run mutation [-- <stryker options>]`.
# Incremental: reports/stryker-incremental.json (committed) holds the last results; only
# mutants whose code or covering tests changed run again. Fails (exit 1) below 85%.
# Only in-process tests run (subprocess tests of dist/ never see a mutant): no build needed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
export NODE_OPTIONS="--import $PSB_ROOT/scripts/stryker/mocha12-paths.mjs ${NODE_OPTIONS:-}"
exec npx stryker run "$@"
