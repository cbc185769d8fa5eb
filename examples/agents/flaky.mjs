// Fails on purpose, to show graceful degradation: the others still finish.
console.error('flaky: upstream API returned 503');
process.exit(3);
