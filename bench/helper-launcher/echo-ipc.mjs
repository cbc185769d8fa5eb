// Echoes every IPC message back (node's built-in channel, for comparison).
process.on('message', (message) => process.send(message));
process.on('disconnect', () => process.exit(0));
