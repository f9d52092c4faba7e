/**
 * Deterministic fs faults and races for in-process tests: while `fn` runs, chosen functions
 * of node:fs are replaced by a hook that gets the original and the arguments (it may call
 * the original, change a real file first, or throw an OS error an emulator cannot make,
 * e.g. a folder fsync refused on another platform). src/ imports these functions by name:
 * syncBuiltinESMExports() makes those bindings see the hook, and again the original after.
 * Only for what the OS cannot be made to do on cue; everything else uses real files.
 */
import fs, {readdirSync} from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {spawnSync} from 'node:child_process'

type Fn = (...args: never[]) => unknown
export type FsHooks = Partial<Record<keyof typeof fs, (original: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown>>

export async function withFsHooks<T>(hooks: FsHooks, fn: () => T | Promise<T>): Promise<T> {
  const table = fs as unknown as Record<string, Fn>
  const saved = new Map<string, Fn>()
  for (const [name, hook] of Object.entries(hooks)) {
    const original = table[name] as (...args: unknown[]) => unknown
    saved.set(name, table[name])
    table[name] = ((...args: unknown[]) => hook!(original, ...args)) as Fn
  }
  syncBuiltinESMExports()
  try {
    return await fn()
  } finally {
    for (const [name, original] of saved) table[name] = original
    syncBuiltinESMExports()
  }
}

/** An OS error with this errno code. */
export function osError(code: string, message = `${code}: injected`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), {code})
}

/** How many file descriptors this process has open (a leak shows as a higher count). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

/** Mounts a tmpfs of `size` (e.g. '64k') at `dir`, which must exist; false where that is not allowed (not root). */
export function mountTmpfs(dir: string, size: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0
}

/** Fills the file system of `dir` up (ENOSPC) with a file named filler. */
export function fillUp(dir: string): void {
  spawnSync('dd', ['if=/dev/zero', `of=${dir}/filler`, 'bs=4k'])
}

export function unmount(dir: string): void {
  spawnSync('umount', [dir])
}
