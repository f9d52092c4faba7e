/**
 * The schedule/ domain without a scheduler: parsing (the one duration parser; exit 2), the
 * cadence, the job's command line and environment, the launchd plist (golden), the systemd
 * units, the bounded log, and verify's key-schedule check.
 */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import plist from 'plist'
import {buildSpecs, cadenceOf, defaultAt, durationText, nextRun, parseAt} from '../../src/lib/schedule/spec.js'
import {buildJob, psbEntry, safeName, shellWord} from '../../src/lib/schedule/job.js'
import {cronLines} from '../../src/lib/schedule/cron.js'
import {agentPlist} from '../../src/lib/schedule/launchd.js'
import {onCalendar, serviceUnit, systemd} from '../../src/lib/schedule/systemd.js'
import {parseMarker, splitShell} from '../../src/lib/schedule/entry.js'
import {appendRunRecord, lastRun} from '../../src/lib/schedule/log.js'
import {installSchedules, scheduleStatus} from '../../src/lib/schedule/index.js'
import {keyScheduleCheck} from '../../src/lib/verify/checks/schedule.js'
import {registerSecret} from '../../src/lib/redact.js'
import type {VerifyContext} from '../../src/lib/verify/run.js'
import {thrown} from '../support/errors.js'

const PATHS = {node: '/usr/local/bin/node', entry: '/opt/psb/bin/run.js'}
const ENV = {HOME: '/Users/ann'}

const GOLDEN_PLIST = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- psb keys schedule - -scheduler launchd - -profile pulumi - -every 30d - -at 03:17 - -random-delay 1h (managed by psb; remove with: psb keys schedule remove - -profile pulumi) -->
<plist version="1.0">
  <dict>
    <key>Label</key>
    <string>dev.psb.rotate.pulumi</string>
    <key>ProgramArguments</key>
    <array>
      <string>/usr/local/bin/node</string>
      <string>/opt/psb/bin/run.js</string>
      <string>keys</string>
      <string>rotate</string>
      <string>--profile</string>
      <string>pulumi</string>
      <string>--max-age</string>
      <string>30d</string>
      <string>--detailed-exitcode</string>
      <string>--log-file</string>
      <string>/Users/ann/.local/state/psb/schedule/pulumi.log</string>
      <string>--random-delay</string>
      <string>1h</string>
    </array>
    <key>EnvironmentVariables</key>
    <dict>
      <key>HOME</key>
      <string>/Users/ann</string>
      <key>AWS_SHARED_CREDENTIALS_FILE</key>
      <string>/Users/ann/.aws/credentials</string>
      <key>AWS_CONFIG_FILE</key>
      <string>/Users/ann/.aws/config</string>
      <key>PATH</key>
      <string>/usr/local/bin:/usr/bin:/bin</string>
    </dict>
    <key>StartCalendarInterval</key>
    <dict>
      <key>Hour</key>
      <integer>3</integer>
      <key>Minute</key>
      <integer>17</integer>
    </dict>
    <key>StandardOutPath</key>
    <string>/Users/ann/.local/state/psb/schedule/pulumi.log</string>
    <key>StandardErrorPath</key>
    <string>/Users/ann/.local/state/psb/schedule/pulumi.log</string>
    <key>RunAtLoad</key>
    <false/>
    <key>ProcessType</key>
    <string>Background</string>
  </dict>
