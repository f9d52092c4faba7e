/**
 * bench/floor: the same 9 requests as reads.ts, signed with the SDK's SigV4 signer
 * (@smithy/signature-v4) and sent with node:http: no SDK client, no XML parsing. This is what
 * Node itself costs for the work, the floor under any client library.
 * Environment: FLOOR_ENDPOINT, FLOOR_BUCKET, FLOOR_PROFILE (in AWS_SHARED_CREDENTIALS_FILE).
 */
import {SignatureV4} from '@smithy/signature-v4'
import {createHash, createHmac} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {Agent, request} from 'node:http'

type SourceData = string | ArrayBuffer | ArrayBufferView

const bytes = (d: SourceData): string | Uint8Array => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d))

class Sha256 {
  private readonly hash
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data))
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest())
  }
}

/** The profile's static keys (the bench writes a plain [profile] with both). */
function keys(profile: string): {accessKeyId: string; secretAccessKey: string} {
  const text = readFileSync(process.env.AWS_SHARED_CREDENTIALS_FILE ?? '', 'utf8')
  const section = text.split(/^\[/m).find((s) => s.startsWith(`${profile}]`)) ?? ''
  const get = (k: string) => new RegExp(`^${k}\\s*=\\s*(\\S+)`, 'm').exec(section)?.[1] ?? ''
  return {accessKeyId: get('aws_access_key_id'), secretAccessKey: get('aws_secret_access_key')}
}

async function main(): Promise<void> {
  const endpoint = new URL(process.env.FLOOR_ENDPOINT ?? '')
  const bucket = process.env.FLOOR_BUCKET ?? ''
  const credentials = keys(process.env.FLOOR_PROFILE ?? 'bench')
  const agent = new Agent({keepAlive: true})
  const send = async (service: string, method: string, query: Record<string, string>, body = ''): Promise<number> => {
    const path = service === 's3' ? `/${bucket}` : '/'
    const signer = new SignatureV4({credentials, region: 'us-east-1', service, sha256: Sha256})
    const headers: Record<string, string> = {host: endpoint.host, ...(body ? {'content-type': 'application/x-www-form-urlencoded'} : {})}
    const signed = await signer.sign({method, protocol: endpoint.protocol, hostname: endpoint.hostname, port: Number(endpoint.port), path, query, headers, body})
    const qs = new URLSearchParams(query).toString()
    return new Promise((resolve, reject) => {
      const req = request({agent, host: endpoint.hostname, port: endpoint.port, method, path: qs ? `${path}?${qs}` : path, headers: signed.headers}, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      req.end(body)
    })
  }
  const statuses = [await send('sts', 'POST', {}, 'Action=GetCallerIdentity&Version=2011-06-15'), await send('s3', 'HEAD', {})]
  const reads = ['versioning', 'tagging', 'encryption', 'publicAccessBlock', 'ownershipControls', 'policy', 'lifecycle']
  statuses.push(...(await Promise.all(reads.map((q) => send('s3', 'GET', {[q]: ''})))))
  agent.destroy()
  if (statuses.some((s) => s !== 200)) throw new Error(`unexpected statuses: ${statuses.join(', ')}`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
