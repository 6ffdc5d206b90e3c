# tracer: zsh integration (zsh >= 5.1), through the ZDOTDIR trick.
#
# tracer starts `zsh -i` (and -l) with ZDOTDIR pointing at a private directory whose .zshenv, .zprofile,
# .zshrc and .zlogin each set __tracer_stage and source this file. Each stage restores the user's own
# ZDOTDIR (their original value, passed as TRACER_ZDOTDIR, or unset), sources the user's file of the same
# name from ${ZDOTDIR:-$HOME} at top level, then points ZDOTDIR back at our directory for the next stage.
# The last stage (.zshrc, or .zlogin for a login shell) leaves ZDOTDIR as the user's files left it and
# installs the hooks (protocol: tracer/capture/marks.py):
#   preexec  __tracer_preexec in preexec_functions: $1 is the line as typed (also when the history
#            options keep it out of history); $3 when history is off.
#   precmd   __tracer_precmd first in precmd_functions: reads $? first, prints the D mark, returns $?.
#   PROMPT_EOL_MARK  begins with a D mark too (%{...%}: no width), status %?, cwd kept up to date by a chpwd
#            hook: zsh prints it, with its line of spaces (PROMPT_SP), before precmd runs, so the command
#            ends where that padding starts. The user's mark follows ours; one they set is taken up at the
#            next prompt. The precmd D that follows is then a D with no command open, which changes nothing.
#   zshaddhistory  remembers the line read; preexec forgets it. A line that does not parse never reaches
#            preexec: precmd writes its C mark late from it (a blank or comment-only line is no command).
# Each hook puts the other back if the user's code removed it (preexec then writes the missing D first).
# A HISTFILE that a global rc file put into our directory (${ZDOTDIR:-$HOME}/.zsh_history) is moved back
# to the user's directory. Our variables are not exported: a nested zsh reads the user's files only.

