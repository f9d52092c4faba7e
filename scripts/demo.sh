#!/usr/bin/env bash
# The main job, with no AWS account needed: starts a local AWS emulator (moto, with IAM
# enforcement on, see test/support/moto_launcher.py), makes an administrator key in a
# throwaway HOME, runs `psb init` against it, then `pulumi up` on a tiny Pulumi YAML project
# and lists the state objects psb's bucket now holds. Everything is removed at the end.
#
#   bash scripts/demo.sh            (from a fresh clone: installs what it needs)
#
# Environment: PSB_DEMO_KEEP=1 keeps the throwaway HOME (its path is printed).
# The first run builds the Pulumi CLI (minutes) in the background while psb runs `psb init
# --no-login`, prints a progress line every PSB_DEMO_PROGRESS_S seconds, then runs `psb init`
# again with the login. PSB_DEMO_BUILD_PULUMI replaces scripts/build-pulumi.sh (tests only).
# Your real AWS and Pulumi settings are never read or touched: every AWS_* / PULUMI_*
# variable is cleared and HOME, PULUMI_HOME and the AWS files point into the throwaway HOME.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$PSB_ROOT"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
[[ -t 2 && -z "${NO_COLOR:-}" ]] || step() { printf '\n==> %s\n' "$*" >&2; }

step "Building psb"
npm run build >/dev/null
PSB=(node "$PSB_ROOT/bin/run.js")

# The Pulumi CLI is built once from source (then cached). The first build takes about 6
# minutes on 2 free cores, up to 20 on a loaded machine: it runs in the background while psb
# does its own part, with a progress line every PSB_DEMO_PROGRESS_S seconds (default 20).
BUILD_PULUMI="${PSB_DEMO_BUILD_PULUMI:-scripts/build-pulumi.sh}"
BUILD_LOG="$(mktemp "${TMPDIR:-/tmp}/psb-demo-pulumi-build.XXXXXX")"
BUILD_PID=""
BUILD_STARTED=$SECONDS
PULUMI_DIR=""
if PULUMI_DIR="$(PSB_PULUMI_CACHED_ONLY=1 bash "$BUILD_PULUMI" 2>/dev/null)"; then
  step "Pulumi CLI: $("$PULUMI_DIR/pulumi" version) (cached in $PULUMI_DIR)"
else
  PULUMI_DIR=""
  step "Building the Pulumi CLI from source in the background (first run only: about 6 minutes on 2 cores, up to 20 on a loaded machine; log: $BUILD_LOG). psb's own part runs meanwhile."
  # setsid: the build has its own process group, so an early exit of the demo can stop all of it.
  SETSID=()
  command -v setsid >/dev/null && SETSID=(setsid)
  PSB_BUILD_VERBOSE=1 ${SETSID[@]+"${SETSID[@]}"} bash "$BUILD_PULUMI" >"$BUILD_LOG.out" 2>"$BUILD_LOG" &
  BUILD_PID=$!
fi
DEMO_HOME="$(mktemp -d "${TMPDIR:-/tmp}/psb-demo.XXXXXX")"
MOTO_PID=""
cleanup() {
  if [[ -n "$MOTO_PID" ]]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
  if [[ -n "$BUILD_PID" ]] && kill -0 "$BUILD_PID" 2>/dev/null; then
    echo "Stopping the Pulumi build (it starts again, from Go's cache, on the next run)." >&2
    kill -- "-$BUILD_PID" 2>/dev/null || kill "$BUILD_PID" 2>/dev/null || true
  fi
  rm -f "$BUILD_LOG" "$BUILD_LOG.out"
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

elapsed() { local t=$((SECONDS - BUILD_STARTED)); printf '%dm%02ds' $((t / 60)) $((t % 60)); }

# Waits for the background build, printing what it is doing and for how long; sets PULUMI_DIR.
wait_for_pulumi() {
  [[ -n "$BUILD_PID" ]] || return 0
  step "Waiting for the Pulumi build (started $(elapsed) ago)"
  local every="${PSB_DEMO_PROGRESS_S:-20}"
  while kill -0 "$BUILD_PID" 2>/dev/null; do
    local downloaded compiled
    downloaded="$(grep -c '^go: downloading' "$BUILD_LOG" 2>/dev/null || true)"
    compiled="$(grep -vc '^go: \|^build-pulumi:' "$BUILD_LOG" 2>/dev/null || true)"
    echo "  building Pulumi: $(elapsed) elapsed; Go modules downloaded: ${downloaded:-0}; packages compiled: ${compiled:-0}; last: $(tail -n 1 "$BUILD_LOG" 2>/dev/null | cut -c1-80)" >&2
    for _ in $(seq 1 "$every"); do kill -0 "$BUILD_PID" 2>/dev/null || break; sleep 1; done
  done
  if wait "$BUILD_PID"; then
    PULUMI_DIR="$(tail -n 1 "$BUILD_LOG.out")"
    echo "Pulumi built in $(elapsed): $("$PULUMI_DIR/pulumi" version) in $PULUMI_DIR" >&2
  else
    tail -n 20 "$BUILD_LOG" >&2
    echo "The Pulumi CLI could not be built after $(elapsed) (see above; it needs Go). The demo goes on without it: no pulumi login, no pulumi up." >&2
    PULUMI_DIR=""
  fi
  BUILD_PID=""
}

BUCKET="psb-demo-pulumi-state"
REGION="us-west-1"
INIT=(init --bucket "$BUCKET" --region "$REGION" --profile pulumi --admin-profile admin --endpoint "$ENDPOINT" --yes)
if [[ -n "$BUILD_PID" ]]; then
  # psb first, while Pulumi builds: bucket, user and key now; the login once Pulumi is there.
  step "psb ${INIT[*]} --no-login   (Pulumi is still building: the login comes after it)"
  PSB_KEY_PROPAGATION_POLL_MS=100 "${PSB[@]}" "${INIT[@]}" --no-login
  wait_for_pulumi
  if [[ -n "$PULUMI_DIR" ]]; then
    export PATH="$PULUMI_DIR:$PATH"
    step "psb ${INIT[*]}   (again, now with Pulumi: the finished steps are unchanged; login and verify run)"
    PSB_KEY_PROPAGATION_POLL_MS=100 "${PSB[@]}" "${INIT[@]}"
  fi
else
  LOGIN=()
  [[ -z "$PULUMI_DIR" ]] && LOGIN=(--no-login)
  step "psb ${INIT[*]} ${LOGIN[*]:-}"
  PSB_KEY_PROPAGATION_POLL_MS=100 "${PSB[@]}" "${INIT[@]}" "${LOGIN[@]}"
fi

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
