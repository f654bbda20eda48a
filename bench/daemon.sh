#!/usr/bin/env bash
# Benchmark of the daemon and the std-only credential_process client (BENCHMARKS.md, section "Daemon
# and credential_process client"). In one run, against a local STS (moto behind tests/peers/sts_proxy.py):
#
#   * cache-hit latency of `awsenv-credential-process PROFILE`, spawn to exit, next to /bin/true and to a
#     five-line Python credential_process script (hyperfine, no shell, RUNS runs each);
#   * the daemon's resident memory (VmRSS) idle, after 10,000 requests and after 60,000 more;
#   * requests per second with 64 concurrent clients (bench/daemon_load.rs, speaking the socket
#     protocol directly, one connection per request like the real client);
#   * the size of both release binaries (the release profile strips them).
#
#   bench/daemon.sh             everything; prints a summary (markdown) on stdout
#   RUNS=3000 bench/daemon.sh   more latency runs (default 1000)
#
# Needs the test venv (./tests/run creates it: moto, boto3), hyperfine (apt-get install hyperfine),
# keyctl, unshare and rustc. Everything listens on loopback or a Unix socket in a temporary folder, and
# everything it starts is stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
venv=${AWSENV_TEST_VENV:-$root/.venv}
py=$venv/bin/python
runs=${RUNS:-1000}
say() { printf 'bench/daemon.sh: %s\n' "$*" >&2; }

# Outside: check the tools, build, then run again in a user namespace with a session keyring of its
# own, so the cached sessions land in neither the user's session keyring nor their persistent one.
if [ -z "${AWSENV_BENCH_INNER:-}" ]; then
  for tool in hyperfine keyctl unshare rustc; do
    command -v "$tool" >/dev/null || {
      say "$tool is missing"
      exit 1
    }
  done
  [ -x "$py" ] || {
    say "no test venv at $venv: run ./tests/run first"
    exit 1
  }
  say "cargo build --release"
  log=$(mktemp)
  cargo build --release --bin awsenv --bin awsenv-credential-process 2>"$log" || {
    cat "$log" >&2
    exit 1
  }
  rm -f "$log"
  rustc --edition 2021 -O -o target/release/bench-daemon-load bench/daemon_load.rs
  AWSENV_BENCH_RUSTC=$(rustc --version | cut -d' ' -f1-2)
  export AWSENV_BENCH_RUSTC
  exec unshare --user --map-root-user keyctl session - \
    env AWSENV_BENCH_INNER=1 bash "${BASH_SOURCE[0]}" "$@" 2> >(grep -v '^Joined session keyring' >&2)
fi

