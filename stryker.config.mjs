// Mutation testing (Stryker) of the modules where a surviving mutant means lost keys or
// lost bytes. Run: `npm run mutation` (incremental: only mutants whose code or tests changed
// since reports/stryker-incremental.json are run again). docs/testing.md explains it.
// The tests run in process (mocha + tsx): subprocess tests of dist/ cannot see a mutant, and
// coverageAnalysis "perTest" runs for each mutant only the tests that reach it.
/**
 * The scope in groups, each run as its own Stryker run with only its own test files
 * (`--mutate`, `--testFiles`): a group's dry run and its mutants then never wait for the
 * moto-backed rotation tests of another group. All groups share one incremental file
 * (Stryker keeps the results of files outside a run's --mutate), so after every group has
 * run once, reports/stryker-incremental.json holds the whole scope. scripts/mutation.sh
 * runs them and records, per group, the commit of its last complete run.
 */
export const groups = {
  files: {
    mutate: [
      "src/lib/files/atomic.ts",
      "src/lib/files/lock.ts",
      "src/lib/files/credentials.ts",
      "src/lib/files/ini.ts",
      "src/lib/redact.ts",
      "src/lib/verify/rules.ts"
    ],
    testFiles: [
      "test/unit/atomic-strength.test.ts",
      "test/unit/foundation.test.ts",
      "test/unit/ini.test.ts",
      "test/unit/credentials.test.ts",
      "test/unit/verify.test.ts",
      "test/unit/rules-strength.test.ts",
      "test/unit/files-strength.test.ts",
      "test/unit/lock-strength.test.ts",
      "test/unit/atomic-edges.test.ts",
      "test/unit/credentials-strength.test.ts",
      "test/unit/ini-strength.test.ts"
    ]
  },
  keys: {
    mutate: ["src/lib/keys/**/*.ts"],
    testFiles: [
      "test/unit/keys-steps.test.ts",
      "test/unit/journal-strength.test.ts",
      "test/unit/keys-list-preflight.test.ts",
      "test/unit/keys-list-lib.test.ts",
      "test/unit/keys-faults.test.ts",
      "test/unit/keys-strength.test.ts",
      "test/unit/files-strength.test.ts",
      "test/unit/keys-flow-first-key.test.ts",
      "test/unit/keys-flow-recovery.test.ts",
      "test/unit/keys-flow-rotate.test.ts",
      "test/unit/keys-flow-file-edits.test.ts"
    ]
  }
}
const all = (key) => [...new Set(Object.values(groups).flatMap((g) => g[key]))]

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  "packageManager": "npm",
  "testRunner": "mocha",
  "testRunnerNodeArgs": [
    "--import",
    "tsx"
  ],
  // The TypeScript checker only with PSB_STRYKER_CHECKER=1: on 2 cores it was the bottleneck
  // of every run (one checker process at 100% CPU re-checking the program, ~13 mutants a
  // minute, the test runner idle). The tests run through tsx, which strips types, so without
  // it a mutant that would not type-check still runs and is killed or survives like any
  // other, and counts in the score (docs/testing.md).
  "checkers": process.env.PSB_STRYKER_CHECKER === "1" ? ["typescript"] : [],
  "coverageAnalysis": "perTest",
  "ignoreStatic": true,
  "concurrency": 2,
  "timeoutMS": 10000,
  "dryRunTimeoutMinutes": 30,
  "timeoutFactor": 2,
  "mutate": all("mutate"),
  "mochaOptions": {
    "config": ".mocharc.json",
    "spec": all("testFiles")
  },
  "ignorePatterns": [
    "dist",
    "oclif.manifest.json",
    "bench/out",
    ".psb-tmp",
    "reports",
    "*.tgz"
  ],
  "incremental": true,
  "incrementalFile": "reports/stryker-incremental.json",
  "reporters": [
    "clear-text",
    "progress-append-only",
    "json",
    "html"
  ],
  "jsonReporter": {
    "fileName": "reports/mutation/mutation.json"
  },
  "htmlReporter": {
    "fileName": "reports/mutation/mutation.html"
  },
  "thresholds": {
    "high": 90,
    "low": 85,
    "break": 85
  },
  "tempDirName": ".stryker-tmp",
  "cleanTempDir": "always"
}
