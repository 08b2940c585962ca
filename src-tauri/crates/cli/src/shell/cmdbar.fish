# Cmdbar for fish: {{KEY_NAME}} turns the words on the line into a command,
# ready to edit; pressed again, it cycles to the next one. It never runs
# anything. On an empty line it suggests a fix for the last command, which
# the postexec hook records with its exit status (`cmdbar fix` reads them
# too). cmdbar init fish | source, in ~/.config/fish/config.fish.
set -g __cmdbar_query ""
set -g __cmdbar_shown ""
set -g __cmdbar_armed ""
set -g __cmdbar_i 0
set -g __cmdbar_cands

function __cmdbar_postexec --on-event fish_postexec
    set -l s $status
    set -gx CMDBAR_LAST_STATUS $s
    set -gx CMDBAR_LAST_COMMAND $argv[1]
end

function __cmdbar_put --argument-names i
    # i: the candidate's index (from 1). High and critical ones need a second press.
    set -l parts (string split -m 2 \t -- $__cmdbar_cands[$i])
    set -l risk $parts[1]
    set -l cmd $parts[2]
    set -l reason $parts[3]
    if contains -- $risk high critical; and test "$__cmdbar_armed" != "$i"
        set -g __cmdbar_armed $i
        echo >&2
        echo "cmdbar: [$risk] $reason  (press {{KEY_NAME}} again to put it on the line)" >&2
        commandline -f repaint
        return
    end
    set -g __cmdbar_armed ""
    set -g __cmdbar_i $i
    commandline -r -- $cmd
    commandline -C (string length -- $cmd)
    set -g __cmdbar_shown (commandline)
    echo >&2
    echo "cmdbar: [$risk] $i of "(count $__cmdbar_cands) >&2
    commandline -f repaint
end

function __cmdbar_widget
    set -l line (commandline)
    if test (count $__cmdbar_cands) -gt 0; and begin; test "$line" = "$__cmdbar_shown"; or begin; test -n "$__cmdbar_armed"; and test "$line" = "$__cmdbar_query"; end; end
        if test -n "$__cmdbar_armed"
            __cmdbar_put $__cmdbar_armed
        else
            __cmdbar_put (math "$__cmdbar_i % "(count $__cmdbar_cands)" + 1")
        end
        return
    end
    set -l ask suggest --lines -- "$line"
    echo >&2
    if test -z (string trim -- "$line")
        if test -z "$CMDBAR_LAST_COMMAND"
            echo "cmdbar: type what you want to do, then press {{KEY_NAME}}" >&2
            commandline -f repaint
            return
        end
        set ask fix --lines
        echo "cmdbar: fixing: $CMDBAR_LAST_COMMAND  (Ctrl+C cancels)" >&2
    else
        echo "cmdbar: thinking...  (Ctrl+C cancels)" >&2
    end
    set -g __cmdbar_query $line
    set -g __cmdbar_armed ""
    set -g __cmdbar_shown ""
    set -l f (string join "" (set -q TMPDIR; and echo $TMPDIR; or echo /tmp) /cmdbar-widget. $fish_pid)
    set -l out ({{CMDBAR}} $ask 2>$f </dev/null)
    set -l rc $status
    set -l err (cat $f 2>/dev/null)
    rm -f -- $f
    if test $rc -ne 0; or test (count $out) -eq 0
        set -g __cmdbar_cands
        test $rc -gt 128; and set err "cmdbar: cancelled"
        echo "$err[-1]" >&2
        commandline -f repaint
        return
    end
    set -g __cmdbar_cands $out
    __cmdbar_put 1
end
bind {{KEY_FISH}} __cmdbar_widget
