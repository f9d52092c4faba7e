/** The local files verify judges: the AWS credentials file is private (mode 0600). */
import {existsSync, statSync} from 'node:fs'
import {credentialsFilePath} from '../../files/aws-config.js'
import type {CheckUnit} from '../context.js'

export const credentialsFileCheck: CheckUnit = {
  id: 'credentials-file',
  title: 'Credentials file is private (mode 0600)',
  needs: [],
  run(v) {
    const file = credentialsFilePath(v.env)
    if (!existsSync(file)) return {status: v.fileCreds ? 'fail' : 'warn', detail: `${file} does not exist; the profile's credentials come from elsewhere.`}
    if (process.platform === 'win32') return {status: 'warn', detail: 'cannot check file modes on Windows.'}
    const mode = statSync(file).mode & 0o777
    const m = `0${mode.toString(8).padStart(3, '0')}`
    if ((mode & 0o077) === 0) return {status: 'pass', detail: `${file} is ${m}`}
    return {status: 'fail', detail: `${file} is ${m}: other users of this machine can read the keys.`, hint: `chmod 600 ${file}`}
  },
}
