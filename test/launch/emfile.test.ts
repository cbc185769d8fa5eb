/**
 * Out of file descriptors, Node's spawn() fails before it makes the child's
 * stdio (EMFILE). That must be those agents' outcome, a SpawnError naming
 * the agent and the errno, and nothing more: no crash of the launch thread
 * or the helper, the other agents run, nothing is left behind. A real host
 * (fixtures/emfile-host.mjs, on the built library) runs under `prlimit --nofile`; 64 sleepers at
 * once need ~190 descriptors for their pipes, far over the limit.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/procfs.ts';

const HOST = fileURLToPath(new URL('./fixtures/emfile-host.mjs', import.meta.url));
const NOFILE = 120;
const AGENTS = 100;
const CONCURRENCY = 64;

interface HostReport {
  outcomes: { name: string; ok: boolean }[];
  results: {
    name: string;
    ok: boolean;
    stage: string | undefined;
    pid: number | undefined;
    exitCode: number | undefined;
    error: { class: string; code: string; errno: string | undefined; agent: string | undefined; message: string } | undefined;
  }[];
}

async function runHost(
  launcher: 'direct' | 'helper',
  tag: string,
): Promise<{ code: number | null; signal: string | null; stderr: string; report: HostReport }> {
  const host = spawn('prlimit', [`--nofile=${NOFILE}`, process.execPath, HOST, launcher, String(AGENTS), String(CONCURRENCY)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Every process the host starts (launch helper, watchdog, agents) inherits it: /proc finds what is left.
    env: { ...process.env, SPAWNPOOL_EMFILE_TAG: tag },
  });
  let stdout = '';
  let stderr = '';
  host.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  host.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(host, 'exit')) as [number | null, string | null];
  if (code !== 0) throw new Error(`the host ended with code ${code}, signal ${signal}: ${stderr}`);
  return { code, signal, stderr, report: JSON.parse(stdout) as HostReport };
}

/** Pids of running processes whose environment holds the tag. */
function tagged(tag: string): number[] {
  const needle = `SPAWNPOOL_EMFILE_TAG=${tag}\0`;
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^\S+ \(.*\) [ZX] /s.test(stat)) return [];
      return readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

describe.runIf(process.platform === 'linux')('out of file descriptors (EMFILE)', () => {
  for (const launcher of ['direct', 'helper'] as const) {
    it(`fails the agents that could not be spawned, runs the others, and leaves nothing (${launcher} launcher)`, async () => {
      const tag = `emfile-${process.pid}-${launcher}-${Date.now()}`;
      const { report } = await runHost(launcher, tag);
      const names = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);

      // Exactly one outcome and one result per agent.
      expect(report.outcomes.map((o) => o.name).sort()).toEqual([...names].sort());
      expect(report.results.map((r) => r.name)).toEqual(names);

      const failed = report.results.filter((r) => !r.ok);
      const ran = report.results.filter((r) => r.ok);
      expect(failed.length).toBeGreaterThan(0);
      expect(ran.length).toBeGreaterThan(0);
      for (const r of failed) {
        expect({ name: r.name, stage: r.stage, class: r.error?.class, code: r.error?.code, errno: r.error?.errno, agent: r.error?.agent }).toEqual({
          name: r.name,
          stage: 'spawn',
          class: 'SpawnError',
          code: 'E_SPAWN',
          errno: 'EMFILE',
          agent: r.name,
        });
        expect(r.error?.message).toContain(`Agent "${r.name}"`);
        expect(r.error?.message).toMatch(/\bEMFILE\b/);
      }
      for (const r of ran) expect({ name: r.name, exitCode: r.exitCode, error: r.error }).toEqual({ name: r.name, exitCode: 0, error: undefined });

      // The host has exited: no agent, helper or watchdog of it may outlive it.
      await eventually(`no process of the ${launcher} host is left`, () => tagged(tag).length === 0);
    });
  }
});
