#!/usr/bin/env bash
# Builds the Debian package with cargo-deb (metadata: [package.metadata.deb] in Cargo.toml).
#
#   packaging/build-deb.sh [--profile release|dev] [--out DIR] [--fast]
#
# 1. builds both binaries with the profile (release by default; the tests use dev, which they have
#    built already, because a release build with LTO takes minutes);
# 2. runs the built awsenv to generate the assets into target/packaging/: the systemd user units
#    with /usr/bin/awsenv in ExecStart=, the completion scripts and the gzipped man pages, so that
#    they always match the binary in the package;
# 3. runs `cargo deb --no-build` and prints the path of the .deb (the last line of stdout).
#
# cargo-deb is installed with `cargo install --locked` when missing (about 1.5 minutes on two cores,
# once per machine). --fast compresses less, for tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo_deb_version=3.8.0
profile=release
out=target/debian
fast=()
while (($#)); do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fast) fast=(--fast); shift ;;
    *) echo "usage: $0 [--profile release|dev] [--out DIR] [--fast]" >&2; exit 2 ;;
  esac
done
case $profile in
  release) profile_dir=release ;;
  dev) profile_dir=debug ;;
  *) profile_dir=$profile ;;
esac

say() { printf 'build-deb: %s\n' "$*" >&2; }

if ! cargo deb --version >/dev/null 2>&1; then
  say "installing cargo-deb $cargo_deb_version (cargo install --locked)"
  cargo install --quiet --locked cargo-deb --version "$cargo_deb_version"
fi

say "cargo build --profile $profile --bins"
cargo build --quiet --locked --profile "$profile" --bins
bin=${CARGO_TARGET_DIR:-target}/$profile_dir

gen=target/packaging
rm -rf "$gen"
mkdir -p "$gen/systemd" "$gen/completions" "$gen/man"
cp packaging/systemd/awsenv.socket "$gen/systemd/"
sed 's|@AWSENV@|/usr/bin/awsenv|' packaging/systemd/awsenv.service >"$gen/systemd/awsenv.service"
if grep -q '@AWSENV@' "$gen/systemd/awsenv.service"; then
  say "a placeholder is left in awsenv.service"
  exit 1
fi
"$bin/awsenv" completions bash >"$gen/completions/awsenv"
"$bin/awsenv" completions zsh >"$gen/completions/_awsenv"
"$bin/awsenv" completions fish >"$gen/completions/awsenv.fish"
"$bin/awsenv" man --dir "$gen/man"
gzip -9n "$gen"/man/*.1

say "cargo deb --no-build --profile $profile"
mkdir -p "$out"
cargo deb --no-build --profile "$profile" --output "$out" "${fast[@]}" | tail -n 1
