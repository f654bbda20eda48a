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

# The clock without a process: on Linux the boot time (read from /proc/stat when the exported
# credentials change) plus the uptime (read from /proc/uptime at each prompt, by the `read` builtin:
# no command substitution, which costs fish more than everything else here); elsewhere the `path`
# builtin of fish 3.5+, else date(1).
function __awsenv_boot_time
    while read -l key value
        if test "$key" = btime
            echo $value
            return 0
        end
    end </proc/stat
    return 1
end

function __awsenv_now
    if test -r /proc/uptime; and set -l boot (__awsenv_boot_time)
        read -l -d . up rest </proc/uptime
        builtin math $boot + $up
    else if builtin -q path
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

# Whether the exported credentials are within the refresh window (and no retry is pending). On Linux
# the deadline is turned into uptime seconds once per export, so a prompt costs one `read`.
function __awsenv_due
    if test "$AWSENV_EXPIRES" != "$__awsenv_cached_expires"
        set -g __awsenv_cached_expires $AWSENV_EXPIRES
        set -g __awsenv_due_up ''
        if test -r /proc/uptime; and set -l boot (__awsenv_boot_time)
            set -g __awsenv_due_up (builtin math $AWSENV_EXPIRES - $__awsenv_window - $boot)
        end
    end
    if test -n "$__awsenv_due_up"
        read -l -d . up rest </proc/uptime
        test $up -ge $__awsenv_due_up; or return 1
    else
        set -l now (__awsenv_now)
        test (builtin math $now + $__awsenv_window) -ge $AWSENV_EXPIRES; or return 1
    end
    set -l now (__awsenv_now)
    test $now -ge $__awsenv_retry_at
end

function __awsenv_hook --on-event fish_prompt
    set -l last_status $status
    if set -q AWSENV_PROFILE; and builtin string match -qr '^[0-9]+$' -- "$AWSENV_EXPIRES"
        set -l at ''
        set -l who ''
        if test -r $__awsenv_logout_file; and builtin string match -qr '^[0-9]+$' -- "$AWSENV_EXPORTED_AT"
            builtin read at who <$__awsenv_logout_file
        end
        if builtin string match -qr '^[0-9]+$' -- "$at"; and test $at -gt $AWSENV_EXPORTED_AT; and contains -- "$who" '*' $AWSENV_PROFILE
            builtin printf 'awsenv: logged out — the credentials of %s are removed from this shell\n' $AWSENV_PROFILE >&2
            __awsenv_clear
        else if __awsenv_due
            __awsenv_refresh (__awsenv_now)
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
