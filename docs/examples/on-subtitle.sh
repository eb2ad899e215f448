#!/usr/bin/env bash
# Sublarr script hook (bash): one readable line per event in the hook log.
#
# Install: copy into SUBLARR_HOOKS_DIR, `chmod +x` it, and create a script hook
# for an event (admin → Script hooks, or POST /api/hooks/) with this file name.
# The script gets no server environment: put your own settings in this file.
set -euo pipefail

case "$SUBLARR_EVENT" in
subtitle_downloaded)
  # Payload keys as SUBLARR_<KEY>; a null value is the empty string.
  what="${SUBLARR_SERIES_TITLE:-${SUBLARR_MOVIE_TITLE:-unknown}}"
  if [ -n "${SUBLARR_SEASON:-}" ] && [ -n "${SUBLARR_EPISODE:-}" ]; then
    what="$what $(printf 'S%02dE%02d' "$SUBLARR_SEASON" "$SUBLARR_EPISODE")"
  fi
  echo "Got a ${SUBLARR_LANGUAGE:-?} subtitle for $what from ${SUBLARR_PROVIDER_NAME:-?} (score ${SUBLARR_SCORE:-?})"
  ;;
*)
  echo "Event $SUBLARR_EVENT ($SUBLARR_EVENT_ID)"
  ;;
esac

# The whole envelope (JSON): on stdin, and always in the file
# $SUBLARR_EVENT_DATA_FILE (SUBLARR_EVENT_DATA too, unless it is too big
# for the environment). Here with jq, when it is installed:
if command -v jq >/dev/null 2>&1; then
  jq -r '"payload keys: " + (.data | keys | join(", "))' "$SUBLARR_EVENT_DATA_FILE"
fi

# Exit 0 = success; any other exit code is logged as a failure with stderr.
exit 0
