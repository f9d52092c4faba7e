/** The pulumi-url check: a login or backend.url some Pulumi versions refuse is a warning naming them. */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {VerifyContext} from '../../src/lib/verify/run.js'
import {pulumiUrlCheck} from '../../src/lib/verify/checks/pulumi-url.js'
import {buildBackendUrl} from '../../src/lib/pulumi/backend-url.js'

const EP = {bucket: 'state', region: 'eu-west-1', profile: 'p', endpoint: 'http://127.0.0.1:5000'}
const NEW = buildBackendUrl({...EP, pulumiVersion: '3.274.1'})
const LEGACY = buildBackendUrl({...EP, pulumiVersion: '3.200.0'})

function context(dir: string, version: string, loginUrl?: string): VerifyContext {
  return {
    opts: {profile: 'p', bucket: 'state', region: 'eu-west-1', endpoint: EP.endpoint, cwd: dir},
    env: {},
    now: () => new Date(),
    maxAgeDays: 90,
    aws: undefined as never,
    who: 'profile p',
    bucketArn: 'arn:aws:s3:::state',
    facts: {pulumiVersion: version, url: buildBackendUrl({...EP, pulumiVersion: version}), loginUrl},
  }
}

describe('verify check pulumi-url', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-url-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('warns on a backend.url that Pulumi 3.113–3.244 refuse, naming them and the portable fix', async () => {
    writeFileSync(join(dir, 'Pulumi.yaml'), `name: app\nruntime: yaml\nbackend:\n  url: ${NEW}\n`)
    const r = await pulumiUrlCheck.run(context(dir, '3.274.1', LEGACY))
    expect(r?.status).to.equal('warn')
    expect(r?.detail).to.include('backend.url').and.include('Pulumi 3.113–3.244 rejects "use_path_style", "disable_https"')
    expect(r?.hint).to.include(`--project ${dir}`)
  })

  it('warns on a login that the installed Pulumi refuses (logged in by a newer Pulumi, then 3.200.0 on PATH)', async () => {
    const r = await pulumiUrlCheck.run(context(dir, '3.200.0', NEW))
    expect(r?.status).to.equal('warn')
    expect(r?.detail).to.include('the login').and.include('including your Pulumi 3.200.0')
  })

  it("passes the installed Pulumi's own login URL, and a portable backend.url", async () => {
    writeFileSync(join(dir, 'Pulumi.yaml'), `name: app\nruntime: yaml\nbackend:\n  url: ${buildBackendUrl({...EP, endpoint: 'https://s3.example.com', dialect: 'portable'})}\n`)
    const r = await pulumiUrlCheck.run(context(dir, '3.274.1', NEW))
    expect(r).to.deep.equal({status: 'pass', detail: 'backend.url of Pulumi.yaml is portable; the login is for your Pulumi 3.274.1 only'})
  })

  it('warns on a legacy URL with disableSSL in backend.url: Pulumi 3.245.x refuses it', async () => {
    writeFileSync(join(dir, 'Pulumi.yaml'), `name: app\nruntime: yaml\nbackend:\n  url: ${LEGACY}\n`)
    const r = await pulumiUrlCheck.run(context(dir, '3.200.0', LEGACY))
    expect(r?.status).to.equal('warn')
    expect(r?.detail).to.include('Pulumi 3.245.x rejects "disableSSL"').and.not.include('the login (')
  })

  it('adds no line with neither a login nor a backend.url', async () => {
    expect(await pulumiUrlCheck.run(context(dir, '3.274.1'))).to.equal(undefined)
  })
})
