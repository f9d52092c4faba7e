/**
 * `psb keys schedule` with real schedulers: the built CLI installs a schedule, the test reads
 * it back the way the scheduler would (crontab -l; the unit files, checked with
 * systemd-analyze verify; the plist, parsed with the `plist` library) and runs the job's exact
 * command with only the environment the scheduler gives it (env -i): the key rotates (moto,
 * IAM enforced). Each proof says which scheduler it could run and why not otherwise.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import plist from 'plist'
import {useMoto} from '../support/moto.js'
import {runPsb, runProcess, TempHome, type RunResult} from '../support/cli.js'
import {assertNoSecrets, credentialsText, keyWorks, makeStateUser, userKeys, writeCredentials} from '../support/keys-fixture.js'

const CRON_USER = 'psb-cron-test'

/** Why the cron proof cannot run here, or undefined (it creates the test user whose crontab it edits). */
function cronUnavailable(): string | undefined {
  if (spawnSync('crontab', ['-V']).error) return 'no crontab command (scripts/env.sh installs Debian\'s cron as root)'
  if (process.getuid?.() !== 0) return 'not root: cannot edit a test user\'s crontab (crontab -u)'
  if (spawnSync('id', [CRON_USER]).status !== 0 && spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', CRON_USER]).status !== 0) return `cannot create the test user ${CRON_USER}`
  return undefined
}

const crontab = (args: string[], input?: string) => spawnSync('crontab', ['-u', CRON_USER, ...args], {input, encoding: 'latin1'})
const readCrontab = () => {
  const r = crontab(['-l'])
  return r.status === 0 ? r.stdout : ''
}

/** Runs a command line the way cron does: /bin/sh -c, with only cron's environment (env -i). */
function runLikeCron(command: string): Promise<RunResult> {
  const cronEnv = [`HOME=/`, `LOGNAME=${CRON_USER}`, 'SHELL=/bin/sh', 'PATH=/usr/bin:/bin']
  return runProcess('/usr/bin/env', ['-i', ...cronEnv, '/bin/sh', '-c', command.replace(/\\%/g, '%')], {env: {}, timeoutMs: 90_000})
}

/** Runs argv with exactly the given environment (env -i), as systemd and launchd do. */
function runWithOnly(env: Record<string, string>, argv: string[]): Promise<RunResult> {
  return runProcess('/usr/bin/env', ['-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], {env: {}, timeoutMs: 90_000})
}

/** The words of a systemd unit line as systemd splits them (psb quotes with "" only). */
function unitWords(value: string): string[] {
  return (value.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((w) => (w.startsWith('"') ? w.slice(1, -1).replace(/\\(["\\])/g, '$1') : w).replace(/%%/g, '%').replace(/\$\$/g, '$'))
}

describe('psb keys schedule with real schedulers (CLI against moto, IAM enforcement on)', function () {
  this.timeout(180_000)
  const moto = useMoto()
  let home: TempHome
  const outputs: string[] = []
  const secrets: string[] = []

  beforeEach(() => {
    home = new TempHome('psb-schedule-')
    outputs.length = 0
    secrets.length = 0
  })
  afterEach(() => {
    assertNoSecrets(outputs, [...secrets, moto.admin.secretAccessKey])
    home.cleanup()
  })

  const psb = async (args: string[], env: Record<string, string> = {}): Promise<RunResult> => {
    const r = await runPsb(args, home, {env: {PSB_CRONTAB_USER: CRON_USER, ...env}})
    outputs.push(r.stdout, r.stderr)
    return r
  }
  const aws = (): string[] => ['--endpoint', moto.endpoint, '--region', 'us-east-1']
  const setup = async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
    secrets.push(u.key.secretAccessKey)
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    return u
  }
  /** The key the profile holds now, and whether IAM has it as the user's only key. */
  const rotatedAway = async (old: string) => {
    const keys = await userKeys(moto.endpoint, moto.admin, 'pulumi')
    const now = /\[pulumi\]\n# the key Pulumi uses\naws_access_key_id = (\S+)\naws_secret_access_key {3}= {3}(\S+)/.exec(readFileSync(home.credentialsFile, 'utf8'))!
    secrets.push(now[2])
    return {keys, fileKey: now[1], works: await keyWorks(moto.endpoint, {accessKeyId: now[1], secretAccessKey: now[2]}, 'pulumi'), changed: now[1] !== old}
  }

  describe('cron', () => {
    let saved: string | undefined
    let why: string | undefined
    before(function () {
      why = cronUnavailable()
      if (why) {
        // Skip reason: no usable cron daemon or crontab on this machine (cronUnavailable says which); CI installs cron (scripts/env.sh), and the reason is printed.
        console.log(`      cron proof: NOT made here: ${why}`)
        this.skip()
      }
      console.log(`      cron proof: real crontab of the test user ${CRON_USER} (crontab -l / -), job run under env -i + /bin/sh -c`)
      saved = readCrontab()
    })
    after(() => {
      if (!why && saved !== undefined) crontab(['-'], saved)
    })

    it('installs one line under a marker naming the profile, keeps every other line byte for byte, and the exact line rotates the key under a bare environment', async () => {
      const others = '# my own jobs\nMAILTO=""\n*/5 * * * * /bin/true  # keep   my spacing\n\n0 1 * * 0 echo "100\\% done"\n'
      crontab(['-'], others)
      const u = await setup()
      const r = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '30d', '--max-age', '1s', '--at', '03:17', '--scheduler', 'cron', ...aws()])
      expect(r.code, r.stderr).to.equal(0)
      const tab = readCrontab()
      expect(tab.startsWith(others), tab).to.equal(true)
      const added = tab.slice(others.length).split('\n').filter(Boolean)
      expect(added).to.have.length(2)
      expect(added[0]).to.match(/^# psb keys schedule --scheduler cron --profile pulumi --every 30d --max-age 1s --at 03:17 .*remove --profile pulumi\)$/)
      expect(added[1]).to.match(/^17 3 \* \* \* HOME=\S+ AWS_SHARED_CREDENTIALS_FILE=\S+ AWS_CONFIG_FILE=\S+ PATH=\S+ \/\S+\/node \/\S+\/bin\/run\.js keys rotate --profile pulumi --max-age 1s --detailed-exitcode --log-file \S+ --region us-east-1 --endpoint http:\/\/\S+ >> \S+ 2>&1 \|\| \[ \$\? -eq 10 \]$/)

      await new Promise((res) => setTimeout(res, 1500)) // the key is now older than --max-age 1s
      const command = added[1].split(' ').slice(5).join(' ')
      const job = await runLikeCron(command)
      expect(job.code, job.stdout + job.stderr).to.equal(0)
      const after = await rotatedAway(u.key.accessKeyId)
      expect(after.changed).to.equal(true)
      expect(after.works).to.equal('ok')
      expect(after.keys.map((k) => k.id)).to.deep.equal([after.fileKey])
      const log = readFileSync(home.path('.local', 'state', 'psb', 'schedule', 'pulumi.log'), 'utf8')
      expect(log).to.match(/rotated pulumi/)
      expect(log).to.match(/\{"psbScheduledRun":1,"time":"[^"]+","exitCode":0,"result":"rotated"\}/)
      outputs.push(log)

      const status = await psb(['keys', 'schedule', 'status', '--json'])
      expect(status.code, status.stderr).to.equal(0)
      const s = JSON.parse(status.stdout).schedules[0]
      expect(s).to.include({profile: 'pulumi', scheduler: 'cron', schedule: 'daily at 03:17', maxAge: '1s', keyAgeDays: 0})
      expect(s.lastRun).to.include({exitCode: 0, result: 'rotated'})
      expect(s.missing).to.deep.equal([])

      // The same options again: nothing written. Other options: psb's line replaced in place, nothing else.
      const same = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '30d', '--max-age', '1s', '--at', '03:17', '--scheduler', 'cron', ...aws()])
      expect(same.stdout).to.match(/^unchanged pulumi/)
      expect(readCrontab()).to.equal(tab)
      const again = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '90d', '--at', '04:05', '--scheduler', 'cron', ...aws()])
      expect(again.code, again.stderr).to.equal(0)
      const tab2 = readCrontab()
      expect(tab2.startsWith(others)).to.equal(true)
      expect(tab2.slice(others.length).split('\n').filter(Boolean)[1]).to.match(/^5 4 \* \* \* .* --max-age 90d /)

      // The job again: not due (exit 10 from psb, a success for the line), recorded as such.
      const notDue = await runLikeCron(tab2.slice(others.length).split('\n').filter(Boolean)[1].split(' ').slice(5).join(' '))
      expect(notDue.code).to.equal(0)
      expect(readFileSync(home.path('.local', 'state', 'psb', 'schedule', 'pulumi.log'), 'utf8')).to.match(/"exitCode":10,"result":"not-due"/)

      const removed = await psb(['keys', 'schedule', 'remove', '--profile', 'pulumi'])
      expect(removed.code, removed.stderr).to.equal(0)
      expect(readCrontab()).to.equal(others)
    })

    it('bad --every, --at or --random-delay: exit 2, the crontab untouched', async () => {
      crontab(['-'], '# mine\n')
      await setup()
      for (const bad of [['--every', '30x'], ['--every', '30d', '--at', '25:00'], ['--every', '30d', '--random-delay', 'soon'], ['--every', '30d', '--random-delay', '1d'], ['--every', '-3d']]) {
        const r = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--scheduler', 'cron', ...bad])
        expect(r.code, `${bad.join(' ')}: ${r.stderr}`).to.equal(2)
        expect(readCrontab()).to.equal('# mine\n')
      }
      const missing = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--profile', 'nope', '--every', '30d', '--scheduler', 'cron'])
      expect(missing.code).to.equal(2)
      expect(readCrontab()).to.equal('# mine\n')
    })
  })

  it('systemd: the units pass systemd-analyze verify, and the ExecStart line rotates the key under the unit\'s environment only', async function () {
    const u = await setup()
    const r = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '30d', '--max-age', '1s', '--at', '03:17', '--random-delay', '1h', '--scheduler', 'systemd', ...aws()])
    expect(r.code, r.stderr).to.equal(0)
    const dir = home.path('.config', 'systemd', 'user')
    expect(readdirSync(dir).sort()).to.deep.equal(['psb-rotate-pulumi.service', 'psb-rotate-pulumi.timer'])
    const service = readFileSync(join(dir, 'psb-rotate-pulumi.service'), 'utf8')
    const timer = readFileSync(join(dir, 'psb-rotate-pulumi.timer'), 'utf8')
    expect(timer).to.include('OnCalendar=*-*-* 03:17:00\nRandomizedDelaySec=3600\nPersistent=true\n')
    expect(service).to.include('SuccessExitStatus=10\n')
    const userSystemd = spawnSync('systemctl', ['--user', 'show-environment']).status === 0
    if (userSystemd) console.log('      systemd proof: a user systemd runs here: psb ran daemon-reload and enable --now')
    else expect(r.stderr).to.match(/does not reach a user systemd/)
    const analyze = spawnSync('systemd-analyze', ['--version'])
    if (analyze.error) {
      console.log('      systemd proof: NOT made: no systemd-analyze here; ExecStart run only')
    } else {
      console.log(`      systemd proof: systemd-analyze --user verify of the units${userSystemd ? '' : ' (no user systemd in this container)'}, then ExecStart run under env -i`)
      const runtime = mkdtempSync(join(tmpdir(), 'psb-xdg-run-'))
      const v = spawnSync('systemd-analyze', ['--user', 'verify', join(dir, 'psb-rotate-pulumi.timer'), join(dir, 'psb-rotate-pulumi.service')], {env: {...process.env, XDG_RUNTIME_DIR: runtime}, encoding: 'utf8'})
      expect(v.status, v.stderr).to.equal(0)
      expect(v.stderr).to.equal('')
    }
    const env: Record<string, string> = {}
    for (const line of service.split('\n').filter((l) => l.startsWith('Environment='))) for (const w of unitWords(line.slice(12))) env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1)
    expect(Object.keys(env).sort()).to.deep.equal(['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'HOME', 'PATH'])
    const argv = unitWords(service.split('\n').find((l) => l.startsWith('ExecStart='))!.slice(10))
    expect(argv).to.not.include('--random-delay') // systemd delays by itself
    await new Promise((res) => setTimeout(res, 1500))
    const job = await runWithOnly(env, argv)
    expect(job.code, job.stdout + job.stderr).to.equal(0)
    const after = await rotatedAway(u.key.accessKeyId)
    expect(after).to.include({changed: true, works: 'ok'})
    const second = await runWithOnly(env, [...argv.slice(0, argv.indexOf('--max-age') + 1), '30d', ...argv.slice(argv.indexOf('--max-age') + 2)])
    expect(second.code).to.equal(10) // not due: SuccessExitStatus=10 makes it a success for systemd

    const removed = await psb(['keys', 'schedule', 'remove', '--all', '--dry-run'])
    expect(removed.stdout).to.match(/planned pulumi \(systemd\)/)
    expect(readdirSync(dir)).to.have.length(2)
    await psb(['keys', 'schedule', 'remove', '--all'])
    expect(readdirSync(dir)).to.deep.equal([])
  })

  it('launchd: the plist parses (plist library), and its ProgramArguments rotate the key under its EnvironmentVariables only', async () => {
    console.log('      launchd proof: plist parsed by the plist library, ProgramArguments run under env -i (no launchctl off macOS)')
    const u = await setup()
    const r = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '30d', '--max-age', '1s', '--at', '03:17', '--scheduler', 'launchd', ...aws()])
    expect(r.code, r.stderr).to.equal(0)
    const path = home.path('Library', 'LaunchAgents', 'dev.psb.rotate.pulumi.plist')
    const doc = plist.parse(readFileSync(path, 'utf8')) as {Label: string; ProgramArguments: string[]; EnvironmentVariables: Record<string, string>; StartCalendarInterval: Record<string, number>; StandardOutPath: string}
    expect(doc.Label).to.equal('dev.psb.rotate.pulumi')
    expect(doc.StartCalendarInterval).to.deep.equal({Hour: 3, Minute: 17})
    await new Promise((res) => setTimeout(res, 1500))
    const job = await runWithOnly(doc.EnvironmentVariables, doc.ProgramArguments)
    expect(job.code, job.stdout + job.stderr).to.equal(0)
    expect(await rotatedAway(u.key.accessKeyId)).to.include({changed: true, works: 'ok'})
    expect(existsSync(doc.StandardOutPath.replace(/\/pulumi\.log$/, ''))).to.equal(true)
    // Moving the schedule to another scheduler replaces psb's entry there.
    await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '30d', '--scheduler', 'systemd', ...aws()])
    expect(existsSync(path)).to.equal(false)
  })

  it('status warns when the job\'s node or psb path no longer exists, and says how to reinstall', async () => {
    await setup()
    const r = await psb(['keys', 'schedule', 'install', '--profile', 'pulumi', '--every', '30d', '--scheduler', 'systemd', ...aws()])
    expect(r.code).to.equal(0)
    const unit = home.path('.config', 'systemd', 'user', 'psb-rotate-pulumi.service')
    const text = readFileSync(unit, 'utf8')
    const node = unitWords(text.split('\n').find((l) => l.startsWith('ExecStart='))!.slice(10))[0]
    const {writeFileSync} = await import('node:fs')
    writeFileSync(unit, text.split(node).join('/opt/node-gone/bin/node'))
    const s = await psb(['keys', 'schedule', 'status', '--no-key-age'])
    expect(s.code).to.equal(0)
    expect(s.stderr).to.include('/opt/node-gone/bin/node, which no longer exists')
    expect(s.stderr).to.include(`Reinstall it: psb keys schedule install --scheduler systemd --profile pulumi --every 30d --region us-east-1 --endpoint ${moto.endpoint}`)
  })
  it('--all-psb-profiles schedules exactly the profiles whose user psb manages (managed-by=psb), asked with each profile\'s own key', async () => {
    const mine = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
    const other = await makeStateUser(moto.endpoint, moto.admin, 'someone', {tag: false})
    secrets.push(mine.key.secretAccessKey, other.key.secretAccessKey)
    writeCredentials(home.credentialsFile, credentialsText({pulumi: mine.key, alias: mine.key, someone: other.key}))
    const r = await psb(['keys', 'schedule', 'install', '--all-psb-profiles', '--every', '90d', '--scheduler', 'systemd', '--json', ...aws()])
    expect(r.code, r.stderr).to.equal(0)
    // "alias" holds the same key as "pulumi": one rotation updates both, so one job.
    expect(JSON.parse(r.stdout).results.map((x: {profile: string}) => x.profile)).to.deep.equal(['alias'])
    expect(readdirSync(home.path('.config', 'systemd', 'user')).sort()).to.deep.equal(['psb-rotate-alias.service', 'psb-rotate-alias.timer'])
    const both = await psb(['keys', 'schedule', 'install', '--all-psb-profiles', '--profile', 'pulumi', '--every', '90d', '--scheduler', 'systemd'])
    expect(both.code).to.equal(2)
  })

  it('keys rotate --log-file records every run, a failed one (bad input) too, and --random-delay waits before any AWS call', async () => {
    await setup()
    const log = home.path('state', 'p.log')
    const bad = await psb(['keys', 'rotate', '--profile', 'nope', '--log-file', log, ...aws()])
    expect(bad.code).to.equal(2)
    const ok = await psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '30d', '--detailed-exitcode', '--random-delay', '1s', '--log-file', log, ...aws()])
    expect(ok.code, ok.stderr).to.equal(10)
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(records.map((x) => [x.exitCode, x.result])).to.deep.equal([[2, 'failed'], [10, 'not-due']])
    expect(records[0].message).to.match(/profile/)
    const rel = await psb(['keys', 'rotate', '--profile', 'pulumi', '--log-file', 'relative.log', ...aws()])
    expect(rel.code).to.equal(2)
  })
})
