/**
 * Makes Stryker's incremental file committable, in place:
 *
 *   node scripts/stryker/scrub-incremental.mjs [reports/stryker-incremental.json]
 *
 * Stryker stores in it the whole source of every test file and, per mutant, the failure
 * message of the test that killed it; both quote the tests' secret-shaped fixtures (AWS's
 * documented example secret, fake keys). This drops them: `testFiles[*].source` and each
 * mutant's `statusReason`. What the incremental diff needs stays: the mutated modules'
 * sources, each mutant's location, mutator, replacement and status, and the tests by file and
 * name. Without a test file's source Stryker matches its tests by name ("no sources to
 * compare"): a renamed or new test is seen, an edited test body is not (docs/testing.md).
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'

const file = process.argv[2] ?? 'reports/stryker-incremental.json'
const report = JSON.parse(readFileSync(file, 'utf8'))
let sources = 0
let reasons = 0
for (const testFile of Object.values(report.testFiles ?? {})) {
  if ('source' in testFile) {
    delete testFile.source
    sources++
  }
}
for (const sourceFile of Object.values(report.files ?? {})) {
  for (const mutant of sourceFile.mutants ?? []) {
    if ('statusReason' in mutant) {
      delete mutant.statusReason
      reasons++
    }
  }
}
writeFileSync(`${file}.tmp`, JSON.stringify(report) + '\n')
renameSync(`${file}.tmp`, file)
console.log(`mutation: ${file}: dropped ${sources} test file source(s) and ${reasons} failure message(s)`)
