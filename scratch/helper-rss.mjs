const mod = await import(process.argv[2]);
const l = new mod.HelperLauncher({ helpers: 1 });
await l.warmUp();
const pid = l.pids[0];
const { readFileSync } = await import('node:fs');
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
console.log(process.argv[2].includes('dist') ? 'dist' : 'source', 'helper RSS', rss().toFixed(0), 'MB');
await l.close();
