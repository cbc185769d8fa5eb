import { readFileSync, readdirSync } from 'node:fs';
const f = readdirSync('/tmp/prof').sort()[0];
const p = JSON.parse(readFileSync('/tmp/prof/' + f));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
let run = [], t = p.startTime; const runs = [];
p.samples.forEach((id, i) => { t += p.timeDeltas[i]; const n = byId.get(id); if (n.callFrame.functionName === '(idle)') { if (run.length) runs.push(run); run = []; } else run.push([id, p.timeDeltas[i], t]); });
const skipUntil = p.startTime + 4e6; // skip start-up (4 s)
for (const r of runs) {
  const dur = r.reduce((a, [, d]) => a + d, 0);
  if (dur < 3000 || r[0][2] < skipUntil) continue;
  const roots = new Map();
  for (const [id, d] of r) { // top-most user frame below root, and leaf
    let chain = []; let x = id; while (x !== undefined) { chain.push(name(byId.get(x))); x = parent.get(x); }
    const k = chain.slice(0, 6).reverse().slice(-4).join(' > ');
    roots.set(k, (roots.get(k) ?? 0) + d);
  }
  console.log(`-- ${(dur / 1000).toFixed(1)} ms at ${((r[0][2] - p.startTime) / 1e6).toFixed(2)} s`);
  for (const [k, v] of [...roots].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log('   ', (v / 1000).toFixed(1), k);
}
