#!/bin/sh
# Bench agent with an I/O-bound start: it waits IO_READY_SECONDS (default
# 0.04) on a timer, as a real agent waits on a socket or a file, then prints
# its ready line, then reads its prompt from stdin until it ends. A shell
# script, so that its own start-up costs little CPU: the start is the wait.
sleep "${IO_READY_SECONDS:-0.04}"
echo READY
exec cat > /dev/null
