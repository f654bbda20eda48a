# awsenv shell integration for fish. Load it from ~/.config/fish/config.fish:
#
#   awsenv hook fish | source
#
# It defines `awsenv use PROFILE [OPTIONS]` and `awsenv unuse`, and a fish_prompt handler that, while
# the exported credentials have time left, only compares two numbers (the clock is read with the
# `path` builtin of fish 3.5+: no process). When they come within __AWSENV_WINDOW__ seconds of their end
# it fetches fresh ones from the awsenv daemon (which renews role credentials without a prompt); when
# the MFA session itself has ended it says so once and removes the variables; after `awsenv logout`
# anywhere it removes them at the next prompt. Loading it twice is harmless; `$status` is kept.

set -g __awsenv_bin __AWSENV_BIN__
set -g __awsenv_logout_file __AWSENV_LOGOUT_FILE__
set -g __awsenv_window __AWSENV_WINDOW__
set -g __awsenv_retry_at 0
set -g __awsenv_ended ''

function __awsenv_now
    if builtin -q path
        # The time of a file plus how long ago that was: now, from two builtins.
        builtin math (builtin path mtime /) + (builtin path mtime --relative /)
    else
        command date +%s
    end
end

function __awsenv_clear
    for name in __AWSENV_VARS__
        set -e $name
    end
    set -g __awsenv_retry_at 0
end

function __awsenv_refresh --argument-names now
    set -l profile $AWSENV_PROFILE
    set -l out (command $__awsenv_bin export $profile --no-prompt --format fish 2>/dev/null)
    set -l rc $status
    if test $rc -eq 0
        builtin string join \n -- $out | source
        set -g __awsenv_retry_at 0
    else if test $rc -eq 4
        builtin printf 'awsenv: MFA session for %s ended — run `awsenv login %s`\n' $profile $profile >&2
        __awsenv_clear
        set -g __awsenv_ended $profile
    else if test $now -ge $AWSENV_EXPIRES
        builtin printf 'awsenv: the credentials of %s expired and could not be renewed — `awsenv use %s` says why\n' $profile $profile >&2
        __awsenv_clear
    else
        # The daemon or STS is out of reach: keep the variables, which still work, and try again later.
        set -g __awsenv_retry_at (builtin math $now + 60)
    end
end

function __awsenv_hook --on-event fish_prompt
    set -l last_status $status
    if set -q AWSENV_PROFILE; and builtin string match -qr '^[0-9]+$' -- "$AWSENV_EXPIRES"
        set -l fields
        if test -r $__awsenv_logout_file; and builtin string match -qr '^[0-9]+$' -- "$AWSENV_EXPORTED_AT"
            builtin read -l line <$__awsenv_logout_file
            set fields (builtin string split -m 1 ' ' -- $line)
        end
        if test (count $fields) -eq 2; and builtin string match -qr '^[0-9]+$' -- $fields[1]; and test $fields[1] -gt $AWSENV_EXPORTED_AT; and contains -- $fields[2] '*' $AWSENV_PROFILE
            builtin printf 'awsenv: logged out — the credentials of %s are removed from this shell\n' $AWSENV_PROFILE >&2
            __awsenv_clear
        else
            set -l now (__awsenv_now)
            if test (builtin math $now + $__awsenv_window) -ge $AWSENV_EXPIRES; and test $now -ge $__awsenv_retry_at
                __awsenv_refresh $now
            end
        end
    end
    return $last_status
end

function awsenv
    switch "$argv[1]"
        case use
            set -l out (command $__awsenv_bin export $argv[2..-1] --format fish)
            or return
            builtin string join \n -- $out | source
            set -g __awsenv_retry_at 0
            set -g __awsenv_ended ''
        case unuse
            __awsenv_clear
        case login
            command $__awsenv_bin $argv; or return
            # Back in business after the MFA session ended: export the profile again.
            if test -n "$__awsenv_ended"; and test "$argv[2]" = "$__awsenv_ended"; and not set -q AWSENV_PROFILE
                awsenv use $__awsenv_ended
            end
        case '*'
            command $__awsenv_bin $argv
    end
end