work=$(mktemp -d)
children=()
cleanup() {
  if [ -x "$root/target/release/awsenv" ] && [ -n "${HOME_SET:-}" ]; then
    "$root/target/release/awsenv" daemon stop >/dev/null 2>&1 || true
  fi
  for pid in "${children[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits up to 30 s for a line matching $2 in file $1 and prints it.
wait_line() {
  for _ in $(seq 300); do
    if grep -m1 -E "$2" "$1" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  say "timed out waiting for /$2/ in $1:"
  cat "$1" >&2
  return 1
}

# 1. The local STS: moto, seeded with alice, her MFA device and role dev, behind the proxy, which plays
#    the MFA device (as tests/common/sts_peer.rs starts them). Neither sees the caller's AWS settings.
peer_env=(env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
  PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1)
"${peer_env[@]}" "$venv/bin/moto_server" -H 127.0.0.1 -p 0 >"$work/moto.log" 2>&1 &
children+=($!)
moto_port=$(wait_line "$work/moto.log" 'Running on http://127.0.0.1:[0-9]+' | sed -E 's/.*:([0-9]+).*/\1/')
moto=http://127.0.0.1:$moto_port
"${peer_env[@]}" "$py" tests/peers/sts_proxy.py --upstream "$moto" --port 0 >"$work/proxy.out" 2>"$work/proxy.log" &
children+=($!)
seed=$("${peer_env[@]}" "$py" tests/peers/seed_iam.py --endpoint "$moto" --session-name awsenv-test)
proxy_port=$(wait_line "$work/proxy.out" '^LISTENING ' | cut -d' ' -f2)
proxy=http://127.0.0.1:$proxy_port
field() { "$py" -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval("d" + sys.argv[2]))' "$seed" "$1"; }
akid=$(field '["access_key_id"]')
secret=$(field '["secret_access_key"]')
mfa=$(field '["mfa_serial"]')
role=$(field '["roles"]["dev"]')
post() {
  "$py" -c 'import sys, urllib.request as u; u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"Content-Type": "application/json"})).read()' "$proxy$1" "$2"
}
post /__proxy/keys "{\"access_key_id\": \"$akid\", \"secret_access_key\": \"$secret\", \"session_token\": null}"
post /__proxy/mfa "{\"serial\": \"$mfa\", \"code\": \"123456\"}"

# 2. A user of awsenv: alice's keys in ~/.aws/credentials, role dev behind an MFA session.
export HOME=$work/home XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/home/.config
export AWSENV_KEYCHAIN=keyutils AWS_ENDPOINT_URL_STS=$proxy HOME_SET=1
unset AWSENV_SOCKET AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
mkdir -p "$HOME/.aws" && mkdir -m 700 "$XDG_RUNTIME_DIR"
cat >"$HOME/.aws/config" <<EOF
[profile alice]
mfa_serial = $mfa
region = us-east-1

[profile dev]
role_arn = $role
source_profile = alice
mfa_serial = $mfa
role_session_name = awsenv-test
region = us-east-1
EOF
printf '[alice]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$akid" "$secret" >"$HOME/.aws/credentials"
bin=$root/target/release
socket=$XDG_RUNTIME_DIR/awsenv/daemon.sock

"$bin/awsenv" daemon start 2>/dev/null
daemon_pid=$("$bin/awsenv" daemon status --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
rss_start=$(rss)
"$bin/awsenv" login dev --token-code 123456 2>/dev/null
"$bin/awsenv-credential-process" dev >/dev/null # the role's credentials are now cached
rss_idle=$(rss)

# 3. Cache-hit latency, spawn to exit.
cat >"$work/creds.py" <<'EOF'
import json

creds = {"Version": 1, "AccessKeyId": "ASIAEXAMPLEEXAMPLE00", "SecretAccessKey": "secret"}
creds.update({"SessionToken": "token", "Expiration": "2030-01-01T00:00:00Z"})
print(json.dumps(creds))
EOF
# The interpreter itself, not a wrapper in front of it (a pyenv shim is a shell script).
python=$(python3 -c 'import sys; print(sys.executable)')
say "latency: $runs runs each"
hyperfine -N --style none --warmup 50 --runs "$runs" --export-json "$work/latency.json" \
  -n /bin/true /bin/true \
  -n awsenv-credential-process "$bin/awsenv-credential-process dev" \
  -n python "$python $work/creds.py" >/dev/null

# 4. Memory and throughput.
request="{\"v\":1,\"op\":\"credentials\",\"profile\":\"dev\",\"env\":{\"AWS_ENDPOINT_URL_STS\":\"$proxy\"}}"
say "load: 10,000 requests, then 60,000, 64 clients"
load_10k=$("$root/target/release/bench-daemon-load" "$socket" 64 10000 "$request")
rss_10k=$(rss)
load_60k=$("$root/target/release/bench-daemon-load" "$socket" 64 60000 "$request")
rss_70k=$(rss)

# 5. Summary.
"$py" - "$work/latency.json" "$load_10k" "$load_60k" <<EOF
import json, statistics, sys

runs = {r["command"]: sorted(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
def pct(xs, p):
    return xs[min(len(xs) - 1, round((len(xs) - 1) * p))] * 1000
t, c, p = runs["/bin/true"], runs["awsenv-credential-process"], runs["python"]
l10, l60 = json.loads(sys.argv[2]), json.loads(sys.argv[3])
size = lambda n: __import__("os").path.getsize("$bin/" + n) / 1024
print("| measure | result | target |")
print("| --- | ---: | --- |")
print(f"| \`/bin/true\` median / p90 (ms) | {pct(t, .5):.2f} / {pct(t, .9):.2f} | |")
print(f"| \`awsenv-credential-process dev\` (cache hit) median / p90 (ms) | {pct(c, .5):.2f} / {pct(c, .9):.2f} | median ≤ 2 ms |")
print(f"| five-line Python \`credential_process\` median / p90 (ms) | {pct(p, .5):.2f} / {pct(p, .9):.2f} | |")
print(f"| client ÷ \`/bin/true\` (medians) | {pct(c, .5) / pct(t, .5):.1f}× | ≤ 3× |")
print(f"| Python ÷ client (medians) | {pct(p, .5) / pct(c, .5):.1f}× | ≥ 50× |")
print(f"| daemon VmRSS at start / idle after login (MB) | {$rss_start / 1024:.1f} / {$rss_idle / 1024:.1f} | ≤ 15 MB |")
print(f"| daemon VmRSS after 10,000 / 70,000 requests (MB) | {$rss_10k / 1024:.1f} / {$rss_70k / 1024:.1f} | flat |")
print(f"| requests/s, 64 clients, 60,000 requests | {l60['per_second']:,.0f} (p50 {l60['p50_us'] / 1000:.2f} ms, p99 {l60['p99_us'] / 1000:.2f} ms, {l60['failures']} failed) | ≥ 10,000 |")
print(f"| requests/s, 64 clients, first 10,000 requests | {l10['per_second']:,.0f} ({l10['failures']} failed) | |")
print(f"| \`awsenv-credential-process\` size, stripped (KB) | {size('awsenv-credential-process'):,.0f} | ≤ 800 KB |")
print(f"| \`awsenv\` size, stripped (KB) | {size('awsenv'):,.0f} | |")
EOF
echo
echo "Machine: \`nproc\` = $(nproc), CPU \"$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\", $(uname -sr), $AWSENV_BENCH_RUSTC, $(hyperfine --version), $("$python" --version)."
echo "Binaries: $(file -b "$bin/awsenv-credential-process" | grep -o 'stripped\|not stripped' | head -1) ($(file -b "$bin/awsenv-credential-process" | cut -d, -f1))."
