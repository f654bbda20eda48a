# Homebrew formula for awsenv, built from source with cargo.
#
# For a tap: copy to Formula/awsenv.rb and fill in homepage, url and sha256 with the project's page
# and the source archive of the release tag (`shasum -a 256 awsenv-X.Y.Z.tar.gz`); they are left as
# placeholders here because they only exist once a release is published.
#
# `brew services start awsenv` runs the daemon as a launchd agent (a systemd user unit on Linux) from
# the service block below; `awsenv service install` writes awsenv's own agent instead. Use one of the
# two: both at once would start two daemons, and the second would find the first one's lock.
class Awsenv < Formula
  desc "AWS credential helper: MFA sessions in the OS keychain for every shell and SDK"
  homepage "https://awsenv.invalid/"
  url "https://awsenv.invalid/awsenv-0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]

  depends_on "rust" => :build

  def install
    # Installs both binaries: awsenv and the small awsenv-credential-process client.
    system "cargo", "install", *std_cargo_args
    # `awsenv completions SHELL` prints a registration that asks awsenv on every Tab, so it never
    # goes stale after an upgrade.
    generate_completions_from_executable(bin/"awsenv", "completions")
    system bin/"awsenv", "man", "--dir", buildpath/"man"
    man1.install Dir[buildpath/"man/*.1"]
  end

  def caveats
    <<~EOS
      awsenv starts its daemon by itself on first use. To have it running from login on:
        brew services start awsenv
      Its messages go to #{var}/log/awsenv.log.
    EOS
  end

  # The daemon in the foreground. launchd starts it at login and again when it fails; a clean exit
  # (`awsenv daemon stop`) is left alone. It finds its socket in $TMPDIR/awsenv-$UID/, the per-user
  # temporary folder launchd gives its agents, which is where the clients of that user look.
  service do
    run [opt_bin/"awsenv", "daemon", "run"]
    keep_alive successful_exit: false
    log_path var/"log/awsenv.log"
    error_log_path var/"log/awsenv.log"
  end

  test do
    assert_match "awsenv #{version}", shell_output("#{bin}/awsenv --version")
    # The client's usage error: exit 2, nothing on stdout (where an SDK would read credentials).
    assert_match "usage: awsenv-credential-process PROFILE",
                 shell_output("#{bin}/awsenv-credential-process 2>&1", 2)
  end
end
