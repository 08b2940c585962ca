# Cmdbar for zsh: {{KEY_NAME}} turns the words on the line into a command,
# ready to edit; pressed again, it cycles to the next one. It never runs
# anything. eval "$(cmdbar init zsh)" in ~/.zshrc.
typeset -g __cmdbar_query="" __cmdbar_shown="" __cmdbar_armed=""
typeset -ga __cmdbar_cands
typeset -gi __cmdbar_i=0

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
  [[ -z ${BUFFER//[[:space:]]/} ]] && { zle -M "cmdbar: type what you want to do, then press {{KEY_NAME}}"; return; }
  __cmdbar_query=$BUFFER __cmdbar_armed="" __cmdbar_shown=""
  zle -M "cmdbar: thinking...  (Ctrl+C cancels)"
  zle -R
  local out err f=${TMPDIR:-/tmp}/cmdbar-widget.$$
  out=$({{CMDBAR}} suggest --lines -- "$BUFFER" 2>"$f" </dev/null)
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
