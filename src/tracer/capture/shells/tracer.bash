# tracer: bash integration, read with `bash --init-file THIS -i` (bash >= 4.4).
#
# Runs the user's startup files as bash would (bash has already read /etc/bash.bashrc, if it was built to),
# then installs two hooks that write tracer's marks (protocol: tracer/capture/marks.py):
#   preexec  PS0 = '${__tracer_nonce:+$(__tracer_preexec "$?" "${__tracer_ran[0]}")}'\
#                  '${PS0:0:$((__tracer_ran[0]=1,0))}'<user's PS0>
#            PS0 is expanded once per command line read, after the line entered history and before it
#            runs. The command substitution runs in a subshell and prints the C mark with the line from
#            `history 1`; the arithmetic runs in the shell itself and tells precmd that PS0 did its job.
#            Lines pasted together (bracketed paste) run one after the other without a prompt between
#            them: PS0 then ends the previous line's command (D, with $?) before starting the next.
#   precmd   __tracer_precmd, first in PROMPT_COMMAND (string or array): reads $? first, prints the D
#            mark, and returns the same status, so the user's PROMPT_COMMAND still sees it.
# No DEBUG trap and nothing after the user's PROMPT_COMMAND: the user's DEBUG trap and bash-preexec (whose
# __bp_interactive_mode must stay last) keep working.
#
# At each prompt precmd puts the hooks back if the user's code replaced PS0 or moved __tracer_precmd from
# the front. If a command line ran without our PS0 (a prompt framework that rebuilds PS0 in its
# PROMPT_COMMAND, after precmd), precmd notices it from the command number (\#) and writes the C mark late
# (;L), just before the D: the command and its status are recorded, and the recorder puts the C back where its
# output began (tracer.capture.commands.PromptHold). If the user's
# code dropped __tracer_precmd from PROMPT_COMMAND (an interactive `PROMPT_COMMAND=...`), PS0 writes the D of
# the previous command (from $?) before the next C: statuses stay right, the prompt falls in the output.
#
# A line that does not parse (`echo )`, `if then fi`) never expands PS0, but it enters history and sets $? to
# 2: precmd sees the history number (HISTCMD) advance without a command having run and writes its C mark late
# (;L), from the history entry (a line holding only a comment is no command); bash's error is its output.
#
# History: every command line must reach history for `history 1` to see it, so ignorespace, ignoredups and
# ignoreboth are disguised in HISTCONTROL as "<item>.tracer" (items bash does not know, so they do nothing;
# code that edits the value, as bash-preexec does when it takes ignorespace out, edits them too and so tells
# us what the user's setup now wants), and HISTIGNORE is emptied. Precmd deletes each new entry again (before
# the user's PROMPT_COMMAND, which may run `history -a`) when the user's settings say it should not be kept,
# and an EXIT trap does the same for the line that ends the shell (`exit`), so HISTFILE ends up as without
# tracer. erasedups is left as it is. With history off (`set +o history`) the command line is unknown ("").
#
# Guards and state are plain (not exported) shell variables, also under `set -a`: a nested bash reads the
# user's ~/.bashrc only and installs nothing, so its commands are the output of the outer `bash` command.
# (If the user exports PROMPT_COMMAND, __tracer_precmd is exported too, as a function that does nothing
# without our nonce, so that nested shells do not fail on it.) `exec bash` replaces the hooked shell by an
# unhooked one: the `exec bash` command stays open, and what follows is its output.
#
# The header lines written by tracer before this text set __tracer_login (1: emulate a login shell) and
# __tracer_nonce_file (where the nonce is, for this shell only).

