# awsenv shell integration for bash (3.2 and later; no process at the prompt from 4.2 on).
# Load it from ~/.bashrc:
#
#   eval "$(awsenv hook bash)"
#
# It defines `awsenv use PROFILE [OPTIONS]` and `awsenv unuse` as shell functions, and a prompt hook
# that, while the exported credentials have time left, only compares two numbers. When they come
# within __AWSENV_WINDOW__ seconds of their end it fetches fresh ones from the awsenv daemon (which renews
# role credentials without a prompt); when the MFA session itself has ended it says so once and removes
# the variables; after `awsenv logout` anywhere it removes them at the next prompt. Loading it twice is
# harmless. Everything here keeps `$?`, works under `set -u`, and calls builtins so aliases can't
# interfere.

__awsenv_bin=__AWSENV_BIN__
__awsenv_logout_file=__AWSENV_LOGOUT_FILE__
__awsenv_window=__AWSENV_WINDOW__
__awsenv_retry_at=0
__awsenv_ended=

# The current Unix time in __awsenv_t: $EPOCHSECONDS (bash 5), printf's %T (bash 4.2), else date(1).
__awsenv_now() {
  if [[ -n ${EPOCHSECONDS-} ]]; then
    __awsenv_t=$EPOCHSECONDS
  elif ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 2))); then
    \builtin printf -v __awsenv_t '%(%s)T' -1
  else
    __awsenv_t=$(\command date +%s)
  fi
}

__awsenv_clear() {
  \builtin unset -v __AWSENV_VARS__
  __awsenv_retry_at=0
}

# Fetches fresh credentials for $AWSENV_PROFILE without ever asking for an MFA code.
__awsenv_refresh() {
  \builtin local out rc=0 profile=$AWSENV_PROFILE
  if out=$(\command "$__awsenv_bin" export "$profile" --no-prompt --format env 2>/dev/null); then
    \builtin eval "$out"
    __awsenv_retry_at=0
    \builtin return 0
  else
    rc=$?
  fi
  if ((rc == 4)); then
    # shellcheck disable=SC2016 # the backquotes are text
    \builtin printf 'awsenv: MFA session for %s ended — run `awsenv login %s`\n' "$profile" "$profile" >&2
    __awsenv_clear
    __awsenv_ended=$profile
  elif ((__awsenv_t >= AWSENV_EXPIRES)); then
    # shellcheck disable=SC2016 # the backquotes are text
    \builtin printf 'awsenv: the credentials of %s expired and could not be renewed — `awsenv use %s` says why\n' "$profile" "$profile" >&2
    __awsenv_clear
  else
    # The daemon or STS is out of reach: keep the variables, which still work, and try again later.
    __awsenv_retry_at=$((__awsenv_t + 60))
  fi
}

__awsenv_check() {
  \builtin local __awsenv_t at='' who=''
  # Digits only (a glob, cheaper than a regex): the values go into arithmetic.
  if [[ -z ${AWSENV_EXPIRES-} || $AWSENV_EXPIRES == *[!0-9]* ]]; then
    \builtin return 0
  fi
  if [[ -r $__awsenv_logout_file && -n ${AWSENV_EXPORTED_AT-} && $AWSENV_EXPORTED_AT != *[!0-9]* ]] &&
    \builtin read -r at who <"$__awsenv_logout_file" && [[ -n $at && $at != *[!0-9]* ]] &&
    ((at > AWSENV_EXPORTED_AT)) && [[ $who == '*' || $who == "$AWSENV_PROFILE" ]]; then
    \builtin printf 'awsenv: logged out — the credentials of %s are removed from this shell\n' "$AWSENV_PROFILE" >&2
    __awsenv_clear
    \builtin return 0
  fi
  __awsenv_now
  if ((__awsenv_t + __awsenv_window < AWSENV_EXPIRES || __awsenv_t < __awsenv_retry_at)); then
    \builtin return 0
  fi
  __awsenv_refresh
}

__awsenv_hook() {
  \builtin local __awsenv_status=$?
  if [[ -n ${AWSENV_PROFILE-} ]]; then
    __awsenv_check
  fi
  # Hand the user's status on to later PROMPT_COMMAND entries — except under `set -e`, where a
  # failing PROMPT_COMMAND would end the shell (bash itself keeps `$?` for the next command line).
  if [[ $- == *e* ]]; then
    \builtin return 0
  fi
  \builtin return "$__awsenv_status"
}

awsenv() {
  \builtin local __awsenv_out
  case ${1-} in
  use)
    \builtin shift
    if __awsenv_out=$(\command "$__awsenv_bin" export "$@" --format env); then
      \builtin eval "$__awsenv_out"
      __awsenv_retry_at=0
      __awsenv_ended=
    else
      \builtin return
    fi
    ;;
  unuse)
    __awsenv_clear
    ;;
  login)
    \command "$__awsenv_bin" "$@" || \builtin return
    # Back in business after the MFA session ended: export the profile again.
    if [[ -n $__awsenv_ended && ${2-} == "$__awsenv_ended" && -z ${AWSENV_PROFILE-} ]]; then
      awsenv use "$__awsenv_ended"
    fi
    ;;
  *)
    \command "$__awsenv_bin" "$@"
    ;;
  esac
}

case ";${PROMPT_COMMAND-};" in
*";__awsenv_hook;"*) ;;
*) PROMPT_COMMAND="__awsenv_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
