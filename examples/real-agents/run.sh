#!/usr/bin/env bash
# examples/real-agents/run.sh [spawnpool run flags...]
# The three real agent CLIs (Claude Code, Codex, Gemini CLI) through `spawnpool run --output tag`,
# offline, against the mock LLM of ../shared/real-agents: starts the mock on a free 127.0.0.1 port,
# writes a throwaway HOME, fills the port and HOME into a copy of agents.json (spawnpool does not
# expand $VARS in agents files), runs, and stops the mock. The CLIs are installed on first use
# (install-clis.sh: ~760 MB into ~/.cache/spawnpool-real-agents). Extra flags go to `spawnpool run`.
set -eu
cd "$(dirname "$0")/../.."
KIT="${SPAWNPOOL_REAL_AGENTS_KIT:-$(cd .. && pwd)/shared/real-agents}"
BIN="$(bash "$KIT/install-clis.sh")"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/spawnpool-real-agents.XXXXXX")"
MOCK_PID=""
cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

: > "$TMP/mock.out"   # there before the loop reads it (the background job opens it in its own time)
node "$KIT/mock-llm.mjs" 0 > "$TMP/mock.out" 2> "$TMP/mock.err" &
MOCK_PID=$!
PORT=""
for _ in $(seq 1 100); do
  PORT="$(sed -n 's/^MOCK_LLM_PORT=\([0-9]*\)$/\1/p' "$TMP/mock.out")"
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "$PORT" ] || { echo "run.sh: mock-llm did not start" >&2; cat "$TMP/mock.err" >&2; exit 1; }

bash "$KIT/setup-home.sh" "$TMP/home" "$PORT"
sed -e "s|@PORT@|$PORT|g" -e "s|@HOME@|$TMP/home|g" examples/real-agents/agents.json > "$TMP/agents.json"
# The agents run in $TMP (an agents file's folder is its agents' default cwd) and find the CLIs on PATH.
status=0
PATH="$BIN:$PATH" npx tsx src/cli/main.ts run "$TMP/agents.json" --output tag "$@" || status=$?
exit "$status"
