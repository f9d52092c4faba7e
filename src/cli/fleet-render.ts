/**
 * What `psb init` over many targets shows once they ran: each target's plan (dry run), the
 * summary table (one row per target), the failures with their hints, and the backend URLs.
 */
import {shellQuote} from '../lib/pulumi/backend-url.js'
import {changeLines} from './tasks.js'
import {out, table} from './style.js'
import type {FleetDocument} from './fleet.js'

type Say = (line: string) => void

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

export function renderFleet(doc: FleetDocument, say: Say): void {
  if (doc.targets.length === 0) {
    say(`\nNo target in this shard (${doc.shard ?? 'all'}): nothing to do.`)
    return
  }
  if (doc.dryRun) {
    say('\nThe plan:')
    for (const t of doc.targets) {
      const lines = changeLines(t.changes)
      say(`\n${t.account}/${t.region}${t.status === 'failed' ? ' (could not be planned)' : ''}:\n${lines ? lines.replace(/^/gm, '  ') : '  nothing to change'}`)
    }
  }
  const word = (t: FleetDocument['targets'][number]) => (t.status === 'failed' ? out.red('failed') : doc.dryRun ? 'planned' : t.changed ? out.green('ok') : `${out.green('ok')} ${out.dim('(unchanged)')}`)
  say(`\n${table(['ACCOUNT', 'REGION', 'BUCKET', 'PROFILE', 'STATUS', 'TIME'], doc.targets.map((t) => [t.account, t.region, t.bucket, t.profile, word(t), seconds(t.ms)]))}`)
  const failed = doc.targets.filter((t) => t.status === 'failed')
  for (const t of failed) say(`\n${t.account}/${t.region} failed${t.error?.step ? ` at step ${t.error.step}` : ''}: ${t.error?.message ?? ''}${t.error?.hint ? `\n  Hint: ${t.error.hint}` : ''}`)
  const ok = doc.targets.length - failed.length
  if (doc.dryRun) {
    say('\nDry run: nothing was changed. Run the same command without --dry-run to apply it.')
    return
  }
  say(`\n${ok} of ${doc.targets.length} target${doc.targets.length === 1 ? '' : 's'} set up${failed.length ? `, ${failed.length} failed: run the same command again, it repeats only what is missing` : ''}.`)
  const done = doc.targets.filter((t) => t.status === 'ok')
  if (done.length > 0) say(`\nBackend URLs (in a project: pulumi login <url>):\n${done.map((t) => `  ${t.account}/${t.region}  ${shellQuote(t.backendUrl)}`).join('\n')}`)
}
