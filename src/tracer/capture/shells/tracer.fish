# tracer: fish integration (fish >= 3.1), read with `fish -i -C 'source THIS'` after the user's config. The
# header line tracer writes before this text sets __tracer_nonce_file.
#
# Hooks (protocol: tracer/capture/marks.py), all fish events, so the user's fish_prompt and their own
# event handlers are left alone:
#   fish_preexec   $argv[1] is the command line: print the C mark.
#   fish_postexec  print the D mark with $status, as soon as the command is over: before fish prints its
#                  end-of-line padding (⏎ and a line of spaces, for output without a final newline), so the
#                  padding is the prompt's, not the command's output.
#   fish_prompt    print the D mark again, as at every prompt (with no command open it changes nothing).
# Our variables are global, not universal nor exported: a nested fish installs nothing.

# The nonce, from the file tracer's header line names; the file is emptied at once (builtins only): from here
# on it is in no environment, argument list or file, only in this unexported variable.
set -g __tracer_nonce ''
if set -q __tracer_nonce_file; and test -f "$__tracer_nonce_file"
    read -g __tracer_nonce <$__tracer_nonce_file
    true >$__tracer_nonce_file
end
set -e __tracer_nonce_file
string match -qr '^[0-9a-f]{32}$' -- $__tracer_nonce; or set -g __tracer_nonce ''

if test -n "$__tracer_nonce"
    set -g __tracer_status 0

    # __tracer_b64 TEXT: base64 of the UTF-8 bytes of TEXT, on one line.
    function __tracer_b64
        printf '%s' $argv[1] | command base64 | string join ''
    end

    function __tracer_preexec --on-event fish_preexec
        set -l cmd (__tracer_b64 "$argv[1]")
        set -l cwd (__tracer_b64 "$PWD")
        printf '\e]6973;%s;C;%s;%s\a' $__tracer_nonce "$cmd" "$cwd"
    end

    # The D mark; the base64 of the directory is kept for as long as it is the same (base64 is a process).
    function __tracer_end
        if test "$PWD" != "$__tracer_cwd"
            set -g __tracer_cwd $PWD
            set -g __tracer_cwd64 (__tracer_b64 "$PWD")
        end
        printf '\e]6973;%s;D;%s;%s\a' $__tracer_nonce $__tracer_status "$__tracer_cwd64"
    end

    function __tracer_postexec --on-event fish_postexec
        set -g __tracer_status $status
        __tracer_end
    end

    function __tracer_prompt --on-event fish_prompt
        __tracer_end
    end
end
