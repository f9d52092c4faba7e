/**
 * scripts/demo.sh on a first run (issue 9, conventions): the Pulumi build runs in the
 * background with progress lines, and `psb init` works meanwhile. The build is a stand-in
 * (PSB_DEMO_BUILD_PULUMI) that downloads nothing and fails after a while, like a machine
 * without Go: the demo then goes on without Pulumi.
 */
import {expect} from 'chai'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT, TempHome, baseEnv, runProcess} from '../support/cli.js'

describe('scripts/demo.sh: a first run shows psb at work while Pulumi builds', function () {
  let home: TempHome
  beforeEach(() => (home = new TempHome()))
  afterEach(() => home.cleanup())

  it('starts the build in the background, runs psb init first, and reports the build\'s progress with elapsed time', async () => {
    const stub = join(home.dir, 'build-pulumi-stub.sh')
    writeFileSync(
      stub,
      [
        '#!/usr/bin/env bash',
        '[[ "${PSB_PULUMI_CACHED_ONLY:-}" == 1 ]] && exit 1',
        'echo "go: downloading example.com/a v1.0.0" >&2',
        'echo "go: downloading example.com/b v1.0.0" >&2',
        'for i in $(seq 1 20); do echo "example.com/pkg$i" >&2; sleep 1; done',
        'echo "build-pulumi: no Go here" >&2',
        'exit 1',
      ].join('\n'),
      {mode: 0o755},
    )
    const env = {...baseEnv(home.dir), HOME: process.env.HOME ?? home.dir, PSB_DEMO_BUILD_PULUMI: stub, PSB_DEMO_PROGRESS_S: '2', NO_COLOR: '1'}
    const r = await runProcess('bash', ['-c', 'bash scripts/demo.sh 2>&1'], {env, cwd: ROOT, timeoutMs: 240_000})
    const out = r.stdout
    expect(r.code, out).to.equal(0)
    const started = out.indexOf('==> Building the Pulumi CLI from source in the background (first run only: about 6 minutes')
    const init = out.indexOf('✔ Access key of pulumi in profile pulumi: created')
    const progress = out.search(/ {2}building Pulumi: 0m\d\ds elapsed; Go modules downloaded: 2; packages compiled: \d+; last: example\.com\/pkg\d+/)
    const failed = out.search(/The Pulumi CLI could not be built after 0m\d\ds/)
    expect(started, out).to.be.greaterThan(-1)
    expect(init, out).to.be.greaterThan(started)
    expect(progress, out).to.be.greaterThan(init)
    expect(failed, out).to.be.greaterThan(progress)
    expect(out).to.contain('init --bucket psb-demo-pulumi-state --region us-west-1 --profile pulumi --admin-profile admin')
  })
})
