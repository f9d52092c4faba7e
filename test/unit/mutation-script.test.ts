/**
 * scripts/mutation.sh's CI budget and scripts/stryker/merge-incremental.mjs (no Stryker run:
 * the budget check comes before it, and the merge works on JSON alone).
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT} from '../support/cli.js'

describe('mutation testing scripts', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-mutation-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  const ci = (startedMinAgo: number, budget?: number) =>
    spawnSync('bash', ['scripts/mutation.sh', '--ci'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {...process.env, PSB_CI_START: String(Math.floor(Date.now() / 1000) - startedMinAgo * 60), ...(budget === undefined ? {} : {PSB_MUTATION_BUDGET_MIN: String(budget)})},
      timeout: 60_000,
    })

  it('--ci skips, saying so, when less than 3 of CI\'s 60 minutes are left (57 - elapsed), and runs no Stryker', () => {
    const late = ci(55)
    expect(late.status, late.stderr).to.equal(0)
    expect(late.stdout).to.match(/mutation: skipped, CI has run 55 min and has less than 3 min left of its 60/)
    expect(late.stdout + late.stderr).to.not.match(/Stryker|group \w+ \(incremental/)
    // A budget of 2 minutes set by hand is too short as well.
    const small = ci(0, 2)
    expect(small.status).to.equal(0)
    expect(small.stdout).to.match(/less than 3 min left/)
  })

  it('merge-incremental.mjs merges reports: one id per test, coveredBy and killedBy renumbered, every file kept', () => {
    const test = (id: string, name: string) => ({id, name, location: {start: {line: 1, column: 1}}})
    const mutant = (id: string, coveredBy: string[], killedBy: string[], status = 'Killed') => ({
      id,
      mutatorName: 'BooleanLiteral',
      replacement: 'false',
      location: {start: {line: 1, column: 1}, end: {line: 1, column: 5}},
      status,
      coveredBy,
      killedBy,
    })
    const a = {
      schemaVersion: '2',
      thresholds: {high: 90, low: 85},
      files: {'src/a.ts': {language: 'typescript', source: 'true', mutants: [mutant('0', ['0', '1'], ['1'])]}},
      testFiles: {'test/shared.test.ts': {source: 'x', tests: [test('0', 'shared one'), test('1', 'shared two')]}},
    }
    const b = {
      schemaVersion: '2',
      thresholds: {high: 90, low: 85},
      files: {'src/b.ts': {language: 'typescript', source: 'true', mutants: [mutant('0', ['0', '1'], [], 'Survived')]}},
      testFiles: {
        'test/shared.test.ts': {source: 'x', tests: [test('0', 'shared two')]},
        'test/b.test.ts': {source: 'y', tests: [test('1', 'b one')]},
      },
    }
    writeFileSync(join(dir, 'a.json'), JSON.stringify(a))
    writeFileSync(join(dir, 'b.json'), JSON.stringify(b))
    const r = spawnSync(process.execPath, ['scripts/stryker/merge-incremental.mjs', join(dir, 'out.json'), join(dir, 'a.json'), join(dir, 'b.json')], {cwd: ROOT, encoding: 'utf8'})
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/2 source files, 2 mutants, 3 tests/)
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'))
    const idOf = (file: string, name: string) => (out.testFiles[file].tests as {id: string; name: string}[]).find((t) => t.name === name)!.id
    expect(out.testFiles['test/shared.test.ts'].tests).to.have.length(2)
    const [one, two, bOne] = [idOf('test/shared.test.ts', 'shared one'), idOf('test/shared.test.ts', 'shared two'), idOf('test/b.test.ts', 'b one')]
    expect(new Set([one, two, bOne]).size).to.equal(3)
    expect(out.files['src/a.ts'].mutants[0]).to.include({status: 'Killed'})
    expect(out.files['src/a.ts'].mutants[0].coveredBy).to.deep.equal([one, two])
    expect(out.files['src/a.ts'].mutants[0].killedBy).to.deep.equal([two])
    expect(out.files['src/b.ts'].mutants[0].coveredBy).to.deep.equal([two, bOne])
    expect(out.files['src/a.ts'].mutants[0].id).to.not.equal(out.files['src/b.ts'].mutants[0].id)
    expect(out.thresholds).to.deep.equal({high: 90, low: 85})
  })
})
