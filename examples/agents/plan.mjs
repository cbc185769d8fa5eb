// A slow agent: takes its prompt as an argument and "thinks" for a while.
import { setTimeout as sleep } from 'node:timers/promises';

const prompt = process.argv[2] ?? '';
await sleep(1200);
console.log(`planner: ${prompt.split('\n').length} prompt lines; plan: 1) read 2) change 3) test`);