</plist>
`

describe('psb keys schedule: the core without a scheduler', () => {
  it('the job runs the nearest bin/run.js: from the sources (src/lib/schedule) and from a chunk of the bundle (dist/chunks)', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'psb-entry-'))
    try {
      for (const d of ['bin', 'dist/chunks', 'src/lib/schedule']) mkdirSync(join(pkg, d), {recursive: true})
      writeFileSync(join(pkg, 'bin', 'run.js'), '')
      writeFileSync(join(pkg, 'package.json'), '{}')
      const entry = realpathSync(join(pkg, 'bin', 'run.js'))
      expect(psbEntry(join(pkg, 'dist', 'chunks'))).to.equal(entry)
      expect(psbEntry(join(pkg, 'src', 'lib', 'schedule'))).to.equal(entry)
    } finally {
      rmSync(pkg, {recursive: true, force: true})
    }
  })

  it('parses --every, --max-age and --random-delay with the duration parser and --at as HH:MM; every bad value is exit 2', () => {
    const [s] = buildSpecs(['pulumi'], {every: '30d', at: '03:17', randomDelay: '1h'})
    expect(s).to.include({everyMs: 30 * 86_400_000, maxAgeMs: 30 * 86_400_000, maxAgeGiven: false, randomDelayMs: 3_600_000})
    expect(s.at).to.deep.equal({hour: 3, minute: 17})
    for (const bad of [{every: '30x'}, {every: ''}, {every: '-1d'}, {every: '30s'}, {every: '30d', at: '24:00'}, {every: '30d', at: '3pm'}, {every: '30d', maxAge: 'old'}, {every: '30d', randomDelay: '1.5h'}, {every: '30d', randomDelay: '1d'}, {every: '2h', randomDelay: '1h'}]) {
      expect(thrown(() => buildSpecs(['p'], bad)).exitCode, JSON.stringify(bad)).to.equal(2)
    }
    expect(parseAt('7:05')).to.deep.equal({hour: 7, minute: 5})
  })

  it('runs daily for an interval of a day or more, hourly under a day, every minute under an hour; the next run is the next such time', () => {
    const at = {hour: 3, minute: 17}
    expect(cadenceOf({everyMs: 86_400_000, at})).to.deep.equal({kind: 'daily', hour: 3, minute: 17})
    expect(cadenceOf({everyMs: 12 * 3_600_000, at})).to.deep.equal({kind: 'hourly', minute: 17})
    expect(cadenceOf({everyMs: 600_000, at})).to.deep.equal({kind: 'minutely'})
    const now = new Date(2026, 10, 28, 4, 0, 30)
    expect(nextRun({kind: 'daily', hour: 3, minute: 17}, now).getTime()).to.equal(new Date(2026, 10, 29, 3, 17).getTime())
    expect(nextRun({kind: 'daily', hour: 5, minute: 0}, now).getTime()).to.equal(new Date(2026, 10, 28, 5, 0).getTime())
    expect(nextRun({kind: 'hourly', minute: 17}, now).getTime()).to.equal(new Date(2026, 10, 28, 4, 17).getTime())
    const [h] = buildSpecs(['p'], {every: '6h', at: '00:05'})
    expect(onCalendar(h)).to.equal('*-*-* *:05:00')
  })

  it('the default time of day is derived from the profile name (stable), between 01:00 and 05:59', () => {
    for (const p of ['pulumi', 'a', 'team-b', 'x@y']) {
      const a = defaultAt(p)
      expect(a).to.deep.equal(defaultAt(p))
      expect(a.hour).to.be.within(1, 5)
      expect(a.minute).to.be.within(0, 59)
    }
    expect(durationText(90 * 86_400_000 + 3_600_000)).to.equal('90d1h')
  })

  it('launchd: the plist is the golden one, and parses back to the same job', () => {
    const [spec] = buildSpecs(['pulumi'], {every: '30d', at: '03:17', randomDelay: '1h'})
    const job = buildJob(spec, 'launchd', ENV, PATHS)
    const text = agentPlist(spec, job)
    expect(text).to.equal(GOLDEN_PLIST)
    const doc = plist.parse(text) as {ProgramArguments: string[]; EnvironmentVariables: Record<string, string>}
    expect(doc.ProgramArguments).to.deep.equal(job.argv)
    expect(doc.EnvironmentVariables).to.deep.equal(job.env)
    expect(parseMarker(/<!-- (.*) -->/.exec(text)![1].replace(/- -/g, '--'))?.spec).to.deep.include({everyMs: spec.everyMs, randomDelayMs: spec.randomDelayMs})
  })

  it('cron: the line escapes % and quotes odd paths, and reads back to the same environment and argv', () => {
    const [spec] = buildSpecs(['a%b'], {every: '90d', at: '04:05', endpoint: 'http://127.0.0.1:5000'})
    const job = buildJob(spec, 'cron', {HOME: "/home/o'neil x"}, PATHS)
    const [marker, line] = cronLines(spec, job).split('\n')
    expect(marker).to.match(/^# psb keys schedule --scheduler cron --profile a%b --every 90d --at 04:05 --endpoint http:\/\/127\.0\.0\.1:5000 \(managed by psb/)
    expect(line.startsWith('5 4 * * * ')).to.equal(true)
    expect(line).to.include('--profile a\\%b').and.include(`HOME='/home/o'\\''neil x'`)
    const back = splitShell(line.split(' ').slice(5).join(' ').replace(/\\%/g, '%'))
    expect(back.argv).to.deep.equal(job.argv)
    expect(back.env).to.deep.equal(job.env)
    expect(shellWord('plain/path-1.2')).to.equal('plain/path-1.2')
    expect(safeName('a%b')).to.match(/^a-b-[0-9a-f]{8}$/)
    expect(safeName('a-b')).to.equal('a-b')
  })

  it('systemd: ExecStart and Environment double % and $, and the service treats 10 as success', () => {
    const [spec] = buildSpecs(['p%1'], {every: '30d', at: '01:00'})
    const job = buildJob(spec, 'systemd', {HOME: '/home/a b$'}, PATHS)
    const unit = serviceUnit(spec, job)
    expect(unit).to.include('Environment="HOME=/home/a b$$"')
    expect(unit).to.include('--profile p%%1')
    expect(unit).to.include('SuccessExitStatus=10')
    expect(job.argv).to.not.include('--random-delay')
  })

  it('the log is bounded: past its size it moves to <log>.1 (one generation kept); the last record is read from either; secrets redacted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-log-'))
    try {
      const log = join(dir, 'p.log')
      const env = {PSB_SCHEDULE_LOG_MAX_BYTES: '300'}
      expect(lastRun(log)).to.equal(undefined)
      registerSecret('wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1')
      for (let i = 0; i < 20; i++) {
        writeFileSync(log, 'x'.repeat(50) + '\n', {flag: 'a'})
        await appendRunRecord(log, {time: `t${i}`, exitCode: i % 2 ? 10 : 0, result: 'rotated', message: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1'}, env)
      }
      expect(statSync(log).size).to.be.below(600)
      expect(statSync(`${log}.1`).size).to.be.below(600)
      expect(lastRun(log)).to.deep.include({time: 't19', exitCode: 10})
      expect(readFileSync(log, 'utf8')).to.not.include('SECRETKEY1')
      expect(statSync(log).mode & 0o777).to.equal(0o600)
      writeFileSync(log, 'only output, no record yet\n')
      expect(lastRun(log)?.time).to.match(/^t1[0-8]$/)
      // A log that something else made huge: only its last 300 bytes move to .1.
      writeFileSync(log, 'y'.repeat(100_000) + '\n')
      await appendRunRecord(log, {time: 'big', exitCode: 0, result: 'rotated'}, env)
      expect(statSync(`${log}.1`).size).to.equal(300)
      expect(lastRun(log)?.time).to.equal('big')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  describe('systemd units in a temporary HOME, in-process', () => {
    let home: string
    let env: Record<string, string>
    beforeEach(() => {
      home = mkdtempSync(join(tmpdir(), 'psb-sched-'))
      env = {HOME: home, AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'), AWS_CONFIG_FILE: join(home, 'config')}
      writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, '[p]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n', {mode: 0o600})
    })
    afterEach(() => rmSync(home, {recursive: true, force: true}))

    it('--dry-run writes nothing; a second install writes nothing; status sees a missing node path; verify knows the profile is scheduled', async () => {
      const opts = {profiles: ['p'], every: '30d', at: '02:00', scheduler: 'systemd' as const, env, paths: {node: '/gone/node', entry: PATHS.entry}}
      const planned = await installSchedules({...opts, dryRun: true})
      expect(planned[0].status).to.equal('planned')
      expect(existsSync(join(home, '.config'))).to.equal(false)
      expect((await installSchedules(opts))[0].status).to.equal('created')
      // systemd opens StandardOutput=append:<log> itself: the log's folder exists, private.
      expect(statSync(join(home, '.local', 'state', 'psb', 'schedule')).mode & 0o777).to.equal(0o700)
      const unit = join(home, '.config', 'systemd', 'user', 'psb-rotate-p.service')
      const mtime = statSync(unit).mtimeMs
      expect((await installSchedules(opts))[0].status).to.equal('unchanged')
      expect(statSync(unit).mtimeMs).to.equal(mtime)
      const [s] = await scheduleStatus({env, keyAge: false, now: new Date(2026, 0, 1, 1, 0)})
      expect(s).to.include({profile: 'p', scheduler: 'systemd', schedule: 'daily at 02:00', maxAge: '30d', nextRun: new Date(2026, 0, 1, 2, 0).toISOString()})
      expect(s.missing).to.deep.equal(['/gone/node', PATHS.entry])
      expect(s.reinstall).to.equal('psb keys schedule install --scheduler systemd --profile p --every 30d --at 02:00')
      expect(systemd.entries(env)[0].argv[0]).to.equal('/gone/node')
    })

    it('verify: warns on an unscheduled key past half of --max-key-age, passes a younger one, and a scheduled one', async () => {
      const KEY = 'AKIAIOSFODNN7EXAMPLE'
      const ctx = (ageDays: number): VerifyContext =>
        ({
          opts: {profile: 'p', bucket: 'b', region: 'us-east-1'},
          env,
          now: () => new Date('2026-06-01T00:00:00Z'),
          maxAgeDays: 90,
          fileCreds: {accessKeyId: KEY, secretAccessKey: 'x'},
          facts: {identity: {account: '1', arn: 'arn:aws:iam::1:user/u', user: 'u', accessKeyId: KEY}, accessKeys: [{AccessKeyId: KEY, CreateDate: new Date(Date.parse('2026-06-01T00:00:00Z') - ageDays * 86_400_000)}]},
        }) as unknown as VerifyContext
      const old = await keyScheduleCheck.run(ctx(46))
      expect(old?.status).to.equal('warn')
      expect(old?.detail).to.include('46 days old, past half of 90 days').and.not.include(KEY)
      expect(old?.hint).to.include('psb keys schedule install --profile p --every 90d')
      expect((await keyScheduleCheck.run(ctx(45)))?.status).to.equal('pass')
      await installSchedules({profiles: ['p'], every: '30d', scheduler: 'systemd', env, paths: PATHS})
      expect(await keyScheduleCheck.run(ctx(200))).to.deep.include({status: 'pass'})
    })
  })
})
