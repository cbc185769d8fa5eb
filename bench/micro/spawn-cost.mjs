/**
 * `node bench/micro/spawn-cost.mjs`: CPU of this process per agent for 200
 * `/bin/true` at 16 in flight, three rounds: node:child_process's spawn (as
 * the launcher calls it), execa with its defaults, and execa with the
 * options the launcher used before it dropped execa. The reason the launcher
 * spawns with child_process (src/launch/agent-spawn.ts).
 */
import { spawn } from 'node:child_process';
import { execa } from 'execa';

const AGENTS = 200;
const IN_FLIGHT = 16;

const starts = {
  child_process: () => new Promise((resolve) => spawn('/bin/true', [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] }).on('close', resolve)),
  'execa, defaults': () => execa('/bin/true', [], { reject: false }),
  'execa, as the launcher called it': () =>
    execa('/bin/true', [], { reject: false, buffer: false, cleanup: false, detached: true, extendEnv: true, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' }),
};

async function msPerAgent(start) {
  const before = process.cpuUsage();
  let running = [];
  for (let i = 0; i < AGENTS; i++) {
    running.push(start());
    if (running.length >= IN_FLIGHT) {
      await Promise.all(running);
      running = [];
    }
  }
  await Promise.all(running);
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / AGENTS / 1000;
}

for (let round = 1; round <= 3; round++) {
  const figures = [];
  for (const [name, start] of Object.entries(starts)) figures.push(`${name} ${(await msPerAgent(start)).toFixed(2)} ms`);
  console.log(`round ${round}, CPU per agent: ${figures.join(', ')}`);
}