case ${__tracer_stage-} in
    zshenv)
        typeset -g __tracer_zdotdir=$ZDOTDIR
        # The nonce, from the file our .zshenv names; the file is emptied at once (builtins only): from here
        # on the nonce is in no environment, argument list or file, only in this unexported variable.
        typeset -g __tracer_nonce=
        if [[ -n ${__tracer_nonce_file-} ]]; then
            { IFS= builtin read -r __tracer_nonce <$__tracer_nonce_file; : >|$__tracer_nonce_file } 2>/dev/null
        fi
        unset __tracer_nonce_file
        [[ ${#__tracer_nonce} == 32 && $__tracer_nonce != *[^0-9a-f]* ]] || __tracer_nonce=
        if (( ${+TRACER_ZDOTDIR} )); then
            typeset -g __tracer_user_zdotdir=$TRACER_ZDOTDIR __tracer_user_zdotdir_set=1
            ZDOTDIR=$TRACER_ZDOTDIR
            unset TRACER_ZDOTDIR
        else
            typeset -g __tracer_user_zdotdir= __tracer_user_zdotdir_set=0
            unset ZDOTDIR
        fi
        ;;
    *)
        if (( __tracer_user_zdotdir_set )); then
            ZDOTDIR=$__tracer_user_zdotdir
        else
            unset ZDOTDIR
        fi
        ;;
esac

# A HISTFILE a global rc file derived from our ZDOTDIR goes back to the user's directory.
if [[ -n ${HISTFILE-} && $HISTFILE == $__tracer_zdotdir/* ]]; then
    HISTFILE=${ZDOTDIR:-$HOME}/${HISTFILE#$__tracer_zdotdir/}
fi

# The user's file of this stage, at top level so that its typesets stay global.
__tracer_file=${ZDOTDIR:-$HOME}/.$__tracer_stage
[[ -r $__tracer_file ]] && builtin source "$__tracer_file"
unset __tracer_file

if (( ${+ZDOTDIR} )); then
    __tracer_user_zdotdir=$ZDOTDIR __tracer_user_zdotdir_set=1
else
    __tracer_user_zdotdir= __tracer_user_zdotdir_set=0
fi
if [[ -n ${HISTFILE-} && $HISTFILE == $__tracer_zdotdir/* ]]; then
    HISTFILE=${ZDOTDIR:-$HOME}/${HISTFILE#$__tracer_zdotdir/}
fi

if [[ $__tracer_stage == zlogin || ( $__tracer_stage == zshrc && ! -o login ) ]]; then
    # Last stage: ZDOTDIR stays the user's; install the hooks.
    unset __tracer_stage __tracer_user_zdotdir __tracer_user_zdotdir_set __tracer_zdotdir

    # __tracer_b64 TEXT: base64 of the bytes of TEXT, into REPLY (no fork, no external program).
    __tracer_b64() {
        emulate -L zsh
        setopt no_multibyte
        local s=$1 out= tbl=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ c
        integer i n=${#1} a b v
        for (( i = 1; i + 2 <= n; i += 3 )); do
            c=${s[i]}; (( a = #c & 255 ))
            c=${s[i+1]}; (( b = #c & 255 ))
            c=${s[i+2]}; (( v = a << 16 | b << 8 | (#c & 255) ))
            out+=${tbl[(v>>18&63)+1]}${tbl[(v>>12&63)+1]}${tbl[(v>>6&63)+1]}${tbl[(v&63)+1]}
        done
        if (( n - i == 0 )); then
            c=${s[i]}; (( v = (#c & 255) << 16 ))
            out+=${tbl[(v>>18&63)+1]}${tbl[(v>>12&63)+1]}==
        elif (( n - i == 1 )); then
            c=${s[i]}; (( a = #c & 255 ))
            c=${s[i+1]}; (( v = a << 16 | (#c & 255) << 8 ))
            out+=${tbl[(v>>18&63)+1]}${tbl[(v>>12&63)+1]}${tbl[(v>>6&63)+1]}=
        fi
        REPLY=$out
    }

    # __tracer_start_mark LINE [L]: print the C mark of LINE (L: written late, after what the line printed).
    __tracer_start_mark() {
        local REPLY cmd64
        __tracer_b64 "$1"
        cmd64=$REPLY
        __tracer_b64 "$PWD"
        builtin printf '\e]6973;%s;C;%s;%s%s\a' "$__tracer_nonce" "$cmd64" "$REPLY" "${2:+;$2}"
    }

    # zshaddhistory: every line read, as typed (with its newline), also one that does not parse, which never
    # reaches preexec. Changes nothing (status 0: the line is saved as the user's settings say).
    __tracer_addhistory() {
        __tracer_line=${1%$'\n'}
        return 0
    }

    # PROMPT_EOL_MARK is where zsh starts what it prints before a prompt (PROMPT_SP: the mark and a line of
    # spaces, so that output without a final newline stays visible), before precmd runs. Ours begins with a D
    # mark (status from %?, cwd as of the last prompt or `cd`; ;P: the padding's, before precmd), invisible
    # (%{...%}), then the user's mark, so the command ends exactly where that padding starts: the padding is the
    # prompt's, not the command's output.
    __tracer_set_eol() {
        emulate -L zsh
        local REPLY
        if (( ! ${+PROMPT_EOL_MARK} )); then
            __tracer_eol_user='%B%S%#%s%b'  # zsh's default
        elif [[ $PROMPT_EOL_MARK != "$__tracer_eol_set" ]]; then
            __tracer_eol_user=$PROMPT_EOL_MARK
        fi
        __tracer_b64 "$PWD"
        __tracer_eol_set="%{"$'\e'"]6973;$__tracer_nonce;D;%?;$REPLY;P"$'\a'"%}$__tracer_eol_user"
        typeset -g PROMPT_EOL_MARK=$__tracer_eol_set
    }

    __tracer_preexec() {
        local __tracer_status=$?
        emulate -L zsh
        local REPLY cmd=$1
        __tracer_line=
        [[ -z $cmd ]] && cmd=$3
        if (( ! ${precmd_functions[(Ie)__tracer_precmd]} )); then
            # The user's code dropped our precmd: end the previous command here, and put it back.
            __tracer_b64 "$PWD"
            builtin printf '\e]6973;%s;D;%s;%s\a' "$__tracer_nonce" "$__tracer_status" "$REPLY"
            __tracer_install
        fi
        __tracer_start_mark "$cmd"
    }

    __tracer_precmd() {
        local __tracer_status=$?
        emulate -L zsh
        local REPLY
        if [[ -n $__tracer_line ]]; then
            # A line was read but never ran: it did not parse (zsh said why) or it ran without our preexec;
            # a command all the same, its C mark late (a blank or comment-only line is no command).
            if [[ $__tracer_line == *[^[:space:]]* && ! ( -o interactive_comments && $__tracer_line =~ '^[[:space:]]*#' ) ]]; then
                __tracer_start_mark "$__tracer_line" L
            fi
            __tracer_line=
        fi
        __tracer_b64 "$PWD"
        builtin printf '\e]6973;%s;D;%s;%s\a' "$__tracer_nonce" "$__tracer_status" "$REPLY"
        __tracer_install
        return __tracer_status
    }

    # Keep our precmd first (it must read $? before anything else) and our other hooks present.
    __tracer_install() {
        [[ ${precmd_functions[1]-} == __tracer_precmd ]] ||
            precmd_functions=(__tracer_precmd ${precmd_functions:#__tracer_precmd})
        (( ${preexec_functions[(Ie)__tracer_preexec]} )) || preexec_functions+=(__tracer_preexec)
        (( ${zshaddhistory_functions[(Ie)__tracer_addhistory]} )) || zshaddhistory_functions+=(__tracer_addhistory)
        (( ${chpwd_functions[(Ie)__tracer_set_eol]} )) || chpwd_functions+=(__tracer_set_eol)
        __tracer_set_eol
    }

    if [[ -n $__tracer_nonce ]]; then
        typeset -ga precmd_functions preexec_functions zshaddhistory_functions chpwd_functions
        typeset -g __tracer_line= __tracer_eol_user= __tracer_eol_set=
        __tracer_install
    fi
else
    ZDOTDIR=$__tracer_zdotdir
fi
