/** What `psb creds write` prints (the --json document is the core result itself). */
import {maskKeyId} from '../lib/redact.js'
import type {WriteProfileResult} from '../lib/files/credentials.js'
import {out, status, table} from './style.js'

/** The human rendering of `psb creds write`: the dry-run diff, or the table of changes. */
export function renderCredsWrite(r: WriteProfileResult, keyId: string, say: (line: string) => void): void {
  if (r.dryRun) {
    if (r.diff.length === 0) {
      say(`Dry run: the profile "${r.profile}" already holds this key; nothing would change.`)
      return
    }
    say(`Dry run: nothing was written. These lines would change (secrets shown as ****):`)
    let file = ''
    for (const d of r.diff) {
      if (d.file !== file) {
        file = d.file
        say(out.bold(file))
      }
      const text = `${d.op} ${String(d.line).padStart(4)}: ${d.text}`
      say(`  ${d.op === '+' ? out.green(text) : out.red(text)}`)
    }
    return
  }
  const rows = r.changes.map((c) => [c.item, status(c.status), c.detail ?? ''])
  const anyChange = r.credentialsChanged || r.configChanged
  say(anyChange ? `Wrote the profile "${r.profile}" (key ${maskKeyId(keyId)}).` : `The profile "${r.profile}" already holds the key ${maskKeyId(keyId)}; nothing to change.`)
  if (rows.length > 0) say(table(['Setting', 'Status', 'Value'], rows))
  if (r.credentialsChanged) say(`Credentials file: ${r.credentialsFile}${r.backup ? ` (previous content kept in ${r.backup})` : ''}`)
  if (r.configChanged) say(`Config file:      ${r.configFile}${r.configBackup ? ` (previous content kept in ${r.configBackup})` : ''}`)
}
