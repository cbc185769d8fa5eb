// A stand-in for an AI agent CLI: reads its prompt on stdin, answers with a short summary.
import { createHash } from 'node:crypto';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const prompt = Buffer.concat(chunks);
const text = prompt.toString('utf8');
const headings = text
  .split('\n')
  .filter((line) => line.startsWith('#'))
  .slice(0, 5);
console.log(`summarizer: ${prompt.length} bytes, ${text.split(/\s+/).filter(Boolean).length} words`);
console.log(`sha256 ${createHash('sha256').update(prompt).digest('hex')}`);
for (const heading of headings) console.log(`  saw ${heading}`);
