import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import * as shared from '../cli/flags.js'
import {loginOptionsFromFlags} from '../cli/login-options.js'
import {checkProfile} from '../lib/files/aws-config.js'
import {badInput} from '../lib/errors.js'
import {login, resolveBackendUrl, shellExports, type LoginResult} from '../lib/pulumi/login.js'
import {renderLogin} from '../cli/login-render.js'
import {URL_DIALECTS} from '../lib/pulumi/url-dialects.js'

export default class Login extends BaseCommand {
  static override summary = 'Point Pulumi at the S3 bucket: build the backend URL and run `pulumi login` with it.'

  static override description = `Builds the Pulumi backend URL of the bucket (s3://<bucket>[/<prefix>]?region=...) in the dialect of the installed Pulumi CLI (read from \`pulumi version\`; with a profile, it is always in the URL, so no AWS_PROFILE is needed from Pulumi 3.113 on), runs \`pulumi login <url>\`, and checks with \`pulumi whoami -v\` that Pulumi now uses it. Pulumi keeps the login in $PULUMI_HOME/credentials.json (default: .pulumi in the account's home directory from the password database, which is not $HOME when HOME points elsewhere; psb then says so).

Instead of logging in, --print prints the URL (--print --shell: an \`export PULUMI_BACKEND_URL=...\` line for your shell or CI), and --project DIR writes the URL into that project's Pulumi.yaml (backend.url), so that project always uses the bucket whatever the login. Both write a portable URL by default, one that every Pulumi from 3.113 on reads (--dialect picks another).

Makes no AWS call: it does not check the bucket exists (\`psb verify\` does). Without Pulumi installed, --print and --project still work (their portable URL needs no version; --dialect native then means the newest Pulumi).

Exit codes: 0 logged in (or printed/written); 1 Pulumi is missing or failed (its error is shown); 2 bad input.`

  static override examples = [
    {description: 'Log Pulumi in to a bucket, with the AWS profile Pulumi should use:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi-state'},
    {description: 'Keep one team\'s state under a prefix of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --prefix team-a --region eu-west-1 --profile pulumi-state'},
    {description: 'Only print the URL, e.g. for CI:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --print'},
    {description: 'Set the backend in your shell instead of logging in:', command: 'eval "$(<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --print --shell)"'},
    {description: 'Pin one project to the bucket (writes backend.url into ./infra/Pulumi.yaml):', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi-state --project ./infra'},
    {description: 'A local S3 emulator or an S3-compatible store:', command: '<%= config.bin %> <%= command.id %> --bucket state --region us-east-1 --endpoint http://127.0.0.1:5000'},
    {description: 'Write a URL only Pulumi 3.245 and later read (the default, portable, suits every Pulumi from 3.113 on):', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi-state --project ./infra --dialect current'},
    {description: 'See the URL and the commands without running them:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --dry-run'},
  ]

  static override flags = {
    bucket: Flags.string({
      description: 'Name of the S3 bucket that holds Pulumi state (e.g. one made by `psb bucket create`).',
      helpValue: '<name>',
      required: true,
    }),
    prefix: shared.prefix,
    region: shared.region,
    profile: Flags.string({
      description: 'AWS profile Pulumi uses to read and write the state (put into the URL; on old Pulumi versions into AWS_PROFILE). Default: Pulumi\'s own AWS credential chain.',
      helpValue: '<profile>',
    }),
    endpoint: shared.endpoint,
    print: Flags.boolean({
      description: 'Only print the backend URL; do not run pulumi.',
      default: false,
      exclusive: ['project'],
    }),
    shell: Flags.boolean({
      description: 'With --print: print `export PULUMI_BACKEND_URL=\'...\'` (shell-quoted) to eval in a shell.',
      default: false,
    }),
    project: Flags.string({
      description: 'Write the URL into backend.url of the Pulumi.yaml in this folder (keeping the rest of the file) instead of logging in.',
      helpValue: '<dir>',
      exclusive: ['print'],
    }),
    dialect: Flags.string({
      description: 'Which Pulumi versions the URL is for: native (the installed one; default for a login), portable (every Pulumi from 3.113 on; default for --print and --project), v1 (SDK v1 names), v2 (awssdk=v2), current (the newest names, Pulumi 3.245+).',
      options: [...URL_DIALECTS],
    }),
    'dry-run': shared.dryRun,
  }

  async run(): Promise<LoginResult | {url: string; pulumiVersion?: string; dialect: string; form: string; rejectedBy: string[]; env: Record<string, string>; warnings: string[]}> {
    const {flags} = await this.parse(Login)
    if (flags.shell && !flags.print) throw badInput('--shell only works with --print.', 'Run: psb login ... --print --shell', 'FlagsConflict')
    const opts = loginOptionsFromFlags(flags)
    // Logging this machine's Pulumi in needs the profile here; --print and --project may name a
    // profile that exists on other machines (CI, a teammate's laptop): a warning there.
    if (!flags.print && flags.project === undefined && flags.profile) checkProfile(flags.profile, '--profile')

    if (flags.print) {
      const r = await resolveBackendUrl({...opts, dialect: opts.dialect ?? 'portable', shared: true})
      for (const w of r.warnings) this.note(w)
      if (!this.jsonEnabled()) {
        if (flags.shell) for (const line of shellExports(r.url, r.env)) this.say(line)
        else this.say(r.url)
      }
      return {url: r.url, pulumiVersion: r.pulumiVersion, dialect: r.dialect, form: r.form, rejectedBy: r.rejectedBy, env: r.env, warnings: r.warnings}
    }

    const result = await login({...opts, logger: {warn: (m) => this.note(m), info: (m) => this.say(m)}})
    if (!this.jsonEnabled()) renderLogin(result, flags['dry-run'], (line) => this.say(line))
    return result
  }
}
