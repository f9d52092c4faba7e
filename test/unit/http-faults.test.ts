/**
 * Faults an emulator does not produce on its own (issue 9, items 6 and 7): a 403 with no
 * parsable body (nock), and an https:// endpoint that speaks plain HTTP (a loopback server).
 * Also the region check of item 3 (the SDK's partition data).
 */
import {expect} from 'chai'
import {createServer, type Server} from 'node:http'
import nock from 'nock'
import {PutObjectCommand} from '@aws-sdk/client-s3'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {awsCall} from '../../src/lib/aws/errors.js'
import {isKnownRegion, validateRegion} from '../../src/lib/files/aws-config.js'
import {PsbError} from '../../src/lib/errors.js'
import {preflight} from '../../src/lib/iam/preflight.js'

const creds = {accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'}

async function failure(p: Promise<unknown>): Promise<PsbError> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(PsbError)
    return error as PsbError
  }
  throw new Error('expected a failure')
}

function putObject(endpoint: string) {
  const ctx = createAwsContext({region: 'us-east-1', endpoint, credentials: creds, maxAttempts: 1})
  return awsCall({action: 's3:PutObject', resource: 'arn:aws:s3:::b/.pulumi/meta.yaml'}, async () =>
    (await ctx.s3()).send(new PutObjectCommand({Bucket: 'b', Key: '.pulumi/meta.yaml', Body: 'x'})),
  )
}

describe('HTTP faults say what they most likely mean', () => {
  it('a bare 403 over plain HTTP names the status and the TLS-only bucket policy, and what to do', async () => {
    nock('http://127.0.0.1:5999').put(/.*/).reply(403, '')
    const e = await failure(putObject('http://127.0.0.1:5999'))
    expect(e.message).not.to.match(/Unknown/)
    expect(e.message).to.contain('s3:PutObject on arn:aws:s3:::b/.pulumi/meta.yaml failed: HTTP 403 with no AWS error code')
    expect(e.message).to.contain('TLS-only policy denies every request')
    expect(e.message).to.contain('aws:SecureTransport as false')
    expect(e.code).to.equal('InsecureTransportDenied')
    expect(e.hint).to.match(/^Use an https:\/\/ endpoint\. For a local emulator, start it the way scripts\/demo\.sh does/)
  })

  it('a bare 403 over HTTPS names the status and its likely causes', async () => {
    nock('https://s3.example.test').put(/.*/).reply(403, '')
    const e = await failure(putObject('https://s3.example.test'))
    expect(e.message).to.contain('HTTP 403 with no AWS error code in the answer: most likely the request was denied')
    expect(e.code).to.equal('Http403')
    expect(e.hint).to.contain('a bare 403 usually comes from a proxy')
  })

  it('a bare 502 names the status', async () => {
    nock('https://s3.example.test').put(/.*/).reply(502, 'Bad gateway')
    const e = await failure(putObject('https://s3.example.test'))
    expect(e.message).to.contain('HTTP 502 with no AWS error code in the answer: most likely a proxy or gateway in between failed')
  })

  describe('an https:// endpoint on a plain-HTTP port', () => {
    let server: Server
    let port = 0
    before(async () => {
      server = createServer((_q, r) => r.end('plain'))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      port = (server.address() as {port: number}).port
    })
    after(() => new Promise<void>((resolve) => server.close(() => resolve())))

    it('says the endpoint does not speak TLS and suggests http://', async () => {
      const e = await failure(putObject(`https://127.0.0.1:${port}`))
      expect(e.message).to.equal(`s3:PutObject failed: the endpoint https://127.0.0.1:${port} does not speak TLS (the TLS handshake was answered in plain HTTP).`)
      expect(e.message).not.to.contain('wrong version number')
      expect(e.hint).to.equal(`Did you mean --endpoint http://127.0.0.1:${port}? (A local emulator usually serves plain HTTP.)`)
    })

    it('is bad input in the preflight (exit 2): nothing can have been changed', async () => {
      const ctx = createAwsContext({region: 'us-east-1', endpoint: `https://127.0.0.1:${port}`, credentials: creds, maxAttempts: 1})
      const e = await failure(preflight(ctx, {env: {}}))
      expect(e.exitCode).to.equal(2)
      expect(e.code).to.equal('EndpointNotTls')
      expect(e.message).to.contain('Nothing was changed.')
    })
  })
})

describe('preflight answers that are not the user\'s input', () => {
  const stsError = (code: string) => `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${code}</Message></Error><RequestId>1</RequestId></ErrorResponse>`
  const ctx = () => createAwsContext({region: 'us-east-1', endpoint: 'https://store.example.test', credentials: creds, maxAttempts: 1})

  it('an S3-compatible store without STS: a warning, and psb goes on', async () => {
    nock('https://store.example.test').post('/').reply(501, stsError('NotImplemented'))
    const warnings: string[] = []
    expect(await preflight(ctx(), {env: {}, logger: {warn: (m) => warnings.push(m), info() {}}})).to.equal(undefined)
    expect(warnings.join('\n')).to.contain('did not answer sts:GetCallerIdentity (NotImplemented), so psb could not check the administrator\'s credentials')
  })

  it('credentials the endpoint rejects are bad input (exit 2)', async () => {
    nock('https://store.example.test').post('/').reply(403, stsError('InvalidClientTokenId'))
    const e = await failure(preflight(ctx(), {env: {}}))
    expect(e.exitCode).to.equal(2)
    expect(e.code).to.equal('BadCredentials')
  })
})

describe('regions: real ones only (the AWS SDK\'s partition data)', () => {
  it('accepts the regions of every partition', () => {
    for (const r of ['us-east-1', 'us-west-2', 'eu-central-1', 'ap-southeast-1', 'cn-north-1', 'us-gov-west-1', 'il-central-1']) expect(validateRegion(r)).to.equal(r)
  })

  it('refuses a name shaped like a region that AWS does not have, naming the near ones', () => {
    expect(isKnownRegion('us-west-99')).to.equal(false)
    let e: PsbError | undefined
    try {
      validateRegion('us-west-99')
    } catch (error) {
      e = error as PsbError
    }
    expect(e?.exitCode).to.equal(2)
    expect(e?.code).to.equal('RegionUnknown')
    expect(e?.message).to.equal('"us-west-99" is not an AWS region. Did you mean us-west-1 or us-west-2?')
  })
})

describe('help examples never lead into the TLS-only policy', () => {
  it('no example (root help, init) uses a plain-HTTP endpoint', async () => {
    const {ROOT_EXAMPLES} = await import('../../src/cli/help.js')
    const {default: Init} = await import('../../src/commands/init.js')
    const commands = [...ROOT_EXAMPLES.map(([, c]) => c), ...(Init.examples as {command: string}[]).map((e) => e.command)]
    expect(commands.join('\n')).to.contain('--endpoint https://')
    expect(commands.filter((c) => /--endpoint http:\/\//.test(c))).to.deep.equal([])
  })
})
