/**
 * The aws/ domain: AWS clients (this file, its entry point: createAwsContext), SDK error
 * translation and retries (errors.ts), ARN parsing (arn.ts) and psb's tag names (tags.ts).
 *
 * The one place that creates AWS clients: region, endpoint, path-style, credentials,
 * retries, user agent and the optional call log. The SDK modules are imported lazily
 * so that `psb --help` and `psb --version` load none of them.
 */
import {appendFileSync} from 'node:fs'
import type {S3Client} from '@aws-sdk/client-s3'
import type {IAMClient} from '@aws-sdk/client-iam'
import type {STSClient} from '@aws-sdk/client-sts'
import type {KMSClient} from '@aws-sdk/client-kms'
import type {OrganizationsClient} from '@aws-sdk/client-organizations'
import {echo} from '../echo.js'
import {badInput} from '../errors.js'

export interface StaticCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** Temporary credentials and when they expire; the SDK asks again shortly before that. */
export type CredentialProvider = () => Promise<StaticCredentials & {expiration?: Date}>

export interface AwsOptions {
  /** AWS region; resolved by the caller (see resolveRegion in aws-config.ts). */
  region: string
  /** A custom endpoint (S3-compatible store, or a local emulator); implies path-style. */
  endpoint?: string
  /** A named profile to act with; undefined means the standard AWS credential chain. */
  profile?: string
  /** Explicit credentials (take precedence over `profile`). */
  credentials?: StaticCredentials
  /**
   * Credentials that expire and are fetched again (an assumed role: fleet/assume.ts); used
   * when `credentials` is not given, before `profile`. Shared by every client of the context.
   */
  credentialProvider?: CredentialProvider
  /** Total attempts per call, for the SDK's standard retry strategy. */
  maxAttempts?: number
}

/** A lazily-built set of clients sharing one configuration. */
export interface AwsContext {
  readonly options: AwsOptions
  s3(region?: string): Promise<S3Client>
  iam(): Promise<IAMClient>
  sts(): Promise<STSClient>
  /** KMS is regional: the context's region unless another is given. */
  kms(region?: string): Promise<KMSClient>
  /** AWS Organizations (global: signed for us-east-1 on the aws partition, as IAM). */
  organizations(): Promise<OrganizationsClient>
  /** Same configuration, other credentials (e.g. a newly created key). */
  withCredentials(credentials: StaticCredentials): AwsContext
}

export const USER_AGENT = 'psb/0.1.0'

function defaultMaxAttempts(): number {
  const fromEnv = Number(process.env.PSB_MAX_ATTEMPTS)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : 6
}

export function validateEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || endpoint === '') return undefined
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw badInput(`--endpoint ${echo(endpoint, {what: 'value', shape: /^[a-z0-9.:/_-]{1,200}$/})} is not a URL.`, 'Give a full URL such as http://127.0.0.1:5000 or https://s3.example.com.', 'EndpointInvalid')
  }
  if (url.username !== '' || url.password !== '') {
    // Never echoed: the part before "@" may be a password.
    throw badInput(
      `--endpoint has a user name or password before "@" (${url.protocol}//…@${url.host}); psb would print it and Pulumi would store it in its login.`,
      'Give the endpoint without credentials (e.g. https://s3.example.com); psb and Pulumi take the keys from the AWS profile.',
      'EndpointHasCredentials',
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw badInput(`--endpoint ${echo(endpoint, {what: 'value', shape: /^[a-z0-9.:/_-]{1,200}$/})} must use http or https.`, 'Give a full URL such as http://127.0.0.1:5000.', 'EndpointInvalid')
  }
  return endpoint.replace(/\/+$/, '')
}

/**
 * When PSB_CALL_LOG names a file, every AWS call is appended to it as
 * `<service> <Operation>` — used by tests and benchmarks to count (mutating) calls.
 */
function addCallLog(client: {middlewareStack: {add: (...args: any[]) => void}}, service: string): void {
  const file = process.env.PSB_CALL_LOG
  if (!file) return
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: {commandName?: string}) => async (args: unknown) => {
      const op = (context.commandName ?? 'Unknown').replace(/Command$/, '')
      appendFileSync(file, `${service} ${op}\n`)
      return next(args)
    },
    {name: 'psbCallLog', step: 'initialize'},
  )
}

/**
 * Marks every error of a client with its custom endpoint (`$psbEndpoint`), so that
 * translateAwsError can say what a bare 403 or a TLS mismatch means for that endpoint.
 */
