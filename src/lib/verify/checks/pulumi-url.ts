/**
 * The backend URLs Pulumi reads here (the login, and `backend.url` of the Pulumi.yaml in the
 * working folder) work on every Pulumi from 3.113 on; otherwise a warning names the versions
 * that refuse them (url-dialects.ts). A logged-in URL that is exactly the one psb logs the
 * installed Pulumi in with passes: only this machine's Pulumi reads it.
 */
import {readProjectBackend} from '../../pulumi/project.js'
import {eraOf, rejectionsOf} from '../../pulumi/url-dialects.js'
import {prefixBase} from '../rules.js'
import {loginHint} from './pulumi.js'
import type {CheckUnit, VerifyContext} from '../context.js'

function projectHint(v: VerifyContext, dir: string): string {
  const o = v.opts
  const prefix = o.prefix ? ` --prefix ${prefixBase(o.prefix).slice(0, -1)}` : ''
  const endpoint = o.endpoint ? ` --endpoint ${o.endpoint}` : ''
  return `psb login --bucket ${o.bucket} --region ${o.region} --profile ${o.profile}${prefix}${endpoint} --project ${dir} (writes a portable URL)`
}

export const pulumiUrlCheck: CheckUnit = {
  id: 'pulumi-url',
  title: 'The backend URLs work on every Pulumi from 3.113 on',
  needs: ['pulumi-login'],
  run(v) {
    const problems: string[] = []
    const hints: string[] = []
    const notes: string[] = []
    const login = v.facts.loginUrl
    if (login) {
      const r = rejectionsOf(login)
      const era = eraOf(v.facts.pulumiVersion)
      const yours = r.some((x) => x.era === era)
      if (r.length > 0 && (yours || login !== v.facts.url)) {
        problems.push(`the login (${login}): ${r.map((x) => x.reason).join('; ')}${yours ? `, including your Pulumi ${v.facts.pulumiVersion}` : ''}`)
        hints.push(loginHint(v))
      } else if (r.length > 0) notes.push(`the login is for your Pulumi ${v.facts.pulumiVersion} only`)
    }
    const dir = v.opts.cwd ?? process.cwd()
    const project = readProjectBackend(dir)
    if (project) {
      const r = rejectionsOf(project)
      if (r.length > 0) {
        problems.push(`backend.url in ${dir}'s Pulumi.yaml (${project}): ${r.map((x) => x.reason).join('; ')}`)
        hints.push(projectHint(v, dir))
      }
    }
    if (problems.length > 0) return {status: 'warn', detail: `${problems.join('. ')}.`, hint: hints.join('; or ')}
    if (!login && !project) return undefined
    return {status: 'pass', detail: [project ? 'backend.url of Pulumi.yaml is portable' : undefined, login && notes.length === 0 ? 'the login works on every Pulumi from 3.113 on' : undefined, ...notes].filter(Boolean).join('; ')}
  },
}
