# Sourced by scripts/*.sh and .ci/run: puts a Node.js >= 22 first on PATH (installing it
# from the npm registry when the machine's node is older or missing), installs the npm
# dependencies when needed, and makes sure python3 can run moto.
# Leaves: PATH with Node 22; PSB_ROOT.

PSB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PSB_ROOT

_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [[ "$(_node_major)" -lt 22 ]]; then
  NODE22_DIR="${PSB_NODE22_DIR:-$HOME/.cache/psb/node22}"
  if [[ ! -x "$NODE22_DIR/node_modules/.bin/node" ]]; then
    echo "env: installing Node.js 22 from the npm registry into $NODE22_DIR" >&2
    command -v npm >/dev/null || { echo "env: npm is needed to install Node.js 22 (apt-get install npm)" >&2; exit 1; }
    mkdir -p "$NODE22_DIR"
    npm install --prefix "$NODE22_DIR" --no-save --no-audit --no-fund --loglevel=error node@22 >&2
  fi
  export PATH="$NODE22_DIR/node_modules/.bin:$PATH"
fi
echo "env: using Node.js $(node --version) ($(command -v node))" >&2

if [[ ! -d "$PSB_ROOT/node_modules/@oclif/core" || "$PSB_ROOT/package-lock.json" -nt "$PSB_ROOT/node_modules/.package-lock.json" ]]; then
  (cd "$PSB_ROOT" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
# npm scripts run with node_modules/.bin first on PATH, where the `node` package puts Node 22.
export PATH="$PSB_ROOT/node_modules/.bin:$PATH"

# moto 5.2.x: test/support/moto_launcher.py patches a few of its internals (documented there).
PSB_PYTHON="${PSB_PYTHON:-python3}"
if ! "$PSB_PYTHON" -c 'import moto, moto.server, werkzeug; assert moto.__version__.startswith("5.2.")' 2>/dev/null; then
  echo "env: installing moto[server]==5.2.1 for $PSB_PYTHON" >&2
  "$PSB_PYTHON" -m pip install --quiet 'moto[server]==5.2.1' >&2
fi
export PSB_PYTHON

# Debian's cron package for the scheduler proofs of `psb keys schedule` (test/moto/keys-schedule.test.ts:
# it installs a real crontab line and runs it). It starts no daemon by itself. Only as root with apt-get;
# elsewhere the test says it could not make the cron proof.
if ! command -v crontab >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "env: installing cron (Debian package) for the scheduler tests" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron; } >&2 || echo "env: could not install cron; the cron proof will be skipped" >&2
fi
