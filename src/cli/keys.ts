/**
 * The keys commands' side of oclif: the flags of `psb keys rotate` (and the shared
 * --admin-profile), the core options they give, and the rendering of the results
 * (text and the --json records).
 */
import {Flags} from '@oclif/core'
import {renderError} from './base-command.js'
import * as shared from './flags.js'
import {err, out, status, table} from './style.js'
import {createAwsContext, validateEndpoint} from '../lib/aws/client.js'
import {checkProfile, credentialsFilePath, resolveRegion} from '../lib/files/aws-config.js'
import {readProfileCredentials, validateProfileName} from '../lib/files/credentials.js'
import {echo, NAME_SHAPE} from '../lib/echo.js'
import {formatDuration, parseDuration} from '../lib/duration.js'
import {PsbError, badInput} from '../lib/errors.js'
import {readJournalEntries} from '../lib/keys/journal.js'
import {validateBucketName} from '../lib/bucket/name.js'
import {validateUserName} from '../lib/iam/user.js'
import {DEFAULT_SUCCESSES, DEFAULT_WAIT_MS, KEYS_EXIT, type RotateManyOptions, type RotateResult} from '../lib/keys/rotate.js'
import {refuseRoleProfile} from '../lib/keys/run.js'
import {maskKeyId} from '../lib/redact.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {refuseWithAllPsbProfiles} from './fleet-verify.js'

/** --admin-profile of the keys commands: they act with the profile's own key unless it is given. */
export const keysAdminProfile = Flags.string({
  description:
    'Act as this administrator profile (with --user) instead of the profile\'s own key, e.g. for a user that may not manage its own keys. Default: the profile\'s own key.',
  helpValue: '<profile>',
})

/** The documented limits of --confirmations and --interval (docs/keys.md): outside them, exit 2. */
export const PROOF_LIMITS = {confirmations: {min: 1, max: 10}, intervalMs: {min: 0, max: 60_000}} as const

/**
 * --confirmations and --interval: how many consecutive successful rounds prove a new key, and the
 * pause between them (today's defaults when absent: `defaultConfirmations`, and 1 s, or
 * PSB_KEY_PROPAGATION_POLL_MS). Shared by `keys rotate` (3) and `init`'s first key (1).
 */
export function proofFlags(defaultConfirmations: number) {
  const {confirmations: c, intervalMs: i} = PROOF_LIMITS
  return {
    confirmations: Flags.string({
      description: `Consecutive successful calls with the new key (STS, and the state bucket when known) that prove it works, before psb goes on (default ${defaultConfirmations}; ${c.min} to ${c.max}). More is safer on AWS, where IAM takes seconds to accept a new key everywhere.`,
      helpValue: '<n>',
    }),
    interval: Flags.string({
      description: `Pause between those calls (default 1s; ${i.min}s to ${i.max / 1000}s, e.g. 500ms, 2s; a bare number is seconds). 0 suits an emulator or a partition that accepts keys at once.`,
      helpValue: '<duration>',
    }),
  }
}

/** The core's proof options from --confirmations / --interval (undefined: the defaults), checked against --wait. Bad input: exit 2. */
export function proofOptionsFromFlags(flags: {confirmations?: string; interval?: string}, waitMs: number): {successes?: number; pollMs?: number} {
  const {confirmations: c, intervalMs: i} = PROOF_LIMITS
  let successes: number | undefined
  if (flags.confirmations !== undefined) {
    const text = flags.confirmations.trim()
    successes = /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN
    if (!(successes >= c.min && successes <= c.max)) {
      throw badInput(`--confirmations ${echo(flags.confirmations, {what: 'value', shape: /^[0-9a-z.+-]{1,12}$/i})} is not a whole number from ${c.min} to ${c.max}.`, `Give e.g. --confirmations 3 (the default for keys rotate).`, 'ConfirmationsInvalid')
    }
  }
  let pollMs: number | undefined
  if (flags.interval !== undefined) {
    pollMs = parseDuration(flags.interval, {flag: '--interval', bareUnit: 's'})
    if (pollMs < i.min || pollMs > i.max) {
      throw badInput(`--interval ${formatDuration(pollMs)} is outside ${i.min}s to ${i.max / 1000}s.`, 'Give e.g. --interval 1s (the default), or 0 on an emulator.', 'IntervalInvalid')
    }
  }
  const rounds = successes ?? 1
  if (pollMs !== undefined && (rounds - 1) * pollMs >= waitMs) {
    throw badInput(
      `--wait ${formatDuration(waitMs)} is too short for ${rounds} confirmations ${formatDuration(pollMs)} apart (${formatDuration((rounds - 1) * pollMs)} of pauses alone): the proof could never succeed.`,
      'Give a longer --wait, fewer --confirmations or a shorter --interval.',
      'ProofInvalid',
    )
  }
  return {...(successes === undefined ? {} : {successes}), ...(pollMs === undefined ? {} : {pollMs})}
}

