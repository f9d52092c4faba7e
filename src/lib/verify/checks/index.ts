/**
 * The table of verify's checks, in the order of the checklist and of `--json` (the ids are
 * part of the output). Adding a check: write one unit in the file of its area, add it here,
 * and test it; the runner (../run.ts) orders the table by `needs` and runs what it can at once.
 */
import type {CheckUnit} from '../context.js'
import {bucketCheck, deleteMarkerCheck, encryptionCheck, lifecycleCheck, ownershipCheck, publicAccessBlockCheck, tlsPolicyCheck, versioningCheck} from './bucket.js'
import {credentialsFileCheck} from './files.js'
import {credentialsCheck} from './identity.js'
import {keyAgeCheck, keyCountCheck} from './keys.js'
import {pulumiLocksCheck} from './locks.js'
import {leastPrivilegeCheck} from './privilege.js'
import {pulumiBackendEnvCheck, pulumiCliCheck, pulumiLoginCheck} from './pulumi.js'
import {pulumiLayoutCheck} from './layout.js'
import {pulumiUrlCheck} from './pulumi-url.js'
import {roundTripCheck} from './roundtrip.js'
import {keyScheduleCheck} from './schedule.js'
import {roleTrustCheck} from './trust.js'
import {secretsKeyStateCheck, secretsRotationCheck, secretsRoundTripCheck} from './secrets.js'

export const CHECKS: readonly CheckUnit[] = [
  credentialsCheck,
  bucketCheck,
  versioningCheck,
  encryptionCheck,
  publicAccessBlockCheck,
  ownershipCheck,
  tlsPolicyCheck,
  lifecycleCheck,
  deleteMarkerCheck,
  roundTripCheck,
  pulumiLocksCheck,
  keyAgeCheck,
  keyCountCheck,
  keyScheduleCheck,
  credentialsFileCheck,
  leastPrivilegeCheck,
  roleTrustCheck,
  pulumiCliCheck,
  pulumiLoginCheck,
  pulumiBackendEnvCheck,
  pulumiUrlCheck,
  pulumiLayoutCheck,
  secretsRoundTripCheck,
  secretsKeyStateCheck,
  secretsRotationCheck,
]
