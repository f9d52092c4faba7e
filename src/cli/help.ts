/**
 * psb's help class: oclif's own, plus examples under the root help (`psb --help`), so a
 * newcomer sees how the commands fit together before picking one.
 */
import {Help} from '@oclif/core'
import {scrubArgv} from '../lib/echo.js'

export const ROOT_EXAMPLES = [
  ['Everything in one command (bucket, user, key, profile, login, verify):', 'psb init --bucket acme-pulumi-state --region eu-west-1 --profile pulumi'],
  ['The same, step by step:', 'psb bucket create --bucket acme-pulumi-state --region eu-west-1'],
  ['', 'psb user create --bucket acme-pulumi-state'],
  ['', 'psb keys rotate --create --profile pulumi --user pulumi --admin-profile admin'],
  ['', 'psb login --bucket acme-pulumi-state --region eu-west-1 --profile pulumi'],
  ['Prove that the backend works:', 'psb verify --profile pulumi --bucket acme-pulumi-state'],
  ['Rotate the key from cron, when it is older than 90 days:', 'psb keys rotate --profile pulumi --max-age 90d'],
  ['An S3-compatible store (over HTTPS: the bucket\'s TLS-only policy denies plain HTTP):', 'psb init --endpoint https://s3.example.com --bucket acme-pulumi-state --region us-east-1 --yes'],
  ['Try it with no AWS account, against a local emulator (from a clone of the repository):', 'bash scripts/demo.sh'],
] as const

export default class PsbHelp extends Help {
  /** `psb help <word>` quotes the word when it is no command: through the rule for echoing rejected values. */
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      if (error instanceof Error) error.message = scrubArgv(error.message, argv)
      throw error
    }
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const lines = ['EXAMPLES']
    for (const [what, cmd] of ROOT_EXAMPLES) {
      if (what) lines.push(`  ${what}`)
      lines.push(`    $ ${cmd}`, '')
    }
    lines.push('Run `psb <command> --help` for a command\'s flags, behaviour and exit codes.')
    this.log(lines.join('\n'))
  }
}
