#!/usr/bin/env bash
# The main job, with no AWS account needed: starts a local AWS emulator (moto, with IAM
# enforcement on, see test/support/moto_launcher.py), makes an administrator key in a
# throwaway HOME, runs `psb init` against it, then `pulumi up` on a tiny Pulumi YAML project
# and lists the state objects psb's bucket now holds. Everything is removed at the end.
#
#   bash scripts/demo.sh            (from a fresh clone: installs what it needs)
#
# Environment: PSB_DEMO_KEEP=1 keeps the throwaway HOME (its path is printed).
# Your real AWS and Pulumi settings are never read or touched: every AWS_* / PULUMI_*
# variable is cleared and HOME, PULUMI_HOME and the AWS files point into the throwaway HOME.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
[[ -t 2 && -z "${NO_COLOR:-}" ]] || step() { printf '\n==> %s\n' "$*" >&2; }

step "Building psb"
tsc -p tsconfig.build.json
PSB=(node "$PSB_ROOT/bin/run.js")

step "Looking for the Pulumi CLI (built once from the Go module proxy, then cached)"
PULUMI_DIR=""
if PULUMI_DIR="$(bash scripts/build-pulumi.sh)"; then
  echo "Pulumi: $("$PULUMI_DIR/pulumi" version) in $PULUMI_DIR" >&2
else
  PULUMI_DIR=""
  echo "The Pulumi CLI could not be built (see above; it needs Go). The demo goes on without it: psb init --no-login, and no pulumi up." >&2
fi

DEMO_HOME="$(mktemp -d "${TMPDIR:-/tmp}/psb-demo.XXXXXX")"
MOTO_PID=""
cleanup() {
  if [[ -n "$MOTO_PID" ]]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
  if [[ "${PSB_DEMO_KEEP:-}" == 1 ]]; then echo "Kept the demo HOME: $DEMO_HOME" >&2; else rm -rf "$DEMO_HOME"; fi
}
trap cleanup EXIT

# A clean environment: nothing from your own AWS or Pulumi setup.
for v in $(compgen -e); do
  case "$v" in AWS_* | PULUMI_*) unset "$v" ;; esac
done
export HOME="$DEMO_HOME"
export AWS_SHARED_CREDENTIALS_FILE="$DEMO_HOME/.aws/credentials" AWS_CONFIG_FILE="$DEMO_HOME/.aws/config"
export PULUMI_HOME="$DEMO_HOME/.pulumi" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_CONFIG_PASSPHRASE="psb-demo-passphrase"
[[ -n "$PULUMI_DIR" ]] && export PATH="$PULUMI_DIR:$PATH"
mkdir -p "$DEMO_HOME/.aws" && chmod 700 "$DEMO_HOME/.aws"

step "Starting moto (IAM enforcement on) on a free port"
PORT="$("$PSB_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ENDPOINT="http://127.0.0.1:$PORT"
INITIAL_NO_AUTH_ACTION_COUNT=3 MOTO_IAM_LOAD_MANAGED_POLICIES=true \
  "$PSB_PYTHON" test/support/moto_launcher.py -H 127.0.0.1 -p "$PORT" >"$DEMO_HOME/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 1 150); do
  if "$PSB_PYTHON" -c "import urllib.request,sys; urllib.request.urlopen('$ENDPOINT/moto-api/', timeout=1)" 2>/dev/null; then break; fi
  kill -0 "$MOTO_PID" 2>/dev/null || { cat "$DEMO_HOME/moto.log" >&2; echo "moto did not start" >&2; exit 1; }
  sleep 0.2
done
echo "moto: $ENDPOINT (log: $DEMO_HOME/moto.log)" >&2

step "Creating an administrator with an access key (profile \"admin\"); from now on every call must be signed and allowed"
"$PSB_PYTHON" - "$ENDPOINT" "$AWS_SHARED_CREDENTIALS_FILE" <<'PY'
import json, os, sys
import boto3
endpoint, creds_file = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="AKIABOOTSTRAPBOOTSTR", aws_secret_access_key="bootstrap")
iam.create_user(UserName="demo-admin")
iam.put_user_policy(UserName="demo-admin", PolicyName="admin", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="demo-admin")["AccessKey"]
fd = os.open(creds_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write("[admin]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (key["AccessKeyId"], key["SecretAccessKey"]))
PY

BUCKET="psb-demo-pulumi-state"
REGION="us-west-1"
LOGIN=()
[[ -z "$PULUMI_DIR" ]] && LOGIN=(--no-login)
step "psb init --bucket $BUCKET --region $REGION --profile pulumi --admin-profile admin --endpoint $ENDPOINT --yes ${LOGIN[*]:-}"
PSB_KEY_PROPAGATION_POLL_MS=100 "${PSB[@]}" init --bucket "$BUCKET" --region "$REGION" --profile pulumi --admin-profile admin --endpoint "$ENDPOINT" --yes "${LOGIN[@]}"

if [[ -n "$PULUMI_DIR" ]]; then
  step "pulumi up on a tiny Pulumi YAML project (passphrase secrets, a secret config value), as the least-privilege user"
  PROJECT="$DEMO_HOME/hello-psb"
  mkdir -p "$PROJECT"
  cat >"$PROJECT/Pulumi.yaml" <<'YAML'
name: hello-psb
runtime: yaml
description: A provider-free Pulumi program, its state kept in psb's bucket
config:
  token:
    type: string
    secret: true
outputs:
  message: Hello from a hardened, self-managed state backend
  token: ${token}
YAML
  (
    cd "$PROJECT"
    pulumi stack init dev --secrets-provider passphrase --non-interactive
    pulumi config set --secret token "not-in-the-state-in-clear" --non-interactive
    pulumi up --yes --skip-preview --non-interactive
    pulumi stack output --non-interactive
  ) 2> >(grep -v 'Response has no supported checksum' >&2)

  step "The state objects in s3://$BUCKET/.pulumi/ (listed with the admin key)"
  "$PSB_PYTHON" - "$ENDPOINT" "$BUCKET" <<'PY'
import configparser, os, sys
import boto3
endpoint, bucket = sys.argv[1], sys.argv[2]
c = configparser.ConfigParser(); c.read(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-west-1",
                  aws_access_key_id=c["admin"]["aws_access_key_id"], aws_secret_access_key=c["admin"]["aws_secret_access_key"])
for o in s3.list_objects_v2(Bucket=bucket, Prefix=".pulumi/").get("Contents", []):
    print("  %8d  %s" % (o["Size"], o["Key"]))
PY
fi

step "Done: moto stops and the throwaway HOME is removed. Against real AWS, the same command without --endpoint (see README, Quick start)."
