# Cmdbar for zsh: {{KEY_NAME}} turns the words on the line into a command,
# ready to edit; pressed again, it cycles to the next one. It never runs
# anything. On an empty line it suggests a fix for the last command, which
# the precmd hook records with its exit status (`cmdbar fix` reads them
# too). eval "$(cmdbar init zsh)" in ~/.zshrc.
typeset -g __cmdbar_query="" __cmdbar_shown="" __cmdbar_armed=""
typeset -ga __cmdbar_cands
typeset -gi __cmdbar_i=0

__cmdbar_precmd() {
  # First of the precmd hooks, so $? is still the command's.
  local s=$?
  export CMDBAR_LAST_STATUS=$s CMDBAR_LAST_COMMAND="$(fc -ln -1 2>/dev/null)"
  return $s
}
precmd_functions=(__cmdbar_precmd ${precmd_functions:#__cmdbar_precmd})

__cmdbar_put() {
  # $1: the candidate's index. High and critical ones need a second press.
  local risk=${__cmdbar_cands[$1]%%$'\t'*} rest=${__cmdbar_cands[$1]#*$'\t'}
  local cmd=${rest%%$'\t'*} reason=${rest#*$'\t'}
  if [[ ( $risk == high || $risk == critical ) && $__cmdbar_armed != $1 ]]; then
    __cmdbar_armed=$1
    zle -M "cmdbar: [$risk] $reason  (press {{KEY_NAME}} again to put it on the line)"
    return
  fi
  __cmdbar_armed=""
  __cmdbar_i=$1
  BUFFER=$cmd
  CURSOR=${#BUFFER}
  __cmdbar_shown=$BUFFER
  local n=${#__cmdbar_cands}
  zle -M "cmdbar: [$risk] $1 of $n${reason:+ - $reason}"
}

__cmdbar_widget() {
  emulate -L zsh
  if (( ${#__cmdbar_cands} )) && [[ $BUFFER == $__cmdbar_shown || ( -n $__cmdbar_armed && $BUFFER == $__cmdbar_query ) ]]; then
    # Again: the armed one, else the next.
    if [[ -n $__cmdbar_armed ]]; then __cmdbar_put $__cmdbar_armed
    else __cmdbar_put $(( __cmdbar_i % ${#__cmdbar_cands} + 1 )); fi
    return
  fi
  local -a ask
  if [[ -z ${BUFFER//[[:space:]]/} ]]; then
    [[ -z $CMDBAR_LAST_COMMAND ]] && { zle -M "cmdbar: type what you want to do, then press {{KEY_NAME}}"; return; }
    ask=(fix --lines)
    zle -M "cmdbar: fixing: $CMDBAR_LAST_COMMAND  (Ctrl+C cancels)"
  else
    ask=(suggest --lines -- "$BUFFER")
    zle -M "cmdbar: thinking...  (Ctrl+C cancels)"
  fi
  __cmdbar_query=$BUFFER __cmdbar_armed="" __cmdbar_shown=""
  zle -R
  local out err f=${TMPDIR:-/tmp}/cmdbar-widget.$$
  out=$({{CMDBAR}} "${ask[@]}" 2>"$f" </dev/null)
  local rc=$?
  err=$(<"$f"); rm -f -- "$f"
  if (( rc != 0 )) || [[ -z $out ]]; then
    __cmdbar_cands=()
    (( rc > 128 )) && err="cancelled"
    zle -M "${${err##*$'\n'}:-cmdbar: no command}"
    return
  fi
  __cmdbar_cands=("${(@f)out}")
  __cmdbar_put 1
}
zle -N __cmdbar_widget
bindkey '{{KEY_ZSH}}' __cmdbar_widget
