# Cmdbar for bash: {{KEY_NAME}} turns the words on the line into a command,
# ready to edit; pressed again, it cycles to the next one. It never runs
# anything. On an empty line it suggests a fix for the last command, which
# the prompt hook records with its exit status (`cmdbar fix` reads them
# too). eval "$(cmdbar init bash)" in ~/.bashrc.
__cmdbar_query="" __cmdbar_shown="" __cmdbar_armed="" __cmdbar_i=0
__cmdbar_cands=()

__cmdbar_hook() {
  # First in PROMPT_COMMAND, so $? is still the command's; kept for the rest.
  local s=$? h
  h=$(HISTTIMEFORMAT= builtin history 1)
  [[ $h =~ ^\ *[0-9]+\*?\ +(.*)$ ]] && export CMDBAR_LAST_COMMAND=${BASH_REMATCH[1]}
  export CMDBAR_LAST_STATUS=$s
  return $s
}
[[ $PROMPT_COMMAND == *__cmdbar_hook* ]] || PROMPT_COMMAND="__cmdbar_hook${PROMPT_COMMAND:+;$PROMPT_COMMAND}"

__cmdbar_put() {
  # $1: the candidate's index (from 0). High and critical ones need a second press.
  local line=${__cmdbar_cands[$1]}
  local risk=${line%%$'\t'*} rest=${line#*$'\t'}
  local cmd=${rest%%$'\t'*} reason=${rest#*$'\t'}
  if [[ ( $risk == high || $risk == critical ) && $__cmdbar_armed != "$1" ]]; then
    __cmdbar_armed=$1
    printf 'cmdbar: [%s] %s  (press {{KEY_NAME}} again to put it on the line)\n' "$risk" "$reason" >&2
    return
  fi
  __cmdbar_armed="" __cmdbar_i=$1
  READLINE_LINE=$cmd
  READLINE_POINT=${#READLINE_LINE}
  __cmdbar_shown=$READLINE_LINE
  printf 'cmdbar: [%s] %d of %d\n' "$risk" $(( $1 + 1 )) ${#__cmdbar_cands[@]} >&2
}

__cmdbar_widget() {
  if (( ${#__cmdbar_cands[@]} )) && [[ $READLINE_LINE == "$__cmdbar_shown" || ( -n $__cmdbar_armed && $READLINE_LINE == "$__cmdbar_query" ) ]]; then
    if [[ -n $__cmdbar_armed ]]; then __cmdbar_put "$__cmdbar_armed"
    else __cmdbar_put $(( (__cmdbar_i + 1) % ${#__cmdbar_cands[@]} )); fi
    return
  fi
  local ask
  if [[ -z ${READLINE_LINE//[[:space:]]/} ]]; then
    if [[ -z $CMDBAR_LAST_COMMAND ]]; then
      echo "cmdbar: type what you want to do, then press {{KEY_NAME}}" >&2
      return
    fi
    ask=(fix --lines)
    printf 'cmdbar: fixing: %s  (Ctrl+C cancels)\n' "$CMDBAR_LAST_COMMAND" >&2
  else
    ask=(suggest --lines -- "$READLINE_LINE")
    printf 'cmdbar: thinking...  (Ctrl+C cancels)\n' >&2
  fi
  __cmdbar_query=$READLINE_LINE __cmdbar_armed="" __cmdbar_shown=""
  local out err rc f=${TMPDIR:-/tmp}/cmdbar-widget.$$
  out=$({{CMDBAR}} "${ask[@]}" 2>"$f" </dev/null)
  rc=$?
  err=$(<"$f"); rm -f -- "$f"
  if (( rc != 0 )) || [[ -z $out ]]; then
    __cmdbar_cands=()
    (( rc > 128 )) && err="cmdbar: cancelled"
    printf '%s\n' "${err##*$'\n'}" >&2
    return
  fi
  mapfile -t __cmdbar_cands <<<"$out"
  __cmdbar_put 0
}
bind -x '"{{KEY_BASH}}": __cmdbar_widget'
