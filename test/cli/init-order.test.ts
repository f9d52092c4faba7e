/**
 * `psb init` after a failure (issue 9, item 12): every change made is listed once, before the
 * error, in step order — a step that finished beside the failed one, and what the failed
 * step itself changed. stdout and stderr go to one file, so the order is the real one.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {closeSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import {CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand} from '@aws-sdk/client-iam'
import {useMoto} from '../support/moto.js'
import {RUN_JS, TempHome, baseEnv} from '../support/cli.js'

/** Runs psb with stdout and stderr into one file; returns the exit code and the interleaved text. */
async function runMerged(args: string[], home: TempHome): Promise<{code: number | null; out: string}> {
  const file = home.path('merged.log')
  const fd = openSync(file, 'w')
  const child = spawn(process.execPath, [RUN_JS, ...args], {cwd: home.dir, env: {...baseEnv(home.dir), PSB_MAX_ATTEMPTS: '1'}, stdio: ['ignore', fd, fd]})
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  closeSync(fd)
  return {code, out: readFileSync(file, 'utf8')}
}

describe('psb init: after a failure, every change is listed once, before the error (subprocess, moto)', function () {
  const moto = useMoto()
  let home: TempHome
  let iam: IAMClient
  beforeEach(() => {
    home = new TempHome()
    iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
  })
  afterEach(() => home.cleanup())

  const args = (adminProfile: string) => ['init', '--bucket', 'order-state', '--region', 'us-west-1', '--endpoint', moto.endpoint, '--admin-profile', adminProfile, '--profile', 'pulumi', '--no-login', '--no-verify']
  const writeAdmin = (name: string, keys: {accessKeyId: string; secretAccessKey: string}) =>
    writeFileSync(home.credentialsFile, `[${name}]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`, {mode: 0o600})

  it('the bucket finishing beside a failed user step: its changes come before "Stopped at" and the error, once', async () => {
    writeAdmin('admin', moto.admin)
    // A user psb did not create: the user step fails at once, while the bucket is being made.
    await iam.send(new CreateUserCommand({UserName: 'pulumi'}))
    const {code, out} = await runMerged(args('admin'), home)
    expect(code, out).to.equal(1)
    const changes = out.indexOf('Changes made:\nBucket:\n  created   bucket: in us-west-1')
    const stopped = out.indexOf('Stopped at: IAM user.')
    const error = out.indexOf('Error: psb init stopped at step "IAM user"')
    expect(changes, out).to.be.greaterThan(-1)
    expect(stopped, out).to.be.greaterThan(changes)
    expect(error, out).to.be.greaterThan(stopped)
    expect(out.match(/created {3}versioning: Enabled/g), out).to.have.length(1)
    expect(out.slice(error)).not.to.match(/created {3}/)
  })

  it('the failed step\'s own changes (the user it created before it failed) are listed', async () => {
    // An administrator who may do anything but put inline user policies.
    await iam.send(new CreateUserCommand({UserName: 'limited-admin'}))
    const policy = {Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: '*', Resource: '*'}, {Effect: 'Deny', Action: 'iam:PutUserPolicy', Resource: '*'}]}
    await iam.send(new PutUserPolicyCommand({UserName: 'limited-admin', PolicyName: 'all-but-policies', PolicyDocument: JSON.stringify(policy)}))
    const key = (await iam.send(new CreateAccessKeyCommand({UserName: 'limited-admin'}))).AccessKey!
    writeAdmin('limited', {accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey!})
    const {code, out} = await runMerged(args('limited'), home)
    expect(code, out).to.equal(1)
    if (process.env.SHOW) console.log(out)
    const listed = out.indexOf('IAM user (before it failed):\n  created   user pulumi: arn:aws:iam::123456789012:user/pulumi')
    const error = out.indexOf('Error: psb init stopped at step "IAM user": AWS denied iam:PutUserPolicy')
    expect(listed, out).to.be.greaterThan(-1)
    expect(error, out).to.be.greaterThan(listed)
    expect(out.match(/created {3}user pulumi/g), out).to.have.length(1)
  })
})