/** The parsed flags `rotateOptionsFromFlags` reads. */
export interface RotateFlags {
  profile?: string[]
  user?: string
  bucket?: string
  prefix?: string
  'max-age'?: string
  'keep-old'?: boolean
  wait?: string
  confirmations?: string
  interval?: string
  create?: boolean
  'dry-run'?: boolean
  region?: string
  endpoint?: string
  'admin-profile'?: string
  'all-psb-profiles'?: boolean
}

/** The core options from parsed flags. Bad input: exit 2, before any AWS call. */
export function rotateOptionsFromFlags(flags: RotateFlags, env: NodeJS.ProcessEnv = process.env): RotateManyOptions {
  const all = flags['all-psb-profiles'] === true
  if (all) refuseWithAllPsbProfiles(flags)
  const profiles = all ? [] : flags.profile && flags.profile.length > 0 ? flags.profile : [env.AWS_PROFILE || 'default']
  if (flags.user !== undefined) validateUserName(flags.user)
  if (flags.bucket !== undefined) validateBucketName(flags.bucket)
  if (!flags.create && !all) checkProfilesHoldKeys(profiles, flags.profile?.length ? '--profile' : env.AWS_PROFILE ? 'AWS_PROFILE' : 'the default, as no --profile was given', env)
  const endpoint = validateEndpoint(flags.endpoint)
  const region = resolveRegion(flags.region, flags['admin-profile'] ?? profiles[0], env) ?? 'us-east-1'
  const maxAgeMs = flags['max-age'] === undefined ? undefined : parseDuration(flags['max-age'], {flag: '--max-age'})
  const waitMs = flags.wait === undefined ? DEFAULT_WAIT_MS : parseDuration(flags.wait, {flag: '--wait', bareUnit: 's'})
  const proof = proofOptionsFromFlags(flags, waitMs)
  // --create has no key of the profile's own to act with: it acts as the administrator, the
  // --admin-profile or else the standard AWS credential chain (environment, AWS_PROFILE, ...).
  const admin = flags['admin-profile']
    ? createAwsContext({region, endpoint, profile: flags['admin-profile']})
    : flags.create
      ? createAwsContext({region, endpoint})
      : undefined
  return {
    profiles,
    region,
    endpoint,
    admin,
    user: flags.user,
    bucket: flags.bucket,
    prefix: normalizePrefix(flags.prefix),
    maxAgeMs,
    keepOld: flags['keep-old'] ?? false,
    waitMs,
    ...proof,
    create: flags.create ?? false,
    dryRun: flags['dry-run'] ?? false,
    env,
  }
}

/**
 * Every profile to rotate exists and holds a key (or has an unfinished rotation to finish),
 * checked before the first AWS call: one bad profile stops the run with exit 2, nothing rotated.
 */
function checkProfilesHoldKeys(profiles: string[], source: string, env: NodeJS.ProcessEnv): void {
  const journal = readJournalEntries(credentialsFilePath(env))
  for (const profile of profiles) {
    validateProfileName(profile)
    checkProfile(profile, source, env, 'Check the name (psb rotates keys of the credentials file), or create the profile with its first key: psb keys rotate --create --profile <name> --user <iam-user> --admin-profile <admin>.')
    refuseRoleProfile(profile, 'rotate', env)
    if (readProfileCredentials(profile, env) || journal.some((e) => e.profile === profile || e.profiles.includes(profile))) continue
    throw badInput(
      `The profile ${echo(profile, {what: 'profile name', shape: NAME_SHAPE})} has no access key in ${credentialsFilePath(env)}; nothing was rotated.`,
      'Check the name (psb rotates keys of the credentials file), or create it with its first key: psb keys rotate --create --profile <name> --user <iam-user> --admin-profile <admin>.',
      'ProfileHasNoKey',
    )
  }
}

/** One --json record: key ids masked, never a secret. */
export function rotateRecord(r: RotateResult): Record<string, unknown> {
  return {
    profile: r.profile,
    user: r.user || undefined,
    result: r.result,
    oldKeyId: r.oldKeyId ? maskKeyId(r.oldKeyId) : undefined,
    newKeyId: r.newKeyId ? maskKeyId(r.newKeyId) : undefined,
    oldKeyAgeDays: r.oldKeyAgeDays,
    oldKeyCreatedAt: r.oldKeyCreatedAt,
    newKeyCreatedAt: r.newKeyCreatedAt,
    dueAt: r.dueAt,
    oldKey: r.oldKey,
    cleanupPending: r.cleanupPending ?? false,
    profilesUpdated: r.profilesUpdated,
    recovered: r.recovered,
    warnings: r.warnings,
    changes: r.changes,
    timings: r.timings,
    exitCode: r.exitCode,
    ...(r.error ? {error: r.error} : {}),
  }
}

