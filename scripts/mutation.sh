#!/usr/bin/env bash
# Mutation testing (Stryker) of the modules where a surviving mutant means lost keys or lost
# bytes; stryker.config.mjs lists them and the in-process test files that run.
#
#   npm run mutation [-- <stryker options>]   e.g. -- --mutate src/lib/files/ini.ts
#   bash scripts/mutation.sh --ci             what .ci/run does (below)
#
# Incremental: reports/stryker-incremental.json (committed) holds the last results; Stryker
# runs again only the mutants whose code or covering tests changed. Fails (exit 1) when the
# mutation score is below 85% (thresholds.break). Only in-process tests run: a subprocess
# test of dist/ never sees a mutant, so no build is needed.
#
# --ci: skips when no mutated module and no test file of the run changed since the commit
# recorded in reports/stryker-baseline.txt (written after every full-scope run). Otherwise
# it runs incrementally within PSB_MUTATION_BUDGET_MIN minutes (default 25): over budget it
# says so and exits 0 — the baseline is then out of date: run `npm run mutation` and commit
# reports/. Below the threshold it fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
export NODE_OPTIONS="--import $PSB_ROOT/scripts/stryker/mocha12-paths.mjs ${NODE_OPTIONS:-}"
BASELINE=reports/stryker-baseline.txt

# The files a mutation run depends on: the mutated modules and the spec files.
inputs() {
  node --input-type=module -e '
    const {default: c} = await import(process.argv[1])
    console.log([...c.mutate, ...c.mochaOptions.spec, "test/setup.ts", "test/support"].join("\n"))' "$PSB_ROOT/stryker.config.mjs"
}

if [[ "${1:-}" != "--ci" ]]; then
  npx stryker run "$@"
  # A run of the whole scope (no --mutate) is the new baseline.
  if [[ " $* " != *" --mutate "* && " $* " != *" -m "* ]]; then git rev-parse HEAD >"$BASELINE"; fi
  exit 0
fi

base="$(cat "$BASELINE" 2>/dev/null || true)"
if [[ -z "$base" ]]; then
  # Without a full-scope baseline every mutant is new: a first run takes hours on 2 cores, so
  # CI would only spend its budget and stop. Say so instead.
  echo "mutation: no full-scope baseline recorded yet ($BASELINE); skipped. Run \`npm run mutation\` on a quiet machine and commit reports/."
  exit 0
fi
mapfile -t files < <(inputs)
if [[ -n "$base" ]] && git cat-file -e "${base}^{commit}" 2>/dev/null && git diff --quiet "$base" HEAD -- "${files[@]}" && git diff --quiet HEAD -- "${files[@]}"; then
  echo "mutation: nothing it tests changed since the baseline ${base:0:12}; skipped"
  exit 0
fi
budget=$(( ${PSB_MUTATION_BUDGET_MIN:-25} * 60 ))
# Its own process group, so that the budget ends Stryker, its workers and their moto servers.
setsid npx stryker run &
run=$!
( sleep "$budget"; kill -TERM -- "-$run" 2>/dev/null; sleep 30; kill -KILL -- "-$run" 2>/dev/null ) &
watchdog=$!
set +e
wait "$run"
status=$?
set -e
kill "$watchdog" 2>/dev/null || true
if [[ $status -eq 143 || $status -eq 137 ]]; then
  echo "mutation: not finished within ${PSB_MUTATION_BUDGET_MIN:-25} min; the committed baseline is out of date (run npm run mutation and commit reports/)" >&2
  rm -rf .stryker-tmp
  exit 0
fi
exit $status
