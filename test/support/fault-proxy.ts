/**
 * A loopback HTTP proxy in front of moto that injects AWS faults, for the key-rotation
 * tests: it forwards every request unchanged (the Host header too, so SigV4 signatures stay
 * valid) unless a rule answers it instead with an AWS error document.
 *
 *   const proxy = new FaultProxy(moto.endpoint)
 *   proxy.rules.push(({action}) => action === 'CreateAccessKey' ? awsError('iam', 400, 'Throttling', 'Rate exceeded') : undefined)
 *   await proxy.start(); ... proxy.endpoint ... proxy.calls
 */
import {createServer, request, type IncomingMessage, type Server} from 'node:http'

export interface ProxiedRequest {
  method: string
  path: string
  /** awsQuery action (IAM, STS), e.g. `CreateAccessKey`; for S3 `S3:<METHOD>`. */
  action: string
  /** Service from the SigV4 credential scope: iam, sts, s3. */
  service: string
  /** Access key id that signed the request. */
  keyId: string
  body: string
}

export interface FaultAnswer {
  status: number
  body: string
  headers?: Record<string, string>
}

export type FaultRule = (req: ProxiedRequest) => FaultAnswer | undefined

/** An AWS error document: awsQuery XML for IAM/STS, REST XML for S3. */
export function awsError(service: string, status: number, code: string, message: string): FaultAnswer {
  const body =
    service === 's3'
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`
      : `<ErrorResponse xmlns="https://${service}.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>`
  return {status, body, headers: {'content-type': 'text/xml', 'x-amzn-requestid': 'fault'}}
}

/** "The new key is not known yet": what IAM/STS and S3 answer while a key propagates. */
export function notYetPropagated(service: string): FaultAnswer {
  return service === 's3'
    ? awsError('s3', 403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.')
    : awsError(service, 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export class FaultProxy {
  readonly rules: FaultRule[] = []
  readonly calls: (ProxiedRequest & {faulted: boolean})[] = []
  private server?: Server
  port = 0

  constructor(private readonly target: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<string> {
    const target = new URL(this.target)
    this.server = createServer(async (req, res) => {
      const body = await readBody(req)
      const text = body.toString('utf8')
      const auth = String(req.headers.authorization ?? '')
      const cred = /Credential=([A-Z0-9]+)\/\d{8}\/[^/]+\/([a-z0-9-]+)\//.exec(auth)
      const service = cred?.[2] ?? ''
      const action = service === 's3' ? `S3:${req.method}` : (new URLSearchParams(text).get('Action') ?? '')
      const info: ProxiedRequest = {method: req.method ?? 'GET', path: req.url ?? '/', action, service, keyId: cred?.[1] ?? '', body: text}
      let answer: FaultAnswer | undefined
      for (const rule of this.rules) {
        answer = rule(info)
        if (answer) break
      }
      this.calls.push({...info, faulted: Boolean(answer)})
      if (answer) {
        res.writeHead(answer.status, {...answer.headers, 'content-length': Buffer.byteLength(answer.body)})
        res.end(answer.body)
        return
      }
      const up = request(
        {host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers},
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          upRes.pipe(res)
        },
      )
      up.on('error', (e) => {
        res.writeHead(502)
        res.end(String(e))
      })
      up.end(body)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const addr = this.server.address()
    this.port = typeof addr === 'object' && addr ? addr.port : 0
    return this.endpoint
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
}
