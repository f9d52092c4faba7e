/**
 * Pulumi: the CLI is installed, `pulumi whoami -v` names the expected backend URL, and
 * PULUMI_BACKEND_URL does not point elsewhere. None runs with `pulumi: false`.
 */
import {buildBackendUrl, compareBackendUrls} from '../../pulumi/backend-url.js'
import {parseWhoami, pulumiVersion, runPulumi} from '../../pulumi/cli.js'
import {prefixBase} from '../rules.js'
import type {CheckUnit, Verdict, VerifyContext} from '../context.js'

/** Writes facts.pulumiVersion and facts.url (the URL Pulumi should report); the other Pulumi checks need it. */
export const pulumiCliCheck: CheckUnit = {
  id: 'pulumi-cli',
  title: 'Pulumi CLI is installed',
  needs: [],
  async run(v) {
    const o = v.opts
    if (o.pulumi === false) return undefined
    const version = o.pulumiVersion ?? (await pulumiVersion({env: v.env}).catch(() => undefined))
    v.facts.pulumiVersion = version
    v.facts.url = o.expectUrl ?? buildBackendUrl({bucket: o.bucket, prefix: o.prefix, region: o.region, profile: o.profile, endpoint: o.endpoint, pulumiVersion: version})
    if (!version) return {status: 'warn', detail: 'pulumi is not on PATH.', hint: 'Install it: https://www.pulumi.com/docs/iac/download-install/ and run psb verify again.'}
    return {status: 'pass', detail: version}
  },
}

export const pulumiBackendEnvCheck: CheckUnit = {
  id: 'pulumi-backend-env',
  title: 'PULUMI_BACKEND_URL does not point elsewhere',
  needs: ['pulumi-cli'],
  run(v) {
    const expected = v.facts.url!
    const fromEnv = v.env.PULUMI_BACKEND_URL
    if (fromEnv && compareBackendUrls(fromEnv, expected) !== 'same')
      return {
        status: 'fail',
        detail: `PULUMI_BACKEND_URL=${fromEnv} overrides the login and is not ${expected}.`,
        hint: `unset PULUMI_BACKEND_URL, or set it to '${expected}'.`,
      }
    return {status: 'pass', detail: fromEnv ? 'set to the expected URL' : 'not set'}
  },
}

export function loginHint(v: VerifyContext): string {
  const o = v.opts
  const prefix = o.prefix ? ` --prefix ${prefixBase(o.prefix).slice(0, -1)}` : ''
  const endpoint = o.endpoint ? ` --endpoint ${o.endpoint}` : ''
  return `Log in: \`psb login --bucket ${o.bucket} --region ${o.region} --profile ${o.profile}${prefix}${endpoint}\` (or \`pulumi login '${v.facts.url}'\`).`
}

/** The URL Pulumi is logged in to, judged against the expected one. */
export function judgeLogin(v: VerifyContext, url: string, source: string): Verdict {
  v.facts.loginUrl = url
  const expected = v.facts.url!
  const same = compareBackendUrls(url, expected)
  if (same === 'same') return {status: 'pass', detail: `${url}${source}`}
  if (same === 'params') return {status: 'warn', detail: `logged in to ${url}: the same bucket and prefix, other parameters than ${expected}.`, hint: loginHint(v)}
  return {status: 'fail', detail: `logged in to ${url}, not ${expected}.`, hint: loginHint(v)}
}

export const pulumiLoginCheck: CheckUnit = {
  id: 'pulumi-login',
  title: 'Pulumi is logged in to this backend',
  needs: ['pulumi-cli'],
  async run(v) {
    if (!v.facts.pulumiVersion) return {status: 'warn', detail: 'cannot check: pulumi is not installed.'}
    // Not logged in, Pulumi answers at once that it "requires logging in" (no network call
    // without a stored Pulumi Cloud token). Pulumi finds its home through PULUMI_HOME, else
    // the account's home directory (not $HOME), so psb does not look for credentials.json itself.
    if (v.opts.whoamiUrl !== undefined) return judgeLogin(v, v.opts.whoamiUrl, ' (reported by pulumi whoami -v at the login step)')
    const r = await runPulumi(['whoami', '-v'], {env: v.env, cwd: v.opts.cwd, timeoutMs: 60_000})
    if (r.code !== 0) {
      const line = (r.stderr || r.stdout).trim().split('\n').find((l) => l.trim() !== '' && !/^SDK \d/.test(l)) ?? `exit code ${r.code}`
      const notLoggedIn = /requires logging in|pulumi login/i.test(line)
      return {status: 'fail', detail: notLoggedIn ? 'Pulumi is not logged in to any backend.' : `pulumi whoami -v failed: ${line}`, hint: loginHint(v)}
    }
    const url = parseWhoami(r.stdout).backendUrl
    if (!url) return {status: 'fail', detail: 'pulumi whoami -v printed no backend URL.', hint: loginHint(v)}
    return judgeLogin(v, url, '')
  },
}
