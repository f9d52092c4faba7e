/**
 * docs/exit-codes.md is a contract: this test reads its table and, for each code, runs the
 * case the table names (the built CLI against moto, IAM enforced) and expects that code. The
 * table must list exactly the codes psb's source defines, and name the same case as here.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {useMoto} from '../support/moto.js'
import {ROOT, runPsb, TempHome, type RunResult} from '../support/cli.js'
import {credentialsText, makeStateUser, spawnPsb, writeCredentials} from '../support/keys-fixture.js'
import {FaultProxy, awsError} from '../support/fault-proxy.js'
import {EXIT} from '../../src/lib/errors.js'
import {KEYS_EXIT} from '../../src/lib/keys/run.js'
import {VERIFY_FAILED_EXIT} from '../../src/lib/verify/run.js'
import {SIGNAL_EXIT} from '../../src/lib/interrupt.js'

/** The rows of the table: code → the case it names (the text of its last column, without backticks). */
export function exitCodeTable(markdown: string): Map<number, string> {
  const rows = new Map<number, string>()
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|.*\|\s*(.+?)\s*\|\s*$/.exec(line)
    if (m) rows.set(Number(m[1]), m[2].replace(/`/g, ''))
  }
  return rows
}

describe('docs/exit-codes.md: every code is produced by the case it names (CLI against moto)', function () {
  this.timeout(180_000)
  const moto = useMoto()
  const table = exitCodeTable(readFileSync(join(ROOT, 'docs', 'exit-codes.md'), 'utf8'))
  let home: TempHome
  beforeEach(() => (home = new TempHome('psb-exit-')))
  afterEach(() => home.cleanup())

  const args = (a: string[], endpoint = moto.endpoint) => [...a, '--endpoint', endpoint, '--region', 'us-east-1']
  const env = {PSB_KEY_PROPAGATION_POLL_MS: '20'}
  const psb = (a: string[], endpoint?: string): Promise<RunResult> => runPsb(args(a, endpoint), home, {env})
  const withUser = async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    return u
  }
  const interrupted = (signal: NodeJS.Signals) => async () => {
    await withUser()
    const proxy = new FaultProxy(moto.endpoint)
    proxy.rules.push((req) => (req.action === 'GetCallerIdentity' ? {hold: new Promise(() => {})} : undefined))
    await proxy.start()
    try {
      const run = spawnPsb(args(['keys', 'list', '--profile', 'pulumi'], proxy.endpoint), home.dir, env)
      await proxy.arrived((r) => r.action === 'GetCallerIdentity')
      run.child.kill(signal)
      return await run.done
    } finally {
      await proxy.stop()
    }
  }

  /** Each case as the table names it, and how to run it. */
  const CASES: Record<number, {name: string; run: () => Promise<RunResult>}> = {
    0: {name: 'keys rotate rotates the key of a profile', run: async () => (await withUser(), psb(['keys', 'rotate', '--profile', 'pulumi', '--json']))},
    1: {
      name: 'keys rotate with a key that AWS rejects',
      run: async () => {
        writeCredentials(home.credentialsFile, credentialsText({pulumi: {accessKeyId: 'AKIADEADDEADDEADDEAD', secretAccessKey: 'deaddeaddeaddeaddeaddeaddeaddeaddeaddead'}}))
        return psb(['keys', 'rotate', '--profile', 'pulumi', '--json'])
      },
    },
    2: {name: 'keys rotate --max-age 90x', run: async () => (await withUser(), psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '90x', '--json']))},
    3: {name: 'verify of a bucket that does not exist', run: async () => (await withUser(), psb(['verify', '--profile', 'pulumi', '--bucket', 'no-such-bucket', '--json']))},
    10: {name: 'keys rotate --max-age 90d --detailed-exitcode with a new key', run: async () => (await withUser(), psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '90d', '--detailed-exitcode', '--json']))},
    11: {
      name: 'keys rotate while a live process holds the rotation lock',
      run: async () => {
        await withUser()
        const holder = spawn('sleep', ['30'])
        try {
          writeFileSync(`${home.credentialsFile}.psb-rotate.lock`, JSON.stringify({pid: holder.pid, host: hostname(), startedAt: new Date().toISOString(), nonce: 'other'}))
          return await psb(['keys', 'rotate', '--profile', 'pulumi', '--json'])
        } finally {
          holder.kill('SIGKILL')
        }
      },
    },
    12: {
      name: 'keys rotate whose DeleteAccessKey call fails',
      run: async () => {
        await withUser()
        const proxy = new FaultProxy(moto.endpoint)
        proxy.rules.push((req) => (req.action === 'DeleteAccessKey' ? awsError('iam', 500, 'ServiceFailure', 'Request processing has failed.') : undefined))
        await proxy.start()
        try {
          return await psb(['keys', 'rotate', '--profile', 'pulumi', '--json'], proxy.endpoint)
        } finally {
          await proxy.stop()
        }
      },
    },
    130: {name: 'keys list interrupted by SIGINT', run: interrupted('SIGINT')},
    143: {name: 'keys list terminated by SIGTERM', run: interrupted('SIGTERM')},
  }

  it('lists exactly the exit codes the source defines', () => {
    const defined = new Set<number>([...Object.values(EXIT), ...Object.values(KEYS_EXIT), VERIFY_FAILED_EXIT, ...Object.values(SIGNAL_EXIT)])
    expect([...table.keys()].sort((a, b) => a - b)).to.deep.equal([...defined].sort((a, b) => a - b))
    expect(Object.keys(CASES).map(Number).sort((a, b) => a - b)).to.deep.equal([...table.keys()].sort((a, b) => a - b))
  })

  for (const [code, c] of Object.entries(CASES)) {
    it(`exit ${code}: ${c.name}`, async () => {
      expect(table.get(Number(code)), `docs/exit-codes.md names another case for ${code}`).to.equal(c.name)
      const r = await c.run()
      expect(r.code, `${c.name}\n${r.stderr}`).to.equal(Number(code))
    })
  }

  it('the table parser reads a code, and a table with a wrong case fails the check above', () => {
    const rows = exitCodeTable('| code | meaning | case |\n|---|---|---|\n| 10 | not due | `keys rotate --max-age 1d` |\n')
    expect([...rows]).to.deep.equal([[10, 'keys rotate --max-age 1d']])
    expect(rows.get(10)).to.not.equal(CASES[10].name)
  })
})
