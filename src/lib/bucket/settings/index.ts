/**
 * The table of bucket settings, in the order their changes are written and reported.
 * Adding a setting means adding one file here (read / plan / apply) and one row.
 */
import {encryptionRow} from './encryption.js'
import {lifecycleRow} from './lifecycle.js'
import {ownershipRow} from './ownership.js'
import {publicAccessBlockRow} from './public-access-block.js'
import type {SettingRow} from './setting.js'
import {tagsRow} from './tags.js'
import {tlsPolicyRow} from './tls-policy.js'
import {versioningRow} from './versioning.js'

export const SETTINGS: readonly SettingRow[] = [versioningRow, encryptionRow, publicAccessBlockRow, ownershipRow, tlsPolicyRow, lifecycleRow, tagsRow]
