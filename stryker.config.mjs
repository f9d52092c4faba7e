// Mutation testing (Stryker) of the modules where a surviving mutant means lost keys or
// lost bytes. Run: `npm run mutation` (incremental: only mutants whose code or tests changed
// since reports/stryker-incremental.json are run again). docs/testing.md explains it.
// The tests run in process (mocha + tsx): subprocess tests of dist/ cannot see a mutant, and
// coverageAnalysis "perTest" runs for each mutant only the tests that reach it.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  "packageManager": "npm",
  "testRunner": "mocha",
  "testRunnerNodeArgs": [
    "--import",
    "tsx"
  ],
  "checkers": [
    "typescript"
  ],
  "tsconfigFile": "tsconfig.check.json",
  "typescriptChecker": {
    "prioritizePerformanceOverAccuracy": true
  },
  "coverageAnalysis": "perTest",
  "ignoreStatic": true,
  "concurrency": 2,
  "timeoutMS": 30000,
  "dryRunTimeoutMinutes": 30,
  "timeoutFactor": 2,
  "mutate": [
    "src/lib/keys/**/*.ts",
    "src/lib/files/atomic.ts",
    "src/lib/files/lock.ts",
    "src/lib/files/credentials.ts",
    "src/lib/files/ini.ts",
    "src/lib/redact.ts",
    "src/lib/verify/rules.ts"
  ],
  "mochaOptions": {
    "config": ".mocharc.json",
    "spec": [
      "test/unit/foundation.test.ts",
      "test/unit/ini.test.ts",
      "test/unit/credentials.test.ts",
      "test/unit/verify.test.ts",
      "test/unit/rules-strength.test.ts",
      "test/unit/files-strength.test.ts",
      "test/unit/keys-faults.test.ts",
      "test/unit/keys-strength.test.ts",
      "test/moto/verify.test.ts"
    ]
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
