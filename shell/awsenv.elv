# awsenv shell integration for elvish (0.19 and later). Add to ~/.config/elvish/rc.elv:
#
#   eval (awsenv hook elvish | slurp)
#
# It defines `awsenv use PROFILE [OPTIONS]` and `awsenv unuse` (an `awsenv` function), and a
# before-readline hook that, while the exported credentials have time left, only compares two numbers.
# Elvish has no clock builtin, so on Linux the time is read from /proc (boot time plus uptime: no
# process); elsewhere date(1) is run. When the credentials come within __AWSENV_WINDOW__ seconds of
# their end it fetches fresh ones from the awsenv daemon (which renews role credentials without a
# prompt); when the MFA session itself has ended it says so once and removes the variables; after
# `awsenv logout` anywhere it removes them at the next prompt. Loading it twice registers it once.

use re
use str
use path

var __awsenv-bin = (external __AWSENV_BIN__)
var __awsenv-logout-file = __AWSENV_LOGOUT_FILE__
var __awsenv-window = (num __AWSENV_WINDOW__)
var __awsenv-retry-at = (num 0)
var __awsenv-ended = ''

fn __awsenv-digits {|s| re:match '^[0-9]+$' $s }

fn __awsenv-now {
  if (and (path:is-regular /proc/uptime) (path:is-regular /proc/stat)) {
    var up = (str:split ' ' (slurp < /proc/uptime) | take 1)
    var boot = (re:find '(?m)^btime ([0-9]+)$' (slurp < /proc/stat))[groups][1][text]
    put (+ (num $boot) (num (str:split '.' $up | take 1)))
  } else {
    put (num (e:date +%s))
  }
}

fn __awsenv-clear {
  for name [__AWSENV_VARS__] {
    unset-env $name
  }
  set __awsenv-retry-at = (num 0)
}

# Applies an export in JSON: the variables it sets; every other awsenv and shadowing variable goes.
fn __awsenv-apply {|json|
  var vars = (echo $json | from-json)
  for name [__AWSENV_ALWAYS_UNSET__ __AWSENV_VARS__] {
    if (not (has-key $vars $name)) {
      unset-env $name
    }
  }
  keys $vars | each {|name| set-env $name $vars[$name] }
}

fn __awsenv-refresh {|now|
  var profile = (get-env AWSENV_PROFILE)
  var status = 0
  var out = ''
  try {
    set out = ($__awsenv-bin export $profile --no-prompt --format json 2>$path:dev-null | slurp)
  } catch e {
    set status = 1
    if (eq $e[reason][type] external-cmd/exited) {
      set status = $e[reason][exit-status]
    }
  }
  if (== $status 0) {
    __awsenv-apply $out
    set __awsenv-retry-at = (num 0)
  } elif (== $status 4) {
    echo 'awsenv: MFA session for '$profile' ended — run `awsenv login '$profile'`' >&2
    __awsenv-clear
    set __awsenv-ended = $profile
  } elif (>= $now (num (get-env AWSENV_EXPIRES))) {
    echo 'awsenv: the credentials of '$profile' expired and could not be renewed — `awsenv use '$profile'` says why' >&2
    __awsenv-clear
  } else {
    # The daemon or STS is out of reach: keep the variables, which still work, and try again later.
    set __awsenv-retry-at = (+ $now 60)
  }
}

fn __awsenv-hook {
  if (or (not (has-env AWSENV_PROFILE)) (not (has-env AWSENV_EXPIRES))) {
    return
  }
  if (not (__awsenv-digits (get-env AWSENV_EXPIRES))) {
    return
  }
  var profile = (get-env AWSENV_PROFILE)
  if (and (path:is-regular $__awsenv-logout-file) (has-env AWSENV_EXPORTED_AT) (__awsenv-digits (get-env AWSENV_EXPORTED_AT))) {
    var fields = [(str:split ' ' (str:trim-space (slurp < $__awsenv-logout-file)))]
    if (and (== (count $fields) 2) (__awsenv-digits $fields[0])) {
      if (and (> (num $fields[0]) (num (get-env AWSENV_EXPORTED_AT))) (or (eq $fields[1] '*') (eq $fields[1] $profile))) {
        echo 'awsenv: logged out — the credentials of '$profile' are removed from this shell' >&2
        __awsenv-clear
        return
      }
    }
  }
  var now = (__awsenv-now)
  if (or (< (+ $now $__awsenv-window) (num (get-env AWSENV_EXPIRES))) (< $now $__awsenv-retry-at)) {
    return
  }
  __awsenv-refresh $now
}

fn awsenv {|@args|
  if (== (count $args) 0) {
    $__awsenv-bin
    return
  }
  if (eq $args[0] use) {
    var rest = $args[1..]
    var out = ($__awsenv-bin export $@rest --format json | slurp)
    __awsenv-apply $out
    set __awsenv-retry-at = (num 0)
    set __awsenv-ended = ''
  } elif (eq $args[0] unuse) {
    __awsenv-clear
  } elif (eq $args[0] login) {
    $__awsenv-bin $@args
    # Back in business after the MFA session ended: export the profile again.
    if (and (not-eq $__awsenv-ended '') (> (count $args) 1) (eq $args[1] $__awsenv-ended) (not (has-env AWSENV_PROFILE))) {
      awsenv use $__awsenv-ended
    }
  } else {
    $__awsenv-bin $@args
  }
}

# Registered once per shell: when this file is evaluated again, the first definitions stay (they
# share their state with the hook already registered). `eval` keeps its definitions to itself, so the
# REPL is given the `awsenv` function explicitly.
if (or (not (has-env __AWSENV_ELVISH_HOOK)) (not-eq (get-env __AWSENV_ELVISH_HOOK) (to-string $pid))) {
  set edit:before-readline = [$@edit:before-readline {|| __awsenv-hook }]
  set-env __AWSENV_ELVISH_HOOK (to-string $pid)
  edit:add-var awsenv~ $awsenv~
}
