/**
 * Mocha root hooks: no real network in any test. nock refuses every connection except to
 * loopback (moto, fake servers). The shared moto server is stopped when the run ends.
 */
import nock from 'nock'
import {stopSharedMoto} from './support/moto.js'
import {clearRegisteredSecrets} from '../src/lib/redact.js'
import {ensureFreshDist, runsBuiltCli} from './support/fresh-dist.js'
import {contractSummary} from './support/json-contract.js'

// Tests must never touch the machine's real AWS config or credentials.
for (const k of Object.keys(process.env)) if (k.startsWith('AWS_') || k.startsWith('PULUMI_')) delete process.env[k]
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/psb-test/credentials'
process.env.AWS_CONFIG_FILE = '/nonexistent/psb-test/config'
process.env.AWS_EC2_METADATA_DISABLED = 'true'

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    // Subprocess tests run dist/: rebuild it when src/ changed since the last build (not in
    // Stryker's sandbox, whose dist/ is a copy the mutants never reach anyway).
    const files = (this.test?.parent?.suites ?? []).map((s) => s.file ?? '')
    if (!process.env.STRYKER_MUTATOR_WORKER && files.some(runsBuiltCli)) {
      this.timeout(300_000)
      ensureFreshDist()
    }
    nock.disableNetConnect()
    nock.enableNetConnect((host: string) => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host))
  },
  afterEach() {
    nock.cleanAll()
    clearRegisteredSecrets()
  },
  async afterAll() {
    nock.enableNetConnect()
    // A Stryker worker runs mocha again for every mutant in the same process: keep its moto
    // (a restart costs seconds each time); Stryker ends the worker and moto with it (tree-kill).
    if (!process.env.STRYKER_MUTATOR_WORKER) await stopSharedMoto()
    const summary = contractSummary()
    if (summary) process.stdout.write(`\n  ${summary}\n`)
  },
}
