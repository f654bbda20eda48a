# awsenv shell integration for zsh. Load it from ~/.zshrc:
#
#   eval "$(awsenv hook zsh)"
#
# It defines `awsenv use PROFILE [OPTIONS]` and `awsenv unuse` as shell functions, and a precmd hook
# that, while the exported credentials have time left, only compares two numbers ($EPOCHSECONDS from
# zsh/datetime: no process). When they come within __AWSENV_WINDOW__ seconds of their end it fetches fresh
# ones from the awsenv daemon (which renews role credentials without a prompt); when the MFA session
# itself has ended it says so once and removes the variables; after `awsenv logout` anywhere it removes
# them at the next prompt. Loading it twice is harmless; `$?` is kept; the functions run with zsh's
# default options whatever the user's are.

typeset -g __awsenv_bin=__AWSENV_BIN__
typeset -g __awsenv_logout_file=__AWSENV_LOGOUT_FILE__
typeset -g __awsenv_window=__AWSENV_WINDOW__
typeset -g __awsenv_retry_at=0
typeset -g __awsenv_ended=
builtin zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null

__awsenv_clear() {
  builtin emulate -L zsh
  builtin unset __AWSENV_VARS__
  __awsenv_retry_at=0
}

# Fetches fresh credentials for $AWSENV_PROFILE without ever asking for an MFA code.
__awsenv_refresh() {
  builtin emulate -L zsh
  builtin local out rc=0 profile=$AWSENV_PROFILE now=$1
  if out=$(\command "$__awsenv_bin" export "$profile" --no-prompt --format env 2>/dev/null); then
    builtin eval "$out"
    __awsenv_retry_at=0
    builtin return 0
  else
    rc=$?
  fi
  if ((rc == 4)); then
    builtin printf 'awsenv: MFA session for %s ended — run `awsenv login %s`\n' "$profile" "$profile" >&2
    __awsenv_clear
    __awsenv_ended=$profile
  elif ((now >= AWSENV_EXPIRES)); then
    builtin printf 'awsenv: the credentials of %s expired and could not be renewed — `awsenv use %s` says why\n' "$profile" "$profile" >&2
    __awsenv_clear
  else
    # The daemon or STS is out of reach: keep the variables, which still work, and try again later.
    __awsenv_retry_at=$((now + 60))
  fi
}

__awsenv_hook() {
  builtin emulate -L zsh
  [[ -n ${AWSENV_PROFILE-} && ${AWSENV_EXPIRES-} == <-> ]] || builtin return 0
  builtin local at='' who='' now
  if [[ -r $__awsenv_logout_file && ${AWSENV_EXPORTED_AT-} == <-> ]] &&
    builtin read -r at who <"$__awsenv_logout_file" && [[ $at == <-> ]] &&
    ((at > AWSENV_EXPORTED_AT)) && [[ $who == '*' || $who == "$AWSENV_PROFILE" ]]; then
    builtin printf 'awsenv: logged out — the credentials of %s are removed from this shell\n' "$AWSENV_PROFILE" >&2
    __awsenv_clear
    builtin return 0
  fi
  if [[ -n ${EPOCHSECONDS-} ]]; then
    now=$EPOCHSECONDS
  else
    now=$(\command date +%s)
  fi
  ((now + __awsenv_window < AWSENV_EXPIRES || now < __awsenv_retry_at)) && builtin return 0
  __awsenv_refresh "$now"
}

awsenv() {
  builtin emulate -L zsh
  builtin local __awsenv_out
  case ${1-} in
  use)
    builtin shift
    if __awsenv_out=$(\command "$__awsenv_bin" export "$@" --format env); then
      builtin eval "$__awsenv_out"
      __awsenv_retry_at=0
      __awsenv_ended=
    else
      builtin return
    fi
    ;;
  unuse)
    __awsenv_clear
    ;;
  login)
    \command "$__awsenv_bin" "$@" || builtin return
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

builtin autoload -Uz add-zsh-hook
add-zsh-hook precmd __awsenv_hook
