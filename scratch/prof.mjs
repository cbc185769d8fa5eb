import { readFileSync, readdirSync } from 'node:fs';
const files = readdirSync('/tmp/prof');
// The main thread's profile: the biggest one is usually main; print for each.
for (const f of files) {
  const p = JSON.parse(readFileSync('/tmp/prof/' + f));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = p.timeDeltas; let total = 0;
  p.samples.forEach((id, i) => { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0)); total += dt[i] ?? 0; });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log('==', f, 'total', (total / 1e3).toFixed(0), 'ms');
  for (const [k, v] of top) console.log((v / 1e3).toFixed(1).padStart(8), k);
}
