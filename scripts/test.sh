#!/usr/bin/env bash
# The whole test suite, from a fresh clone: Node 22, npm dependencies, moto, the real
# Pulumi CLI (built once from the Go module proxy and cached), then `npm test`.
# Ends with one line "tests: N passed, M failed"; fails when no test ran.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
PSB_PULUMI_DIR="$(bash scripts/build-pulumi.sh)"
export PSB_PULUMI_DIR
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
npm test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
plain="$(sed 's/\x1b\[[0-9;]*m//g' "$log")"
passed="$(grep -Eo '^ *[0-9]+ passing' <<<"$plain" | tail -1 | grep -Eo '[0-9]+' || echo 0)"
failed="$(grep -Eo '^ *[0-9]+ failing' <<<"$plain" | tail -1 | grep -Eo '[0-9]+' || echo 0)"
echo "tests: ${passed} passed, ${failed} failed"
if [[ "$status" -eq 0 && "$passed" -eq 0 ]]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
