/**
 * Merges Stryker incremental files (mutation-testing-report-schema JSON) into one:
 *
 *   node scripts/stryker/merge-incremental.mjs OUT IN1 IN2 ...
 *
 * For runs made apart (each with its own --incrementalFile), e.g. two groups of
 * stryker.config.mjs run at the same time. A later input wins for a source file that several
 * hold. Test ids are renumbered: one id per test (file + name), and every mutant's coveredBy
 * and killedBy point at the new ids; mutant ids are renumbered too (ids are only labels, the
 * incremental diff matches mutants by file, location, mutator and replacement).
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'

const [out, ...inputs] = process.argv.slice(2)
if (!out || inputs.length === 0) {
  console.error('usage: merge-incremental.mjs OUT IN1 [IN2 ...]')
  process.exit(2)
}

const merged = {files: {}, testFiles: {}}
const testIdByKey = new Map()
let mutantId = 0

function newTestId(fileName, test) {
  const key = JSON.stringify([fileName, test.name])
  if (!testIdByKey.has(key)) testIdByKey.set(key, String(testIdByKey.size))
  return testIdByKey.get(key)
}

for (const input of inputs) {
  const report = JSON.parse(readFileSync(input, 'utf8'))
  const {files, testFiles = {}, ...rest} = report
  Object.assign(merged, rest, {files: merged.files, testFiles: merged.testFiles})
  const idMap = new Map()
  for (const [fileName, testFile] of Object.entries(testFiles)) {
    const kept = new Map((merged.testFiles[fileName]?.tests ?? []).map((t) => [t.id, t]))
    for (const test of testFile.tests) {
      const id = newTestId(fileName, test)
      idMap.set(test.id, id)
      kept.set(id, {...test, id})
    }
    merged.testFiles[fileName] = {...testFile, tests: [...kept.values()]}
  }
  const mapIds = (ids) => (ids ? [...new Set(ids.map((id) => idMap.get(id)).filter((id) => id !== undefined))] : ids)
  for (const [fileName, file] of Object.entries(files)) {
    merged.files[fileName] = {
      ...file,
      mutants: file.mutants.map((m) => ({...m, id: String(mutantId++), coveredBy: mapIds(m.coveredBy), killedBy: mapIds(m.killedBy)})),
    }
  }
}

writeFileSync(`${out}.tmp`, JSON.stringify(merged))
renameSync(`${out}.tmp`, out)
const count = Object.values(merged.files).reduce((n, f) => n + f.mutants.length, 0)
console.log(`merged ${inputs.length} file(s): ${Object.keys(merged.files).length} source files, ${count} mutants, ${testIdByKey.size} tests -> ${out}`)
