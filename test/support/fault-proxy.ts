/**
 * A loopback HTTP proxy in front of moto that injects AWS faults: the reusable fault helper
 * of the suite (documented in docs/testing.md, "The fault proxy"). It forwards every request
 * unchanged (the Host header too, so SigV4 signatures stay valid) unless a rule returns a
 * fault for it. Rules see each request's action, service, signing key id and body; the first
 * rule that returns something decides:
 *
 *   - an answer (`awsError(...)`, `notYetPropagated(...)`): AWS's reply replaced; the request
 *     never reaches moto;
 *   - `{hold: promise}`: the request waits until the promise settles, then goes on; if the
 *     client went away meanwhile (it was killed), it never reaches moto;
 *   - `{delayMs}`: forwarded after a pause;
 *   - `{drop: true}`: the connection is closed without an answer;
 *   - `{loseAnswer: answer}`: forwarded, moto acts on it, and its answer is replaced (the
 *     "500 after IAM made the key" case).
 *
 *   const proxy = new FaultProxy(moto.endpoint)
 *   proxy.rules.push(({action}) => action === 'CreateAccessKey' ? awsError('iam', 400, 'Throttling', 'Rate exceeded') : undefined)
 *   await proxy.start(); ... proxy.endpoint ... proxy.calls ... await proxy.arrived((r) => r.action === 'CreateAccessKey')
 */
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'

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

export type FaultAction = FaultAnswer | {hold: Promise<unknown>} | {delayMs: number} | {drop: true} | {loseAnswer: FaultAnswer}

export type FaultRule = (req: ProxiedRequest) => FaultAction | undefined

/** What became of a request: answered by moto, or the fault applied. */
export type CallFate = 'forwarded' | 'answered' | 'held' | 'delayed' | 'dropped' | 'answer-lost' | 'client-gone'

/** An AWS error document: awsQuery XML for IAM/STS, REST XML for S3. */
export function awsError(service: string, status: number, code: string, message: string): FaultAnswer {
  const body =
    service === 's3'
      ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`
      : `<ErrorResponse xmlns="https://${service}.amazonaws.com/doc/2010-05-08/"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>`
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

function parseRequest(req: IncomingMessage, text: string): ProxiedRequest {
  const auth = String(req.headers.authorization ?? '')
  const cred = /Credential=([A-Z0-9]+)\/\d{8}\/[^/]+\/([a-z0-9-]+)\//.exec(auth)
  const service = cred?.[2] ?? ''
  const action = service === 's3' ? `S3:${req.method}` : (new URLSearchParams(text).get('Action') ?? '')
  return {method: req.method ?? 'GET', path: req.url ?? '/', action, service, keyId: cred?.[1] ?? '', body: text}
}

function reply(res: ServerResponse, answer: FaultAnswer): void {
  res.writeHead(answer.status, {...answer.headers, 'content-length': Buffer.byteLength(answer.body)})
  res.end(answer.body)
}

export class FaultProxy {
  readonly rules: FaultRule[] = []
  readonly calls: (ProxiedRequest & {faulted: boolean; fate: CallFate})[] = []
  private server?: Server
  private waiters: {match: (r: ProxiedRequest) => boolean; resolve: (r: ProxiedRequest) => void}[] = []
  port = 0

  constructor(private readonly target: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Resolves when a request matching `match` reaches the proxy (before any fault is applied). */
  arrived(match: (r: ProxiedRequest) => boolean): Promise<ProxiedRequest> {
    const seen = this.calls.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.waiters.push({match, resolve}))
  }

  async start(): Promise<string> {
    this.server = createServer(async (req, res) => {
      const body = await readBody(req)
      const info = parseRequest(req, body.toString('utf8'))
      let action: FaultAction | undefined
      for (const rule of this.rules) {
        action = rule(info)
        if (action) break
      }
      const call = {...info, faulted: Boolean(action), fate: 'forwarded' as CallFate}
      this.calls.push(call)
      for (const w of this.waiters.filter((x) => x.match(info))) {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        w.resolve(info)
      }
      await this.apply(action, call, req, res, body)
    })
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const addr = this.server.address()
    this.port = typeof addr === 'object' && addr ? addr.port : 0
    return this.endpoint
  }

  private async apply(action: FaultAction | undefined, call: {fate: CallFate}, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    if (action && 'status' in action) {
      call.fate = 'answered'
      return reply(res, action)
    }
    if (action && 'drop' in action) {
      call.fate = 'dropped'
      req.socket.destroy()
      return
    }
    if (action && 'hold' in action) {
      call.fate = 'held'
      let gone = false
      res.on('close', () => (gone = !res.writableEnded))
      await action.hold.catch(() => undefined)
      if (gone || req.socket.destroyed) {
        call.fate = 'client-gone'
        return
      }
    }
    if (action && 'delayMs' in action) {
      call.fate = 'delayed'
      await new Promise((r) => setTimeout(r, action.delayMs))
    }
    const lost = action && 'loseAnswer' in action ? action.loseAnswer : undefined
    this.forward(req, res, body, (status, headers, upRes) => {
      if (lost) {
        call.fate = 'answer-lost'
        upRes.resume()
        return reply(res, lost)
      }
      res.writeHead(status, headers)
      upRes.pipe(res)
    })
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer, onAnswer: (status: number, headers: IncomingMessage['headers'], upRes: IncomingMessage) => void): void {
    const target = new URL(this.target)
    const up = request({host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers}, (upRes) =>
      onAnswer(upRes.statusCode ?? 502, upRes.headers, upRes),
    )
    up.on('error', (e) => {
      if (res.headersSent) return
      res.writeHead(502)
      res.end(String(e))
    })
    up.end(body)
  }

  async stop(): Promise<void> {
    const s = this.server
    this.server = undefined
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
}
