/**
 * Colour: chalk, only when the stream is a TTY, never with NO_COLOR (https://no-color.org)
 * or TERM=dumb; FORCE_COLOR forces it on.
 */
import {Chalk, type ChalkInstance} from 'chalk'

export function colorLevel(stream: NodeJS.WriteStream, env = process.env): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return 1
  if (!stream.isTTY || env.TERM === 'dumb') return 0
  const depth = stream.getColorDepth?.() ?? 4
  return depth >= 24 ? 3 : depth >= 8 ? 2 : 1
}

export const out: ChalkInstance = new Chalk({level: colorLevel(process.stdout)})
export const err: ChalkInstance = new Chalk({level: colorLevel(process.stderr)})

/** A status word, coloured when the terminal allows. */
export function status(s: string, c: ChalkInstance = out): string {
  switch (s) {
    case 'created':
    case 'updated':
    case 'pass':
    case 'rotated':
    case 'deleted':
      return c.green(s)
    case 'unchanged':
    case 'not-due':
      return c.dim(s)
    case 'skipped':
    case 'warn':
    case 'planned':
      return c.yellow(s)
    case 'fail':
      return c.red(s)
    default:
      return s
  }
}

/** A plain-text table: columns padded to the widest cell (ANSI codes ignored in widths). */
export function table(headers: string[], rows: string[][], c: ChalkInstance = out): string {
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '').length
  const widths = headers.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i] - visible(cell))))
      .join('  ')
      .trimEnd()
  return [line(headers.map((h) => c.bold(h))), ...rows.map(line)].join('\n')
}

/** Width assumed when a terminal reports 0 columns (e.g. `script` with no size): every renderer would wrap at one character. */
export const FALLBACK_COLUMNS = 80

/** Gives terminals that report 0 (or no) columns a width of 80, for listr2, tables and wrapping. */
export function ensureTerminalWidth(streams: Array<NodeJS.WriteStream> = [process.stdout, process.stderr]): void {
  for (const s of streams) if (s.isTTY && !(s.columns > 0)) s.columns = FALLBACK_COLUMNS
}
