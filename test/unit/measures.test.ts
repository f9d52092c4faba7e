/**
 * The layout measures of issue 11 (scripts/measures.ts): each rule is proven on a small tree
 * made here, so a measure that silently stopped measuring fails; and the repository itself
 * has no regression against scripts/measures-baseline.json.
 */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {judge, measure, MAX_BODY, MAX_COMMAND} from '../../scripts/measures.js'
import {ROOT} from '../support/cli.js'

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'psb-measures-'))
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), {recursive: true})
    writeFileSync(join(root, p), text)
  }
  return root
}

const body = (n: number): string => `export function big(): number {\n${'  let x = 1\n'.repeat(n - 3)}  return 1\n}\n`

describe('layout measures (scripts/measures.ts)', () => {
  let root = ''
  afterEach(() => rmSync(root, {recursive: true, force: true}))

  it('a clean tree has no violation', () => {
    root = tree({
      'src/lib/errors.ts': 'export const E = 1\n',
      'src/lib/aws/client.ts': "import {E} from '../errors.js'\nexport const C = E\n",
      'src/lib/bucket/ensure.ts': "import {C} from '../aws/client.js'\nexport const B = C\n",
      'src/commands/x.ts': "import {B} from '../lib/bucket/ensure.js'\nexport default B\n",
      'src/lib/keys/rotate.ts': body(MAX_BODY),
    })
    expect(measure(root).violations).to.deep.equal([])
  })

  it('finds a function body over the limit, a long command file, an upward import, the ground importing a domain, and too many top-level files', () => {
    const files: Record<string, string> = {
      'src/lib/errors.ts': "import {C} from './aws/client.js'\nexport const E = C\n",
      'src/lib/aws/client.ts': "import {B} from '../bucket/ensure.js'\nexport const C = B\n",
      'src/lib/bucket/ensure.ts': 'export const B = 1\n',
      'src/lib/keys/rotate.ts': body(MAX_BODY + 1),
      'src/commands/long.ts': 'export const a = 1\n'.repeat(MAX_COMMAND + 1),
    }
    for (let i = 0; i < 8; i++) files[`src/lib/g${i}.ts`] = 'export const g = 1\n'
    root = tree(files)
    const rules = measure(root).violations.map((v) => `${v.rule} ${v.where.replace(/:\d+$/, '')}`).sort()
    expect(rules).to.deep.equal([
      'command-length src/commands/long.ts',
      'function-length src/lib/keys/rotate.ts',
      'layers src/lib/aws/client.ts',
      'layers src/lib/errors.ts',
      'lib-top src/lib',
    ])
  })

  it('the baseline allows a known violation at its size, and fails it when it grows or when a new one appears', () => {
    root = tree({'src/lib/keys/rotate.ts': body(MAX_BODY + 5)})
    const v = measure(root).violations
    const key = v[0].key
    expect(judge(v, {[key]: MAX_BODY + 5}).failing).to.deep.equal([])
    expect(judge(v, {[key]: MAX_BODY + 4}).failing.map((x) => x.key)).to.deep.equal([key])
    expect(judge(v, {}).failing.map((x) => x.key)).to.deep.equal([key])
    expect(judge([], {[key]: 70}).improved).to.deep.equal([key])
  })

  it('the repository has no regression against scripts/measures-baseline.json', () => {
    const baseline = JSON.parse(readFileSync(join(ROOT, 'scripts', 'measures-baseline.json'), 'utf8'))
    const {failing} = judge(measure(ROOT).violations, baseline)
    expect(failing.map((f) => `${f.where}: ${f.detail}`)).to.deep.equal([])
  })
})