/** The flags of `psb keys rotate`. */
export const rotateFlags = {
  profile: Flags.string({
    description: 'Profile of the AWS credentials file whose key to rotate (repeatable; default: AWS_PROFILE or "default"). Every other profile holding the same key gets the new key too.',
    helpValue: '<profile>',
    multiple: true,
    // --profile a b: "b" is a stray argument (exit 2), not a second profile.
    multipleNonGreedy: true,
  }),
  user: Flags.string({
    description: 'IAM user the key belongs to. With --admin-profile: the user the administrator acts for. Without: only checked against the profile\'s key.',
    helpValue: '<name>',
  }),
  'max-age': Flags.string({
    description: 'Rotate only when the current key is older than this (e.g. 90d, 12h, 2w); otherwise say "not due" and exit 0 (10 with --detailed-exitcode).',
    helpValue: '<duration>',
  }),
  wait: Flags.string({
    description: 'How long to wait for IAM to accept the new key before giving up and rolling back (e.g. 60s, 2m; a bare number is seconds).',
    helpValue: '<duration>',
    default: '60s',
  }),
  ...proofFlags(DEFAULT_SUCCESSES),
  'detailed-exitcode': Flags.boolean({
    description: 'Distinct exit codes for every outcome: 0 rotated, 10 not due, 1 failed (without it, not due exits 0).',
    default: false,
  }),
  'keep-old': Flags.boolean({
    description: 'Leave the old key Inactive instead of deleting it (to switch back by hand); the next rotation deletes it.',
    default: false,
  }),
  create: Flags.boolean({
    description: 'When the profile does not exist (or holds no key), create the user\'s first key and write the profile. Needs --user; acts as the administrator (--admin-profile, else the standard AWS credential chain).',
    default: false,
  }),
  bucket: Flags.string({
    description: 'State bucket to check the new key against (default: the user\'s psb-bucket tag, when readable).',
    helpValue: '<name>',
  }),
  prefix: shared.prefix,
  'dry-run': shared.dryRun,
  ...shared.awsFlags,
  'admin-profile': keysAdminProfile,
}

/** The text output of `psb keys rotate`: one line (or plan) per profile, then its recoveries and warnings. */
export function renderRotation(results: RotateResult[], opts: RotateManyOptions, say: (text: string) => void, note: (text: string) => void): void {
  for (const r of results) {
    const who = `${r.profile}${r.user ? ` (user ${r.user})` : ''}`
    const t = r.timings.totalMs > 0 ? ` in ${formatDuration(r.timings.totalMs)} (${formatDuration(r.timings.propagationWaitMs)} of it waiting for IAM)` : ''
    switch (r.result) {
      case 'rotated':
        say(
          `${status('rotated', out)} ${who}: ${maskKeyId(r.oldKeyId)}${r.oldKeyAgeDays === undefined ? '' : ` (${r.oldKeyAgeDays} days old)`} → ${maskKeyId(r.newKeyId)}; profiles updated: ${r.profilesUpdated.join(', ') || '(none)'}; old key ${r.oldKey ?? 'kept'}${t}.`,
        )
        break
      case 'created':
        say(`${status('created', out)} ${who}: first key ${maskKeyId(r.newKeyId)} written into the profile${t}.`)
        break
      case 'not-due':
        say(
          `${status('not-due', out)} ${who}: key ${maskKeyId(r.oldKeyId ?? r.newKeyId)}${r.oldKeyAgeDays === undefined ? '' : ` is ${r.oldKeyAgeDays} days old`}${opts.maxAgeMs === undefined ? '' : `, younger than ${formatDuration(opts.maxAgeMs)}`}${r.dueAt ? `; due ${r.dueAt}` : ''}. Nothing changed.`,
        )
        break
      case 'planned':
        say(`Plan for ${who} (dry run, nothing changed):`)
        say(table(['ITEM', 'STATUS', 'DETAIL'], r.changes.map((c) => [c.item, status(c.status, out), c.detail ?? ''])))
        break
      case 'failed':
        process.stderr.write(renderError(new PsbError(`${who}: ${r.error?.message ?? 'failed'}`, {hint: r.error?.hint, exitCode: r.exitCode})))
        break
    }
    for (const m of r.recovered) say(`  ${err.dim('recovered')}: ${m}`)
    for (const w of r.warnings) note(w)
  }
  if (results.some((r) => r.cleanupPending)) {
    note(`Exit ${KEYS_EXIT.CLEANUP_PENDING}: the profile holds the new, working key, but the old key is still there; run psb keys rotate again to remove it.`)
  }
}
