/**
 * `psb ci github` (src/lib/ci/github.ts): the workflow as data (it parses as YAML, with the
 * OIDC permission, the official action and the role), byte-for-byte against the checked-in
 * golden file, every input checked (exit 2), and the file rules: psb's mark, 0 writes when
 * unchanged, a foreign file refused without --force, the mode of an existing file kept.
 */
import {expect} from 'chai'
import {chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'
import {ROOT} from '../support/cli.js'
import {ACTIONS, MARKER, githubWorkflow, renderWorkflow, type GithubWorkflowOptions} from '../../src/lib/ci/github.js'
import {PsbError} from '../../src/lib/errors.js'

const ROLE = 'arn:aws:iam::123456789012:role/pulumi-state'
const BASE: GithubWorkflowOptions = {repo: 'acme/infra', roleArn: ROLE, bucket: 'acme-pulumi-state', region: 'eu-west-1', stack: 'prod'}
const GOLDEN = join(ROOT, 'test', 'fixtures', 'ci-github')
const golden = (name: string) => readFileSync(join(GOLDEN, name), 'utf8')

function exit2(fn: () => unknown, re: RegExp): void {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(PsbError)
    expect((error as PsbError).exitCode).to.equal(2)
    expect((error as PsbError).message).to.match(re)
    return
  }
  expect.fail('expected exit 2')
}

describe('psb ci github: the workflow', () => {
  it('parses as YAML and has id-token: write, the official action with the role and region, login, preview on PRs and up on the branch', () => {
    const w = parse(renderWorkflow(BASE))
    expect(w.permissions).to.deep.equal({'id-token': 'write', contents: 'read'})
    expect(w.on).to.deep.equal({push: {branches: ['main']}, pull_request: {branches: ['main']}})
    const job = w.jobs.pulumi
    expect(job.if).to.equal("github.repository == 'acme/infra'")
    expect(job.env.PULUMI_BACKEND_URL).to.equal('s3://acme-pulumi-state?region=eu-west-1')
    const aws = job.steps.find((s: {uses?: string}) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))
    expect(aws.uses).to.equal(ACTIONS.awsCredentials)
    expect(aws.with).to.deep.equal({'role-to-assume': ROLE, 'aws-region': 'eu-west-1'})
    const runs = job.steps.filter((s: {run?: string}) => s.run).map((s: {if?: string; run: string}) => [s.if ?? '', s.run])
    expect(runs).to.deep.equal([
      ['', 'pulumi login "$PULUMI_BACKEND_URL"'],
      ['', 'pulumi stack select --create prod'],
      ["github.event_name == 'pull_request'", 'pulumi preview --stack prod --diff'],
      ["github.event_name == 'push' && github.ref == 'refs/heads/main'", 'pulumi up --stack prod --yes'],
    ])
    // No key anywhere: the only AWS input is the role.
    expect(renderWorkflow(BASE)).to.not.match(/AWS_ACCESS_KEY_ID|aws-access-key-id|AWS_SECRET/)
    // Without a KMS key, the passphrase comes from a repository secret.
    expect(job.env.PULUMI_CONFIG_PASSPHRASE).to.equal('${{ secrets.PULUMI_CONFIG_PASSPHRASE }}')
  })

  it('matches the golden file byte for byte (passphrase, and KMS + prefix + subfolder + branch)', () => {
    expect(renderWorkflow(BASE)).to.equal(golden('passphrase.yml'))
    const full = renderWorkflow({...BASE, prefix: 'team-a', stack: 'acme/infra/prod', secretsProvider: 'kms', branch: 'trunk', workDir: 'infra'})
    expect(full).to.equal(golden('kms-prefix.yml'))
    expect(full.split('\n')[0]).to.equal(MARKER)
    const w = parse(full)
    expect(w.jobs.pulumi.env.PULUMI_SECRETS_PROVIDER).to.equal('awskms://alias/pulumi-acme-pulumi-state-team-a?region=eu-west-1')
    expect(w.jobs.pulumi.env.PULUMI_BACKEND_URL).to.equal('s3://acme-pulumi-state/team-a?region=eu-west-1')
    expect(w.jobs.pulumi.defaults).to.deep.equal({run: {'working-directory': 'infra'}})
  })

  it('refuses bad input with exit 2: wildcard or malformed repo, not a role ARN, odd stack, branch, folder, provider', () => {
    exit2(() => renderWorkflow({...BASE, repo: 'acme/*'}), /--repo/)
    exit2(() => renderWorkflow({...BASE, repo: '*/infra'}), /--repo/)
    exit2(() => renderWorkflow({...BASE, repo: 'acme'}), /--repo/)
    exit2(() => renderWorkflow({...BASE, roleArn: 'arn:aws:iam::123456789012:user/pulumi'}), /not an IAM role ARN/)
    exit2(() => renderWorkflow({...BASE, roleArn: 'pulumi-state'}), /not an IAM role ARN/)
    exit2(() => renderWorkflow({...BASE, stack: 'prod; rm -rf /'}), /--stack/)
    exit2(() => renderWorkflow({...BASE, branch: 'main..x'}), /--branch/)
    exit2(() => renderWorkflow({...BASE, workDir: '../elsewhere'}), /--work-dir/)
    exit2(() => renderWorkflow({...BASE, secretsProvider: 'vault://x'}), /awskms/)
    exit2(() => renderWorkflow({...BASE, bucket: 'Not_A_Bucket'}), /bucket/)
  })
})

