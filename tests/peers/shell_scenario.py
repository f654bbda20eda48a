"""The shell-hook scenario, in a real interactive shell on a pseudo-terminal (pexpect).

    shell_scenario.py SHELL RCFILE PROXY_URL

The caller (tests/shell_hooks.rs) has made a HOME with the AWS config (alice, dev, chain2), alice's keys
in the keyring, and an rc file that loads `awsenv hook SHELL` twice. This script drives the shell like
a user and checks what the issue asks of the hook: `awsenv use` exports, the AWS CLI works, a switch
leaves nothing of the first profile, credentials near their end are renewed at the next prompt, an
ended MFA session is reported once and its variables removed, `awsenv logout --all` elsewhere clears
the shell at its next prompt, `$?` survives, the hook is registered once, and prompts with nothing to do
start no process. It prints "SCENARIO OK" at the end; any failure raises with the shell's transcript.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pexpect

SHELL, RC, PROXY = sys.argv[1], sys.argv[2], sys.argv[3]
PROMPT = "AWSENV-PROMPT> "
AWSENV = os.environ["AWSENV_BIN"]
transcript = []


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(PROXY + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def count(action):
    return control("GET", "/__proxy/counts").get(action, 0)


def set_mfa_code(code):
    control("POST", "/__proxy/mfa", {"serial": os.environ["MFA_SERIAL"], "code": code})


def set_expiry(action, seconds):
    control("POST", "/__proxy/expiry", {"action": action, "seconds": seconds})


if SHELL == "bash":
    argv = ["bash", "--noprofile", "--rcfile", RC, "-i"]
elif SHELL == "zsh":
    argv = ["zsh", "-i"]  # ZDOTDIR points at the rc file's folder
elif SHELL == "fish":
    argv = ["fish", "-i"]  # XDG_CONFIG_HOME holds fish/config.fish
elif SHELL == "elvish":
    argv = ["elvish"]  # XDG_CONFIG_HOME holds elvish/rc.elv
else:
    raise SystemExit(f"unknown shell {SHELL}")

child = pexpect.spawn(argv[0], argv[1:], env=dict(os.environ), encoding="utf-8",
                      timeout=60, dimensions=(50, 400))


def fail(message):
    raise AssertionError(f"{SHELL}: {message}\n--- transcript ---\n" + "".join(transcript)
                         + (child.before or ""))


prompts = 0


def expect_prompt():
    """Waits for the next prompt. fish redraws its prompt as the line is typed, so its prompt carries
    a number that its rc file counts up once per prompt (in a fish_prompt event handler)."""
    global prompts
    prompts += 1
    if SHELL == "fish":
        child.expect_exact(f"AWSENV-PROMPT-{prompts}> ")
    elif SHELL == "elvish":
        # Elvish redraws only from the first column that changed: the last digit first makes it
        # redraw the whole prompt every time.
        child.expect_exact(f"{prompts % 10}:AWSENV-PROMPT-{prompts}> ")
    else:
        child.expect_exact(PROMPT)


def run(command):
    """Runs a command line, waits for the next prompt, returns what was printed in between."""
    if SHELL == "elvish":
        # Elvish's editor drops keys that arrive while it redraws: type like a (fast) person.
        for ch in command:
            child.send(ch)
            time.sleep(0.01)
        child.send("\r")
    else:
        child.sendline(command)
    try:
        expect_prompt()
    except pexpect.TIMEOUT:
        fail(f"no prompt after {command!r}")
    # Terminal control sequences, fish's "no newline" mark and carriage returns are the line
    # editor's, not output.
    out = re.sub(r"\x1b\[[?0-9;]*[a-zA-Z]|\x1b[=>]", "", child.before)
    out = out.replace("\r\n", "\n").replace("\u23ce", "")
    out = "\n".join(l.split("\r")[-1] for l in out.split("\n"))
    # The echo of the command line comes first.
    first, _, rest = out.partition("\n")
    transcript.append(f"{PROMPT}{command}\n{rest}")
    if SHELL in ("fish", "elvish"):
        # The line editor's redraws come before the output: drop them.
        rest = "\n".join(l for l in rest.split("\n") if "AWSENV-PROMPT" not in l)
    rest = "\n".join(l for l in rest.split("\n") if l.strip()) + "\n" if rest.strip() else ""
    return rest


def probe():
    """What a child process sees: the variables that matter."""
    out = run("sh -c 'echo \"P=${AWSENV_PROFILE-none} R=${AWS_REGION-none} K=${AWS_ACCESS_KEY_ID-none}\"'")
    m = re.search(r"P=(\S+) R=(\S+) K=(\S+)", out)
    if not m:
        fail(f"no probe output in {out!r}")
    return {"profile": m.group(1), "region": m.group(2), "key": m.group(3)}


def status_of_last():
    return "echo \"S=$status\"" if SHELL == "fish" else "echo \"S=$?\""


try:
    expect_prompt()
except pexpect.TIMEOUT:
    fail("the shell never showed its prompt")

# Loaded twice by the rc file, registered once.
if SHELL == "bash":
    out = run('echo "PC=$PROMPT_COMMAND"')
    hooks = out.count("__awsenv_hook")
elif SHELL == "zsh":
    out = run('echo "PF=${(M)precmd_functions:#__awsenv_hook}"')
    hooks = out.count("__awsenv_hook")
elif SHELL == "fish":
    out = run("functions --handlers-type generic")
    hooks = out.count("__awsenv_hook")
else:
    # The rc file's prompt counter and awsenv's hook.
    out = run("echo HOOKS=(count $edit:before-readline)")
    hooks = 1 if "HOOKS=2" in out else 0
if hooks != 1:
    fail(f"the hook is registered {hooks} times: {out!r}")

# Nothing exported yet: the hook is silent.
out = run("true")
if out.strip():
    fail(f"the hook printed {out!r} with nothing exported")

# `awsenv use` with the code up front; the AWS CLI then works from the variables.
set_mfa_code("111111")
out = run("awsenv use dev --token-code 111111")
if "awsenv:" in out and "error" in out.lower():
    fail(f"`awsenv use dev` failed: {out!r}")
dev = probe()
if dev["profile"] != "dev" or dev["region"] != "eu-west-1" or dev["key"] == "none":
    fail(f"after `awsenv use dev`: {dev}")
out = run("aws sts get-caller-identity --query Arn --output text")
if ":assumed-role/dev/awsenv-test" not in out:
    fail(f"the AWS CLI did not run as dev: {out!r}")

# `$?` / `$status` survives the hook (elvish has none: failures are exceptions).
if SHELL != "elvish":
    run("sh -c 'exit 7'")
    out = run(status_of_last())
    if "S=7" not in out:
        fail(f"the exit status was not kept: {out!r}")

# Prompts with time left start no process: the daemon sees no request from them.
def daemon_requests():
    out = subprocess.run([AWSENV, "daemon", "status", "--json"], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["requests"]

before = daemon_requests()
for _ in range(5):
    run("")
after = daemon_requests()
if after != before + 1:  # the second status call itself
    fail(f"idle prompts reached the daemon: {before} -> {after}")

# Switch: nothing of dev remains; chain2's role is assumed from the cached MFA session (no code).
# Its credentials are made to last 1000 s, inside the refresh window: the next prompt renews them.
set_expiry("AssumeRole", 1000)
roles = count("AssumeRole")
run("awsenv use chain2")
chain2 = probe()
if chain2["profile"] != "chain2" or chain2["region"] != "none" or chain2["key"] in ("none", dev["key"]):
    fail(f"after `awsenv use chain2`: {chain2} (dev was {dev})")
if count("AssumeRole") < roles + 2:
    fail(f"chain2's credentials near their end were not renewed at the prompt: "
         f"{roles} -> {count('AssumeRole')} AssumeRole calls")
# Hour-long credentials again: renewed once more at the next prompt, then left alone.
set_expiry("AssumeRole", 3600)
run("")
settled = count("AssumeRole")
renewed = probe()
for _ in range(3):
    run("")
if count("AssumeRole") != settled:
    fail("credentials with an hour left were renewed again")
if renewed["key"] == chain2["key"] or renewed["profile"] != "chain2":
    fail(f"the renewal did not reach the shell: {chain2} then {renewed}")
if count("GetSessionToken") != 1:
    fail(f"a renewal asked for a new MFA session: {count('GetSessionToken')} GetSessionToken")

# The MFA session ends: a new one lasting 70 s is made, and dev's role lasts 1000 s, inside the
# refresh window. Renewals work while the session has more than a minute left; a few seconds later
# the renewal needs a new code, which the hook never asks for: one notice, and the variables go.
set_expiry("GetSessionToken", 70)
set_expiry("AssumeRole", 1000)
subprocess.run([AWSENV, "logout", "dev"], check=True, capture_output=True)
time.sleep(1.1)
set_mfa_code("222222")
run("awsenv login dev --token-code 222222")
out = run("awsenv use dev")
notice = "MFA session for dev ended — run `awsenv login dev`"
if notice in out or "awsenv:" in out:
    fail(f"`awsenv use dev` failed while the MFA session lasted: {out!r}")
time.sleep(11)
out = run("")
if out.count(notice) != 1:
    fail(f"expected the notice once, got {out!r}")
gone = probe()
if gone["profile"] != "none" or gone["key"] != "none":
    fail(f"the variables of an ended session remain: {gone}")
out = run("")
if notice in out:
    fail("the notice came twice")

# `awsenv login dev` in the hooked shell exports dev again.
set_expiry("GetSessionToken", 43200)
set_expiry("AssumeRole", 3600)
set_mfa_code("333333")
run("awsenv login dev --token-code 333333")
back = probe()
if back["profile"] != "dev" or back["key"] == "none":
    fail(f"`awsenv login dev` after the notice did not export dev again: {back}")

# `awsenv logout --all` in another terminal: gone at the next prompt, with one line.
time.sleep(1.1)
subprocess.run([AWSENV, "logout", "--all"], check=True, capture_output=True)
out = run("")
if "logged out" not in out:
    fail(f"no logout notice: {out!r}")
after_logout = probe()
if after_logout["profile"] != "none" or after_logout["key"] != "none":
    fail(f"variables remain after `awsenv logout --all`: {after_logout}")

# `set -e` users: prompts with a failed status and a hook at work do not end the shell.
if SHELL in ("bash", "zsh"):
    set_mfa_code("444444")
    run("awsenv use dev --token-code 444444")
    run("set -e")
    run("! true")
    run("")
    run("! true")
    out = run(status_of_last())
    if "S=1" not in out:
        fail(f"the exit status was not kept under set -e: {out!r}")
    out = run("set +e; echo ALIVE")
    if "ALIVE" not in out:
        fail(f"the shell did not survive set -e: {out!r}")

child.sendline("exit")
child.expect(pexpect.EOF)
print("SCENARIO OK")
