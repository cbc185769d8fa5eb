// An agent with a start-up phase, like a real agent CLI: it loads, prints a
// banner once it is up (spawnpool's `ready` pattern), then reads the prompt
// file named in its arguments.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const file = process.argv[2];
await sleep(150); // "loading the model client"
console.log('READY reviewer v1');
const prompt = await readFile(file, 'utf8');
const todos = (prompt.match(/TODO/g) ?? []).length;
console.log(`reviewer: read ${prompt.length} chars from ${file}; ${todos} TODO marker(s) to look at`);
