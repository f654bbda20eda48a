#!/usr/bin/env bash
# Benchmark of the shell hooks' cost at a prompt when nothing needs doing (BENCHMARKS.md, "Shell
# hooks"): exported credentials with an hour left, the hook function called N times in a loop inside
# bash, zsh and fish, timed by date(1) around the loop. With strace installed it also counts the
# processes the loop started (fork/clone/execve), which must be zero.
#
#   bench/hook.sh            N=20000 calls per shell; prints a markdown table on stdout
#   N=100000 bench/hook.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=${N:-20000}
say() { printf 'bench/hook.sh: %s\n' "$*" >&2; }

say "cargo build --release"
cargo build --quiet --release --bin awsenv
awsenv=$PWD/target/release/awsenv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/run"
export XDG_RUNTIME_DIR=$tmp/run HOME=$tmp
now=$(date +%s)
export AWSENV_PROFILE=dev AWSENV_EXPIRES=$((now + 3600)) AWSENV_EXPORTED_AT=$now
export AWSENV_MFA_EXPIRES=$((now + 40000))
# A logout long ago: the hook reads the marker on every prompt, as it does for real.
mkdir -m 700 "$tmp/run/awsenv"
echo "$((now - 100)) *" >"$tmp/run/awsenv/logout"

loop() {
  case $1 in
  bash) echo "eval \"\$('$awsenv' hook bash)\"; s=\$(date +%s%N); for ((i = 0; i < $n; i++)); do __awsenv_hook; done; e=\$(date +%s%N); echo \$(( (e - s) / $n ))" ;;
  zsh) echo "eval \"\$('$awsenv' hook zsh)\"; s=\$(date +%s%N); for ((i = 0; i < $n; i++)); do __awsenv_hook; done; e=\$(date +%s%N); echo \$(( (e - s) / $n ))" ;;
  fish) echo "'$awsenv' hook fish | source; set s (date +%s%N); for i in (seq $n); __awsenv_hook; end; set e (date +%s%N); math --scale=0 \"(\$e - \$s) / $n\"" ;;
  esac
}

echo "| shell | version | ns per prompt (nothing to do) | processes started in $n prompts |"
echo "| --- | --- | ---: | ---: |"
for sh in bash zsh fish; do
  command -v "$sh" >/dev/null || {
    say "$sh is missing"
    continue
  }
  version=$("$sh" --version | head -n1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1)
  ns=$("$sh" -c "$(loop "$sh")")
  procs=n/a
  if command -v strace >/dev/null; then
    # Besides the loop, the run starts the shell, `awsenv hook` and date(1) twice (and fish's seq):
    # subtract those.
    started=$(strace -f -qq -e trace=execve -o "$tmp/trace" "$sh" -c "$(loop "$sh")" >/dev/null && grep -c 'execve(' "$tmp/trace")
    base=4
    [ "$sh" = fish ] && base=5
    procs=$((started - base))
  fi
  echo "| $sh | $version | $ns | $procs |"
done