# Read the nonce before anything else runs, and empty its file at once (builtins only: no process sees it):
# from here on it is in no environment, argument list or file, only in this shell's unexported variable.
__tracer_nonce=
__tracer_dir=/nonexistent
if [[ -n ${__tracer_nonce_file-} ]]; then
    IFS= builtin read -r __tracer_nonce 2>/dev/null <"$__tracer_nonce_file"
    : 2>/dev/null >|"$__tracer_nonce_file"
    __tracer_dir=${__tracer_nonce_file%/*} # tracer's private directory, for our own scratch files
fi
builtin unset __tracer_nonce_file
case $__tracer_nonce in
    *[!0-9a-f]* | '') __tracer_nonce= ;;
esac

# Functions are defined before the user's files run, so the user's aliases do not expand inside them.

# __tracer_b64 TEXT: base64 of the bytes of TEXT, into __tracer_b64_out (no fork, no external program).
__tracer_b64() {
    local LC_ALL=C
    local s=$1 out= tbl=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/
    local -i i n=${#1} a b c v
    for ((i = 0; i + 2 < n; i += 3)); do
        builtin printf -v a %d "'${s:i:1}"
        builtin printf -v b %d "'${s:i+1:1}"
        builtin printf -v c %d "'${s:i+2:1}"
        ((a &= 255, b &= 255, c &= 255, v = a << 16 | b << 8 | c))
        out+=${tbl:v>>18&63:1}${tbl:v>>12&63:1}${tbl:v>>6&63:1}${tbl:v&63:1}
    done
    if ((n - i == 1)); then
        builtin printf -v a %d "'${s:i:1}"
        ((v = (a & 255) << 16))
        out+=${tbl:v>>18&63:1}${tbl:v>>12&63:1}==
    elif ((n - i == 2)); then
        builtin printf -v a %d "'${s:i:1}"
        builtin printf -v b %d "'${s:i+1:1}"
        ((v = (a & 255) << 16 | (b & 255) << 8))
        out+=${tbl:v>>18&63:1}${tbl:v>>12&63:1}${tbl:v>>6&63:1}=
    fi
    __tracer_b64_out=$out
}

# __tracer_last_entry [2]: the last history entry (text as typed) into __tracer_entry / __tracer_entry_no;
# with 2, the entry before it too, into __tracer_prev (unset when there is none).
__tracer_last_entry() {
    local out re='^ *([0-9]+)[ *] (.*)$'
    out=$(HISTTIMEFORMAT= builtin history "${1-1}")
    __tracer_entry=
    __tracer_entry_no=
    builtin unset __tracer_prev
    # `history` prints "%5d%c %s" per entry: the number, '*' (modified) or ' ', a space, the line(s).
    if [[ ${1-1} == 2 && $out =~ ^(.*)$'\n'( *[0-9]+[\ *]\ .*)$ ]]; then
        out=${BASH_REMATCH[2]}
        [[ ${BASH_REMATCH[1]} =~ $re ]] && __tracer_prev=${BASH_REMATCH[2]}
    fi
    if [[ $out =~ $re ]]; then
        __tracer_entry_no=${BASH_REMATCH[1]}
        __tracer_entry=${BASH_REMATCH[2]}
    fi
}

# __tracer_preexec [STATUS RAN]: print the C mark. Runs in the PS0 command substitution (a subshell), with
# $? (the previous command's status) and whether a command started since the last precmd.
__tracer_preexec() {
    local cmd=
    # No precmd ended the previous command: lines of one paste run one after the other without a prompt,
    # or the user's code dropped __tracer_precmd from PROMPT_COMMAND. End it here.
    if [[ -n ${1-} && ( ${2-} == 1 || ${PROMPT_COMMAND[*]-} != *__tracer_precmd* ) ]]; then
        __tracer_mark D "$1"
    fi
    if [[ -o history ]]; then
        __tracer_last_entry
        cmd=$__tracer_entry
    fi
    __tracer_start_mark "$cmd"
}

# __tracer_start_mark LINE [L]: print the C mark of LINE (L: written late, after what the line printed).
__tracer_start_mark() {
    local cmd64
    __tracer_b64 "$1"
    cmd64=$__tracer_b64_out
    __tracer_b64 "$PWD"
    builtin printf '\e]6973;%s;C;%s;%s%s\a' "$__tracer_nonce" "$cmd64" "$__tracer_b64_out" "${2:+;$2}"
}

# __tracer_mark D STATUS: print the D mark.
__tracer_mark() {
    __tracer_b64 "$PWD"
    builtin printf '\e]6973;%s;D;%s;%s\a' "$__tracer_nonce" "$2" "$__tracer_b64_out"
}

# __tracer_is_ignored: whether the user's HISTCONTROL/HISTIGNORE would have kept __tracer_entry out of
# history (__tracer_prev: the entry before it, for ignoredups and HISTIGNORE's `&`).
__tracer_is_ignored() {
    [[ -n $__tracer_ignorespace && $__tracer_entry == [[:space:]]* ]] && return 0
    [[ -n $__tracer_ignoredups && -n ${__tracer_prev+set} && $__tracer_entry == "$__tracer_prev" ]] && return 0
    [[ -z $__tracer_histignore ]] && return 1
    local pat
    local IFS=:
    local -a pats
    builtin read -r -d '' -a pats <<<"$__tracer_histignore" || :
    for pat in "${pats[@]}"; do
        pat=${pat%$'\n'}
        if [[ $pat == '&' ]]; then
            [[ -z $__tracer_erasedups && -n ${__tracer_prev+set} && $__tracer_entry == "$__tracer_prev" ]] && return 0
        elif [[ -n $pat && $__tracer_entry == $pat ]]; then
            return 0
        fi
    done
    return 1
}

# __tracer_new_entry: whether the last history entry is the line read since the last prompt (its number is the
# one HISTCMD gave then: nobody deleted it, and erasedups did not move it), fetched into __tracer_entry (and
# __tracer_prev when the user's settings compare with it).
__tracer_new_entry() {
    __tracer_entry=
    [[ -o history ]] || return 1
    if [[ -n $__tracer_ignoredups || ( -z $__tracer_erasedups && :$__tracer_histignore: == *:\&:* ) ]]; then
        __tracer_last_entry 2
    else
        __tracer_last_entry
    fi
    [[ -n $__tracer_entry_no && $__tracer_entry_no == "$__tracer_histno" ]]
}

# Delete the fetched new entry if the user's settings say it should not be kept.
__tracer_forget_ignored() {
    if [[ -n $__tracer_ignorespace || -n $__tracer_ignoredups || -n $__tracer_histignore ]] && __tracer_is_ignored; then
        builtin history -d "$__tracer_entry_no"
    fi
}

# The EXIT trap: the line that ends the shell (`exit`) gets no prompt, so its entry is handled here, before
# bash writes HISTFILE; then the user's own EXIT trap runs, with $? as it was.
__tracer_exit() {
    local __tracer_status=$?
    if [[ -n ${__tracer_nonce-} ]] && __tracer_new_entry; then
        __tracer_forget_ignored
    fi
    return "$__tracer_status"
}

# Put __tracer_exit first in the EXIT trap, before the user's own (read back through a file of our directory:
# no command substitution, so no process), unless it is there already.
__tracer_install_exit_trap() {
    local text= file=$__tracer_dir/exit-trap
    builtin trap -p EXIT 2>/dev/null >|"$file" || return 0
    IFS= builtin read -r -d '' text <"$file"
    [[ $text == "trap -- '__tracer_exit"* ]] && return 0
    local -a words=()
    [[ -n $text ]] && builtin eval "words=($text)" # trap -- 'CODE' EXIT
    builtin trap -- "__tracer_exit${words[2]:+; ${words[2]}}" EXIT
}

# Disguise ignorespace/ignoredups/ignoreboth in HISTCONTROL and take the patterns out of HISTIGNORE,
# remembering what the user asked for. A value that is not as we left it was set or edited by the user's setup:
# it says what they want now (a disguised item is theirs; what an edit left of one, e.g. ".tracer", is dropped).
# With erasedups, what drops duplicates (ignoredups, HISTIGNORE's `&`) stays in effect: emulating it after
# erasedups has run would not give the same history (bash counts the lines of the session differently).
__tracer_adjust_history() {
    local changed=
    if [[ ${HISTCONTROL-} != "${__tracer_histcontrol_set-}" ]]; then
        changed=1
        local item items=() new=
        local IFS=:
        __tracer_erasedups=
        for item in ${HISTCONTROL-}; do
            case $item in
                ignorespace.tracer | ignoredups.tracer | ignoreboth.tracer) item=${item%.tracer} ;;
                *.tracer) continue ;;
            esac
            items+=("$item")
            [[ $item == erasedups ]] && __tracer_erasedups=1
        done
        __tracer_ignorespace=
        __tracer_ignoredups=
        for item in "${items[@]}"; do
            case $item in
                ignorespace) __tracer_ignorespace=1 item=ignorespace.tracer ;;
                ignoredups) [[ -n $__tracer_erasedups ]] || __tracer_ignoredups=1 item=ignoredups.tracer ;;
                ignoreboth)
                    __tracer_ignorespace=1
                    if [[ -n $__tracer_erasedups ]]; then
                        item=ignorespace.tracer:ignoredups
                    else
                        __tracer_ignoredups=1 item=ignoreboth.tracer
                    fi
                    ;;
            esac
            [[ :$new: == *:"$item":* ]] || new+=${new:+:}$item
        done
        [[ $new != "${HISTCONTROL-}" ]] && HISTCONTROL=$new
        __tracer_histcontrol_set=${HISTCONTROL-}
    fi
    if [[ -n $changed || ${HISTIGNORE-} != "${__tracer_histignore_set-}" ]]; then
        [[ ${HISTIGNORE-} != "${__tracer_histignore_set-}" ]] && __tracer_histignore=${HISTIGNORE-}
        # `&` stays with erasedups (see above); the other patterns are applied by precmd.
        if [[ -n $__tracer_erasedups && :$__tracer_histignore: == *:\&:* ]]; then
            HISTIGNORE='&'
        elif [[ -n ${HISTIGNORE-} ]]; then
            HISTIGNORE=
        fi
        __tracer_histignore_set=${HISTIGNORE-}
    fi
}

# Put the hooks back if the user's code replaced PS0 or moved our precmd from the front of PROMPT_COMMAND.
__tracer_install() {
    [[ ${PS0-} == *'$(__tracer_preexec '* ]] || PS0=$__tracer_ps0${PS0-}
    if [[ -v PROMPT_COMMAND && ${PROMPT_COMMAND@a} == *a* ]]; then
        if [[ ${PROMPT_COMMAND[0]-} != __tracer_precmd ]]; then
            local -a rest=()
            local item
            for item in "${PROMPT_COMMAND[@]}"; do
                [[ $item == __tracer_precmd ]] || rest+=("$item")
            done
            PROMPT_COMMAND=(__tracer_precmd "${rest[@]}")
        fi
    elif [[ ${PROMPT_COMMAND-} != __tracer_precmd && ${PROMPT_COMMAND-} != __tracer_precmd$'\n'* ]]; then
        local pc=${PROMPT_COMMAND-}
        pc=${pc//__tracer_precmd$'\n'/}
        [[ $pc == __tracer_precmd ]] && pc=
        PROMPT_COMMAND=__tracer_precmd${pc:+$'\n'$pc}
    fi
    # An exported PROMPT_COMMAND reaches nested shells: give them a harmless __tracer_precmd too.
    [[ -v PROMPT_COMMAND && ${PROMPT_COMMAND@a} == *x* ]] && builtin export -f __tracer_precmd
    __tracer_adjust_history
}

# First in PROMPT_COMMAND: print the D mark, leaving $? as it was.
__tracer_precmd() {
    local __tracer_status=$?
    if [[ -n ${__tracer_nonce-} ]]; then
        # `set -a` must not export what the hooks assign.
        if [[ $- == *a* ]]; then
            builtin set +a
            __tracer_prompt
            builtin set -a
        else
            __tracer_prompt
        fi
    fi
    return "$__tracer_status"
}

__tracer_prompt() {
    local cmdno=${__tracer_cmdno_format@P} ran=${__tracer_ran[0]}
    __tracer_ran[0]=0
    if [[ $__tracer_histno == first ]]; then
        # The first prompt: no line has been read yet, and HISTCMD moved only because bash loaded HISTFILE after
        # the startup files (no history subshell at start).
        __tracer_cmdno=$cmdno
    elif [[ $cmdno != "$__tracer_cmdno" || ${HISTCMD-} != "$__tracer_histno" ]]; then
        # A line was read since the last prompt (the command number moves when it ran, the history number
        # when it entered history).
        local new=0 # (history is read only when needed: a subshell per prompt otherwise)
        if ((!ran)) || [[ -n $__tracer_ignorespace$__tracer_ignoredups$__tracer_histignore ]]; then
            __tracer_new_entry && new=1
        fi
        if ((!ran)) && [[ $cmdno != "$__tracer_cmdno" ]]; then
            __tracer_start_mark "$__tracer_entry" L  # it ran without our PS0 (a framework rebuilt PS0): C now
        elif ((!ran && new && __tracer_status == 2)) && [[ ! $__tracer_entry =~ ^[[:space:]]*(#|$) ]]; then
            __tracer_start_mark "$__tracer_entry" L  # it did not parse (bash said why, $? is 2): a command too
        fi
        ((new)) && __tracer_forget_ignored
        __tracer_cmdno=$cmdno
        __tracer_install_exit_trap
    fi
    __tracer_mark D "$__tracer_status"
    __tracer_install
    __tracer_histno=${HISTCMD-}
}

# The user's startup files, at top level (so their `declare`s stay global).
if [[ ${__tracer_login-} == 1 ]]; then
    [[ -r /etc/profile ]] && builtin source /etc/profile
    if [[ -r ~/.bash_profile ]]; then
        builtin source ~/.bash_profile
    elif [[ -r ~/.bash_login ]]; then
        builtin source ~/.bash_login
    elif [[ -r ~/.profile ]]; then
        builtin source ~/.profile
    fi
elif [[ -r ~/.bashrc ]]; then
    builtin source ~/.bashrc
fi

if [[ -n $__tracer_nonce && -z ${__tracer_installed-} ]]; then
    # `set -a` in the user's files must not export our variables to every child.
    if [[ $- == *a* ]]; then
        builtin set +a
        __tracer_allexport=1
    fi
    __tracer_installed=1
    __tracer_ignorespace=
    __tracer_histignore=
    __tracer_histignore_set=__tracer_unset
    __tracer_erasedups=
    __tracer_histcontrol_set=__tracer_unset
    __tracer_cmdno_format='\#'
    __tracer_ignoredups=
    # PS0 sets __tracer_ran[0] in the shell itself (an array element: never exported, even by `set -a`)
    # and prints the C mark from a subshell.
    __tracer_ps0='${__tracer_nonce:+$(__tracer_preexec "$?" "${__tracer_ran[0]}")}${PS0:0:$((__tracer_ran[0]=1,0))}'
    __tracer_ran=(0)
    __tracer_cmdno=${__tracer_cmdno_format@P}
    __tracer_install
    __tracer_install_exit_trap
    __tracer_histno=first # (HISTCMD is known at the first prompt, once bash has loaded HISTFILE)
    if [[ -n ${__tracer_allexport-} ]]; then
        builtin unset __tracer_allexport
        builtin set -a
    fi
fi
builtin unset __tracer_login