describe('psb ci github: writing the file', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-ci-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('creates the file (0644, folders made), then a second run makes 0 writes (same inode and mtime)', async () => {
    const path = join(dir, '.github', 'workflows', 'pulumi.yml')
    const first = await githubWorkflow(BASE, {path})
    expect(first.status).to.equal('created')
    expect(readFileSync(path, 'utf8')).to.equal(renderWorkflow(BASE))
    expect(statSync(path).mode & 0o777).to.equal(0o644)
    const before = statSync(path)
    const second = await githubWorkflow(BASE, {path})
    expect(second.status).to.equal('unchanged')
    const after = statSync(path)
    expect([after.ino, after.mtimeMs]).to.deep.equal([before.ino, before.mtimeMs])
  })

  it('rewrites its own file when an input changes, keeping the file\'s mode', async () => {
    const path = join(dir, 'pulumi.yml')
    await githubWorkflow(BASE, {path})
    chmodSync(path, 0o664)
    const r = await githubWorkflow({...BASE, stack: 'staging'}, {path})
    expect(r.status).to.equal('updated')
    expect(readFileSync(path, 'utf8')).to.contain('pulumi up --stack staging --yes')
    expect(statSync(path).mode & 0o777).to.equal(0o664)
  })

  it('refuses a file it did not write (exit 2, content kept) unless force; a dry run writes nothing', async () => {
    const path = join(dir, 'deploy.yml')
    writeFileSync(path, 'name: hand-written\n')
    let error: unknown
    await githubWorkflow(BASE, {path}).catch((e) => (error = e))
    expect((error as PsbError).exitCode).to.equal(2)
    expect((error as PsbError).code).to.equal('WorkflowNotPsbs')
    expect(readFileSync(path, 'utf8')).to.equal('name: hand-written\n')
    const planned = await githubWorkflow(BASE, {path, force: true, dryRun: true})
    expect(planned.status).to.equal('planned')
    expect(readFileSync(path, 'utf8')).to.equal('name: hand-written\n')
    const forced = await githubWorkflow(BASE, {path, force: true})
    expect(forced.status).to.equal('updated')
    expect(readFileSync(path, 'utf8')).to.equal(renderWorkflow(BASE))
  })

  it('prints without a path (nothing written)', async () => {
    const r = await githubWorkflow(BASE)
    expect(r.status).to.equal('printed')
    expect(r.path).to.equal(undefined)
    expect(r.workflow).to.equal(renderWorkflow(BASE))
  })
})
