#!/usr/bin/env bash
# Mutation testing (Stryker) of the modules where a surviving mutant means lost keys or lost
# bytes; stryker.config.mjs lists them in groups, each with the in-process test files that
# run for it (`groups`: files, keys).
#
#   npm run mutation                       every group in turn, then records the baseline
#   npm run mutation -- --group keys       one group (its baseline line is updated)
#   npm run mutation -- --mutate src/lib/files/ini.ts [<stryker options>]   a plain Stryker run
#   bash scripts/mutation.sh --ci          what .ci/run does (below)
#
# Incremental: reports/stryker-incremental.json (kept locally, not committed: it holds test
# sources with secret-shaped fixtures) holds the last results of every
# group; Stryker runs again only the mutants whose code or covering tests changed, and keeps
# the results of the files outside a run's --mutate. Fails (exit 1) when the mutation score
# of the whole scope is below 85% (thresholds.break). Only in-process tests run: a subprocess
# test of dist/ never sees a mutant, so no build is needed.
#
# reports/stryker-baseline.txt: one line per group, "<group> <commit>", the commit of the
# group's last complete run.
#
# --ci: a group is skipped when none of its mutated modules, its test files or the test
# support changed since its baseline commit, and (saying so) when it has no baseline (a first
# run takes hours on 2 cores). The others run incrementally within the budget:
# min(PSB_MUTATION_BUDGET_MIN (25), 57 - minutes since PSB_CI_START) minutes, PSB_CI_START
# being the epoch second .ci/run started, so CI as a whole stays under 60 minutes. Under 3
# minutes left: skipped, saying so. Over budget: says so and exits 0 (the baseline is then
# out of date: run `npm run mutation` and commit reports/). Below the threshold: fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"
export NODE_OPTIONS="--import $PSB_ROOT/scripts/stryker/mocha12-paths.mjs ${NODE_OPTIONS:-}"
BASELINE=reports/stryker-baseline.txt

# `groups` of stryker.config.mjs: "names" or, for one group, "mutate" / "testFiles" (one a line).
group() {
  node --input-type=module -e '
    const {groups} = await import(process.argv[1])
    const [what, name] = process.argv.slice(2)
    console.log(what === "names" ? Object.keys(groups).join("\n") : groups[name][what].join("\n"))' "$PSB_ROOT/stryker.config.mjs" "$@"
}
joined() { group "$@" | paste -sd, -; }
baseline_of() { awk -v g="$1" '$1 == g {print $2}' "$BASELINE" 2>/dev/null || true; }
# Records "<group> <commit>"; the commit is the one the run started from (a dirty tree: none).
record_baseline() {
  [[ -n "$2" ]] || { echo "mutation: group $1 ran on uncommitted changes; no baseline recorded" >&2; return; }
  { grep -v "^$1 " "$BASELINE" 2>/dev/null || true; echo "$1 $2"; } | sort >"$BASELINE.new"
  mv "$BASELINE.new" "$BASELINE"
}
run_group() {
  npx stryker run --mutate "$(joined mutate "$1")" --testFiles "$(joined testFiles "$1")" "${@:2}"
}

if [[ "${1:-}" != "--ci" ]]; then
  if [[ " $* " == *" --mutate "* || " $* " == *" -m "* ]]; then
    exec npx stryker run "$@"
  fi
  names=()
  if [[ "${1:-}" == "--group" ]]; then
    names=("$2")
    shift 2
  else
    mapfile -t names < <(group names)
  fi
  for g in "${names[@]}"; do
    echo "mutation: group $g"
    start_sha="$(git rev-parse HEAD)"
    git diff --quiet HEAD -- src test stryker.config.mjs || start_sha=""
    run_group "$g" "$@"
    record_baseline "$g" "$start_sha"
  done
  exit 0
fi

start="${PSB_CI_START:-$(date +%s)}"
elapsed_min=$(( ($(date +%s) - start) / 60 ))
budget_min=${PSB_MUTATION_BUDGET_MIN:-25}
(( 57 - elapsed_min < budget_min )) && budget_min=$(( 57 - elapsed_min ))
if (( budget_min < 3 )); then
  echo "mutation: skipped, CI has run ${elapsed_min} min and has less than 3 min left of its 60"
  exit 0
fi
deadline=$(( $(date +%s) + budget_min * 60 ))

todo=()
for g in $(group names); do
  base="$(baseline_of "$g")"
  if [[ -z "$base" ]] || ! git cat-file -e "${base}^{commit}" 2>/dev/null; then
    echo "mutation: group $g has no complete run recorded in $BASELINE; skipped. Run \`npm run mutation -- --group $g\` and commit reports/."
    continue
  fi
  mapfile -t files < <(group mutate "$g"; group testFiles "$g"; echo test/setup.ts; echo test/support; echo stryker.config.mjs)
  if git diff --quiet "$base" HEAD -- "${files[@]}" && git diff --quiet HEAD -- "${files[@]}"; then
    echo "mutation: group $g: nothing it tests changed since ${base:0:12}; skipped"
    continue
  fi
  todo+=("$g")
done

for g in "${todo[@]}"; do
  left=$(( deadline - $(date +%s) ))
  if (( left < 60 )); then
    echo "mutation: group $g not run: the ${budget_min} min budget is spent; the committed baseline is out of date (run npm run mutation and commit reports/)" >&2
    continue
  fi
  echo "mutation: group $g (incremental, up to $(( left / 60 )) min)"
  # Its own process group, so that the budget ends Stryker, its workers and their moto servers.
  setsid bash -c "$(declare -f group joined run_group); run_group $g" &
  run=$!
  ( sleep "$left"; kill -TERM -- "-$run" 2>/dev/null; sleep 30; kill -KILL -- "-$run" 2>/dev/null ) &
  watchdog=$!
  set +e
  wait "$run"
  status=$?
  set -e
  kill "$watchdog" 2>/dev/null || true
  if [[ $status -eq 143 || $status -eq 137 ]]; then
    echo "mutation: group $g not finished within the ${budget_min} min budget; the committed baseline is out of date (run npm run mutation and commit reports/)" >&2
    rm -rf .stryker-tmp
    continue
  fi
  (( status == 0 )) || exit "$status"
done
exit 0