function addEndpointMark(client: {middlewareStack: {add: (...args: any[]) => void}}, endpoint: string | undefined): void {
  if (!endpoint) return
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      try {
        return await next(args)
      } catch (error) {
        if (error && typeof error === 'object') Object.defineProperty(error, '$psbEndpoint', {value: endpoint, enumerable: false, configurable: true})
        throw error
      }
    },
    {name: 'psbEndpointMark', step: 'initialize'},
  )
}

function baseConfig(options: AwsOptions, region: string) {
  const cfg: Record<string, unknown> = {
    region,
    maxAttempts: options.maxAttempts ?? defaultMaxAttempts(),
    retryMode: 'standard',
    customUserAgent: USER_AGENT,
  }
  if (options.endpoint) cfg.endpoint = options.endpoint
  if (options.credentials) cfg.credentials = options.credentials
  else if (options.credentialProvider) cfg.credentials = options.credentialProvider
  else if (options.profile) {
    cfg.profile = options.profile
    cfg.credentials = profileCredentials(options.profile, options.endpoint, region)
  }
  return cfg
}

/**
 * The credentials of a named profile, resolved by the SDK's own profile resolver (fromIni:
 * keys, role_arn with source_profile or credential_source, SSO, credential_process), with two
 * differences from the SDK's default chain:
 *   - the AWS files are read afresh (ignoreCache): psb may write a profile (`psb init`) and
 *     act with it in the same process, and the SDK caches the files it read earlier;
 *   - with a custom endpoint, a role profile is assumed through it: the SDK makes its own STS
 *     client for AssumeRole, which does not inherit the client's endpoint and would call AWS.
 * Loaded lazily, so `psb --help` loads no SDK module.
 */
function profileCredentials(profile: string, endpoint: string | undefined, region: string): () => Promise<StaticCredentials> {
  let provider: Promise<() => Promise<StaticCredentials>> | undefined
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-ini').then(({fromIni}) => fromIni({profile, ignoreCache: true, clientConfig: endpoint ? {endpoint, region} : {region}}))
    return (await provider)()
  }
}

async function newKmsClient(options: AwsOptions, region: string): Promise<KMSClient> {
  const {KMSClient} = await import('@aws-sdk/client-kms')
  const client = new KMSClient(baseConfig(options, region))
  addCallLog(client, 'kms')
  addEndpointMark(client, options.endpoint)
  return client
}

async function newOrganizationsClient(options: AwsOptions): Promise<OrganizationsClient> {
  const {OrganizationsClient} = await import('@aws-sdk/client-organizations')
  // Organizations is global: signed for us-east-1 on the aws partition, as IAM.
  const client = new OrganizationsClient(baseConfig(options, options.endpoint ? options.region : 'us-east-1'))
  addCallLog(client, 'organizations')
  addEndpointMark(client, options.endpoint)
  return client
}

export function createAwsContext(options: AwsOptions): AwsContext {
  const s3Clients = new Map<string, Promise<S3Client>>()
  let iam: Promise<IAMClient> | undefined
  let sts: Promise<STSClient> | undefined
  const kmsClients = new Map<string, Promise<KMSClient>>()
  let organizations: Promise<OrganizationsClient> | undefined
  return {
    options,
    s3(region = options.region) {
      let c = s3Clients.get(region)
      if (!c) {
        c = import('@aws-sdk/client-s3').then(({S3Client}) => {
          const client = new S3Client({
            ...baseConfig(options, region),
            forcePathStyle: Boolean(options.endpoint),
            // Only checksum when the operation requires it: S3-compatible stores and
            // emulators often reject the SDK's default CRC32 trailers.
            requestChecksumCalculation: options.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
            responseChecksumValidation: options.endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
          })
          addCallLog(client, 's3')
          addEndpointMark(client, options.endpoint)
          return client
        })
        s3Clients.set(region, c)
      }
      return c
    },
    iam() {
      iam ??= import('@aws-sdk/client-iam').then(({IAMClient}) => {
        // IAM is global; its signing region is us-east-1 on the aws partition.
        const client = new IAMClient(baseConfig(options, options.endpoint ? options.region : 'us-east-1'))
        addCallLog(client, 'iam')
        addEndpointMark(client, options.endpoint)
        return client
      })
      return iam
    },
    sts() {
      sts ??= import('@aws-sdk/client-sts').then(({STSClient}) => {
        const client = new STSClient(baseConfig(options, options.region))
        addCallLog(client, 'sts')
        addEndpointMark(client, options.endpoint)
        return client
      })
      return sts
    },
    kms(region = options.region) {
      if (!kmsClients.has(region)) kmsClients.set(region, newKmsClient(options, region))
      return kmsClients.get(region)!
    },
    organizations: () => (organizations ??= newOrganizationsClient(options)),
    withCredentials(credentials) {
      return createAwsContext({...options, credentials, profile: undefined, credentialProvider: undefined})
    },
  }
}
