/** What `psb login` prints after a login or a --project write (the --json document is the core result). */
import type {LoginResult} from '../lib/pulumi/login.js'
import {out, status} from './style.js'

export function renderLogin(result: LoginResult, dryRun: boolean, say: (line: string) => void): void {
  say(`Backend URL: ${result.url}`)
  say(`Pulumi:      ${result.pulumiVersion ? `v${result.pulumiVersion}` : 'not installed'} (URL for ${describeForm(result.form)}, --dialect ${result.dialect})`)
  for (const c of result.changes) say(`${status(c.status, out)}  ${c.item}${c.detail ? `: ${c.detail}` : ''}`)
  if (dryRun) {
    if (result.projectFile === undefined) for (const cmd of result.commands) say(`would run: ${cmd}`)
    say('Dry run: nothing was changed.')
  } else if (result.projectFile === undefined) {
    say(`Logged in: Pulumi now uses ${result.url}${result.whoami ? ` as ${result.whoami}` : ''} (recorded in ${result.credentialsFile}).`)
  }
  const envNeeded = Object.entries(result.env)
  if (envNeeded.length > 0) say(`Every pulumi command needs: ${envNeeded.map(([k, v]) => `${k}=${v}`).join(' ')}`)
}

function describeForm(f: string): string {
  switch (f) {
    case 'new':
      return 'Pulumi 3.245 or newer'
    case 'legacy':
      return 'every Pulumi from 3.113 on'
    case 'awssdk-v2':
      return 'Pulumi 3.113 or newer with awssdk=v2'
    default:
      return 'Pulumi older than 3.113'
  }
}
