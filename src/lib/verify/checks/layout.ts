/**
 * `pulumi-layout`: which DIY layout the backend has, read as Pulumi reads it
 * (pkg/backend/diy/meta.go): `<prefix>/.pulumi/meta.yaml` `version: 1` is the project-scoped
 * layout; no meta.yaml with stack files directly under `.pulumi/stacks/` (or `version: 0`) is
 * the legacy layout, which Pulumi 3.257 and later refuse to open (pulumi#19566, #24216);
 * neither is a backend with no stacks yet (Pulumi writes the project layout on first use).
 */
import {awsCode, httpStatus} from '../../aws/errors.js'
import {prefixBase} from '../rules.js'
import {readWith, unexpected, type CheckUnit, type Verdict, type VerifyContext} from '../context.js'

const s3sdk = () => import('@aws-sdk/client-s3')

/** What Pulumi reads as a legacy stack file: `<name>.json|.yaml`, optionally `.gz` / `.zst`, directly under stacks/. */
const LEGACY_STACK_FILE = /^[^/]+\.(json|yaml)(\.gz|\.zst)?$/

export const LEGACY_REFUSED_SINCE = '3.257'

/** `version:` of meta.yaml (undefined: the file says nothing Pulumi can read). */
export function metaVersion(text: string): number | undefined {
  const m = /^version:\s*(\d+)\s*(#.*)?$/m.exec(text)
  return m ? Number(m[1]) : undefined
}

function legacy(v: VerifyContext, why: string): Verdict {
  const url = v.facts.loginUrl ?? v.facts.url
  return {
    status: 'warn',
    detail: `${why}: the legacy (non-project) layout. Pulumi ${LEGACY_REFUSED_SINCE} and later refuse to open it (unless PULUMI_DIY_BACKEND_IGNORE_DEPRECATION_ERROR=1); older Pulumi warn that it is deprecated.`,
    hint: `Convert it once, with a Pulumi logged in to this backend${url ? ` (${url})` : ''}: \`pulumi state upgrade\`.`,
  }
}

/** Stack files directly under `<base>stacks/` (the legacy layout's), at most a few. */
async function legacyStackFiles(v: VerifyContext, base: string): Promise<string[] | {error: unknown}> {
  const {ListObjectsV2Command} = await s3sdk()
  const Prefix = `${base}stacks/`
  const r = await readWith(v, async (c) => (await c.s3()).send(new ListObjectsV2Command({Bucket: v.opts.bucket, Prefix, Delimiter: '/', MaxKeys: 100})))
  if ('error' in r) return r
  return (r.value.Contents ?? []).map((o) => (o.Key ?? '').slice(Prefix.length)).filter((k) => LEGACY_STACK_FILE.test(k))
}

export const pulumiLayoutCheck: CheckUnit = {
  id: 'pulumi-layout',
  title: 'Pulumi state uses the project-scoped layout',
  needs: ['bucket'],
  async run(v) {
    const base = `${prefixBase(v.opts.prefix)}.pulumi/`
    const {GetObjectCommand} = await s3sdk()
    const meta = await readWith(v, async (c) => (await (await c.s3()).send(new GetObjectCommand({Bucket: v.opts.bucket, Key: `${base}meta.yaml`}))).Body?.transformToString())
    const missing = 'error' in meta && (awsCode(meta.error) === 'NoSuchKey' || httpStatus(meta.error) === 404)
    if ('error' in meta && !missing) return {status: 'warn', ...cannotRead(v, meta.error, `${base}meta.yaml`)}
    const text = 'value' in meta ? (meta.value ?? '') : undefined
    if (text !== undefined) {
      const version = metaVersion(text)
      if (version === 1) return {status: 'pass', detail: `project layout (${base}meta.yaml version: 1)`}
      if (version === 0) return legacy(v, `${base}meta.yaml says version: 0`)
      return {status: 'warn', detail: `${base}meta.yaml has ${version === undefined ? 'no version Pulumi can read' : `version: ${version}, which this check does not know`}.`, hint: 'Check the file; Pulumi refuses a meta.yaml it cannot read.'}
    }
    const files = await legacyStackFiles(v, base)
    if ('error' in files) return {status: 'warn', ...cannotRead(v, files.error, `${base}stacks/`)}
    if (files.length > 0) return legacy(v, `no ${base}meta.yaml, and ${files.length === 1 ? 'a stack file' : 'stack files'} directly under ${base}stacks/ (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''})`)
    return {status: 'pass', detail: 'no stacks yet (Pulumi writes the project layout on first use)'}
  },
}

function cannotRead(v: VerifyContext, error: unknown, key: string): {detail: string; hint?: string} {
  const e = unexpected(v, error, key.endsWith('/') ? 's3:ListBucket' : 's3:GetObject', `${v.bucketArn}/${key}`)
  return {detail: `cannot check: ${e.detail}`, hint: e.hint}
}
