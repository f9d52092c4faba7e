/** `psb init`'s help text: its description and examples (kept out of the command file, which stays thin). */
export const INIT_DESCRIPTION = `Runs, in order, the same code as these commands:

  1. psb bucket create   the state bucket, hardened (versioning, encryption, public-access blocks, ACLs off, TLS-only policy, lifecycle, tags)
  2. psb user create     the IAM user Pulumi runs as, with a least-privilege policy for the bucket (or --prefix)
  3. psb keys rotate --create   the user's first access key, written into the profile (--profile) and proven to work; the secret stays in memory
  4. psb login           pulumi login with the backend URL for the installed Pulumi
  5. psb verify          every check, with the profile's own key
  With --secrets kms, after step 2: psb kms create --for-user <user>, the KMS key Pulumi encrypts stack secrets with (verify then checks it too).

Steps 1 and 2 (bucket and user) always run concurrently. The user's policy grants the bucket's customer KMS key: with --kms-key both steps get it; without, the user step reads the bucket's encryption itself, and should that read race the bucket step, a catch-up step adds the key to the policy.

Idempotent and resumable: a second run changes nothing and says so step by step; after a failure at any step, the same command continues where it stopped (finished steps are checked again and left as they are).

psb acts as an administrator (--admin-profile, else the standard AWS credential chain) for steps 1-3; Pulumi's profile gets only the new user's key.

On a terminal, psb asks for what is missing (the bucket name, offering pulumi-state-<account>-<region>, and the region). With --yes, in CI (CI set), without a terminal, or with --json it never asks, and a missing value is an error (exit 2) before any AWS call.

Before the first write, a preflight (read calls only, --dry-run too) stops with exit 2 when: --profile is the profile psb acts with (by name, or holding the administrator's own key) or holds a working key of another identity; the administrator's credentials do not resolve or AWS rejects them; an --attach-policy or --permissions-boundary does not exist. The region must be one that AWS lists.

On a store without AWS IAM (MinIO, Ceph RGW, R2…: --no-iam, also chosen with a notice when the store's STS answers "unsupported action"), steps 2 and 3 become: the profile holds a key made with the store's own tools, or --access-key-id (secret from --secret-stdin or AWS_SECRET_ACCESS_KEY) is written into it as \`psb creds write\` does; the summary lists what the store's tools must do and the policy to give the user.

Many accounts and regions at once (docs/init.md, docs/fleet.md): --target ACCOUNT/REGION (repeatable), --targets FILE or --org-accounts (--ou, --exclude) run the same chain for every target, --concurrency at once, each acting through --assume-role-name, with its own bucket (--bucket-template), profile and key (--profile-template) and IAM user (<--user>-<region>); no pulumi login (the summary prints each backend URL). --shard I/N takes this CI runner's share. One target's failure stops none of the others; the exit code is then 1.

Exit codes: 0 done; 1 a step failed (run again to continue), or over several targets: a target failed; 2 bad input (nothing was changed); 3 everything was set up, but a verify check failed.`

export const INIT_EXAMPLES = [
  {description: 'Everything, asking for what is missing:', command: '<%= config.bin %> <%= command.id %>'},
  {description: 'Non-interactive (CI), as the admin profile "admin":', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi --admin-profile admin --yes'},
  {
    description: 'The classic hand-made setup in one command (user with AdministratorAccess, written into the default profile; prints a warning):',
    command:
      '<%= config.bin %> <%= command.id %> --bucket nelsons-pulumi-state-backend --region us-west-1 --user pulumi --attach-policy arn:aws:iam::aws:policy/AdministratorAccess --profile default',
  },
  {description: 'One team\'s prefix of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --prefix team-a --user pulumi-team-a --profile team-a --yes'},
  {description: 'No access key anywhere: an IAM role, a config-file profile that assumes it, CI through GitHub OIDC (docs/keyless.md):', command: '<%= config.bin %> <%= command.id %> --keyless --bucket acme-pulumi-state --region eu-west-1 --admin-profile admin --trust github:acme/infra:ref:refs/heads/main'},
  {description: 'Move a key-based setup to a role: the user pulumi\'s keys are deleted once the role works:', command: '<%= config.bin %> <%= command.id %> --keyless --bucket acme-pulumi-state --region eu-west-1 --admin-profile admin --retire-user pulumi --yes'},
  {description: 'Two accounts of an AWS Organization, through OrganizationAccountAccessRole, as the management account\'s profile "org-admin":', command: '<%= config.bin %> <%= command.id %> --target 111111111111/eu-west-1 --target 222222222222/eu-west-1 --admin-profile org-admin'},
  {description: 'Every account of an OU, this runner\'s half (CI matrix of 2), one row per target as JSON:', command: '<%= config.bin %> <%= command.id %> --org-accounts --ou ou-ab12-cd34ef56 --region eu-west-1 --shard 1/2 --json'},
  {description: 'Show the full plan, change nothing:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --dry-run'},
  {description: 'MinIO (no AWS IAM; a key made with `mc admin user add`, docs/s3-compatible.md):', command: '<%= config.bin %> <%= command.id %> --no-iam --bucket pulumi-state --region us-east-1 --endpoint https://minio.internal:9000 --profile pulumi --access-key-id pulumi --secret-stdin < secret.txt'},
  {
    description: 'Against an S3-compatible store, over HTTPS (over plain HTTP the bucket\'s TLS-only policy denies every request; scripts/demo.sh runs a local emulator that counts as TLS):',
    command: '<%= config.bin %> <%= command.id %> --bucket demo-state --region us-east-1 --endpoint https://s3.example.com --yes',
  },
]
