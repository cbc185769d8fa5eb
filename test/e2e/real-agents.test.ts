/**
 * Real agents end to end: Claude Code, Codex and Gemini CLI launched through
 * spawnpool (library API, `stream: true`) against the local mock LLM, the
 * prompt given as an argument and on stdin, their JSON event streams read
 * live. The mock answers `MOCK-ECHO len=<N> head="..." sha=<8 hex>` for the
 * prompt it received, in 5 chunks 50 ms apart, so each answer proves the
 * prompt arrived whole, and the event timing proves output came as it was
 * written.
 *
 * The CLIs are installed by ../shared/real-agents/install-clis.sh when
 * missing (minutes, once). SPAWNPOOL_NO_REAL_AGENTS=1 skips this file, and
 * says so; anything else that keeps them from running fails it.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSpec, SpawnOutcome } from '../../src/index.ts';
import { withSpawner } from '../support/fixtures.ts';
import { cliEnv, echoMarks, findOrInstallClis, REAL_CLIS, setupHome, startMockLlm, type MockLlm, type RealCli, type RealClis } from '../support/real-agents.ts';

const SKIP = process.env.SPAWNPOOL_NO_REAL_AGENTS === '1';
if (SKIP) console.warn('test/e2e/real-agents.test.ts skipped: SPAWNPOOL_NO_REAL_AGENTS=1, so the real claude, codex and gemini CLIs are not run');

type Mode = 'arg' | 'stdin' | 'stream-json';

/** How each CLI takes its prompt in each mode (the kit's README recipes). */
function cliArgs(cli: RealCli, mode: Mode): Pick<AgentSpec, 'args' | 'promptVia'> {
  const byArg = mode !== 'stdin';
  switch (cli) {
    case 'claude':
      if (mode === 'stream-json')
        return { args: ['-p', '{{prompt}}', '--output-format', 'stream-json', '--verbose', '--include-partial-messages'], promptVia: 'arg' };
      return byArg ? { args: ['-p', '{{prompt}}'], promptVia: 'arg' } : { args: ['-p'], promptVia: 'stdin' };
    case 'codex': {
      const base = ['exec', '--skip-git-repo-check', '--ephemeral'];
      if (mode === 'stream-json') return { args: [...base, '--json', '{{prompt}}'], promptVia: 'arg' };
      return byArg ? { args: [...base, '{{prompt}}'], promptVia: 'arg' } : { args: [...base, '-'], promptVia: 'stdin' };
    }
    case 'gemini':
      if (mode === 'stream-json') return { args: ['-p', '{{prompt}}', '--output-format', 'stream-json'], promptVia: 'arg' };
      return byArg ? { args: ['-p', '{{prompt}}'], promptVia: 'arg' } : { args: [], promptVia: 'stdin' };
  }
}

/** The answer text in a CLI's JSON event stream: claude's `result`, codex's agent message, gemini's joined deltas. */
function answerOf(cli: RealCli, events: readonly unknown[]): string {
  const records = events as Record<string, unknown>[];
  switch (cli) {
    case 'claude':
      return records
        .filter((e) => e.type === 'result')
        .map((e) => String(e.result))
        .join('');
    case 'codex':
      return records
        .flatMap((e) => {
          const item = e.item as { type?: string; text?: string } | undefined;
          return e.type === 'item.completed' && item?.type === 'agent_message' ? [item.text ?? ''] : [];
        })
        .join('');
    case 'gemini':
      return records
        .filter((e) => e.type === 'message' && e.role === 'assistant' && e.delta === true)
        .map((e) => String(e.content))
        .join('');
  }
}

/** A text delta of the answer, as each CLI streams it (codex streams no text deltas, only whole events). */
function isDelta(cli: RealCli, event: unknown): boolean {
  const e = event as Record<string, unknown>;
  if (cli === 'claude') return e.type === 'stream_event' && (e.event as { type?: string } | undefined)?.type === 'content_block_delta';
  if (cli === 'gemini') return e.type === 'message' && e.delta === true;
  return false;
}

/** One event as the test read it: was the agent's result already settled then, and when. */
interface Seen {
  event: unknown;
  settled: boolean;
  at: number;
}

describe.skipIf(SKIP)('real agent CLIs through spawnpool (mock LLM on 127.0.0.1)', () => {
  let clis: RealClis;
  let mock: MockLlm | undefined;
  let dir: string;
  let home: string;
  let work: string;
  const nonce = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    // Fast when installed; on a fresh machine install-clis.sh downloads ~760 MB first (and says so).
    clis = await findOrInstallClis((m) => console.log(m));
    mock = await startMockLlm();
    dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-e2e-'));
    home = path.join(dir, 'home');
    work = path.join(dir, 'work');
    await mkdir(work, { recursive: true });
    await setupHome(home, mock.port);
  }, 25 * 60_000);

  afterAll(async () => {
    await mock?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The three CLIs in one mode, one batch; the prompt is ASCII so the mock's len (UTF-16 units) is its byte count. */
  function specs(mode: Mode): { specs: AgentSpec[]; prompts: Map<string, string> } {
    const prompts = new Map<string, string>();
    const list = REAL_CLIS.map((cli): AgentSpec => {
      const name = `${cli}-${mode}`;
      // Two lines, quotes and a dollar: kept byte-exact by every route (arg without a shell, stdin).
      // stream-json: the mock's 5 answer chunks 200 ms apart, not 50, so that "read while the agent still ran"
      // has 800 ms between the first chunk and the last, more than a loaded machine delays a read (seen: 80 ms
      // before the exit at the 50 ms default, all of the first chunks read in one turn).
      const body =
        mode === 'stdin'
          ? `Check ${name} ${nonce}.\nSecond line with "quotes" and $HOME, unexpanded.`
          : `Check ${name} ${nonce}: ${'context '.repeat(64).trim()}${mode === 'stream-json' ? ' [[mock:delay=200]]' : ''}`;
      prompts.set(name, body);
      return {
        name,
        command: clis[cli],
        ...cliArgs(cli, mode),
        cwd: work,
        env: cliEnv(cli, home, mock!.port),
        timeoutMs: 120_000,
        prompt: { template: '{{body}}', vars: { body } },
      };
    });
    return { specs: list, prompts };
  }

  /** Runs one mode's batch, reads each agent's stdout (events or lines) live, and checks every answer's echo. */
  async function runMode(mode: Mode, launcher?: 'direct' | 'helper') {
    const { specs: list, prompts } = specs(mode);
    return withSpawner({ workers: 1, ...(launcher === undefined ? {} : { launcher }) }, async (spawner) => {
      const batch = spawner.spawnBatch(list, { stream: true });
      const reading: Promise<{ outcome: SpawnOutcome; seen: Seen[]; stderr: string; settledAt: Promise<number> }>[] = [];
      for await (const outcome of batch) {
        reading.push(
          (async () => {
            let settled = false;
            const settledAt = outcome.result.then(() => {
              settled = true;
              return performance.now();
            });
            const seen: Seen[] = [];
            const stderr: string[] = [];
            const errors = (async () => {
              for await (const line of outcome.stderr.lines()) stderr.push(line);
            })();
            const items = mode === 'stream-json' ? outcome.stdout.events() : outcome.stdout.lines();
            for await (const event of items) seen.push({ event, settled, at: performance.now() });
            await errors;
            return { outcome, seen, stderr: stderr.join('\n'), settledAt };
          })(),
        );
      }
      const read = await Promise.all(reading);
      const done = await batch.done;
      const results = await batch.results;
      for (const { outcome, seen, stderr } of read) {
        const cli = outcome.name.split('-')[0] as RealCli;
        const prompt = prompts.get(outcome.name)!;
        const result = results[outcome.index]!;
        const why = `${outcome.name}: ${result.error?.message ?? ''}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${stderr.slice(-2000)}`;
        expect(outcome.ok, why).toBe(true);
        expect([result.ok, result.exitCode], why).toEqual([true, 0]);
        // The bytes the agent was given are the prompt we wrote, and the mock saw exactly them.
        const sha = createHash('sha256').update(prompt).digest('hex');
        expect(outcome.prompt).toMatchObject({ bytes: Buffer.byteLength(prompt), sha256: sha });
        const answer =
          mode === 'stream-json'
            ? answerOf(
                cli,
                seen.map((s) => s.event),
              )
            : seen.map((s) => s.event).join('\n');
        const { len, sha: sha8 } = echoMarks(prompt, sha);
        expect(answer, why).toContain('MOCK-ECHO');
        expect(answer, why).toContain(len);
        expect(answer, why).toContain(sha8);
        // What the stream yielded is what was buffered: nothing lost, nothing dropped.
        expect(outcome.stdout.droppedBytes).toBe(0);
        if (mode !== 'stream-json') expect(seen.map((s) => s.event).join('\n')).toBe(result.stdout.replace(/\n$/, ''));
      }
      expect(done).toMatchObject({ total: 3, spawned: 3, succeeded: 3, failed: 0, ok: true });
      return read;
    });
  }

  it('prompt as an argument (stdin closed: codex would wait on an open one): each CLI echoes it whole', async () => {
    await runMode('arg');
  }, 180_000);

  it('prompt on stdin, two lines with quotes and a $: each CLI echoes it byte for byte', async () => {
    await runMode('stdin');
  }, 180_000);

  describe.each(['direct', 'helper'] as const)('stream-json through the %s launcher', (launcher) => {
    it('yields each JSON event while the agent still runs, the answer echoing the prompt', async () => {
      const read = await runMode('stream-json', launcher);
      for (const { outcome, seen, settledAt } of read) {
        const cli = outcome.name.split('-')[0] as RealCli;
        const exitAt = await settledAt;
        const summary = `${outcome.name}: ${JSON.stringify(seen.map((s) => [(s.event as { type?: string }).type, s.settled, Math.round(s.at - exitAt)]))}`;
        // Parsed as JSON, every line (a line that is not JSON would come as { unparsed }).
        expect(
          seen.filter((s) => (s.event as { unparsed?: string }).unparsed !== undefined),
          summary,
        ).toEqual([]);
        // Live: the first events were read while the agent's result had not settled, i.e. before it exited;
        // well before: each CLI prints its first event before its request, which the mock streams for >= 800 ms.
        expect(seen.length, summary).toBeGreaterThanOrEqual(3);
        expect(
          seen.slice(0, 2).map((s) => s.settled),
          summary,
        ).toEqual([false, false]);
        expect(exitAt - seen[0]!.at, summary).toBeGreaterThanOrEqual(100);
        if (cli === 'codex') {
          expect((seen[0]!.event as { type: string }).type, summary).toBe('thread.started');
          continue;
        }
        // claude and gemini stream the answer as 5 deltas 200 ms apart: they came as written, not all at once at
        // exit. Held to when the first came (>= 100 ms before the exit) and to their coming in more than one piece,
        // not to their spread as received: on a loaded machine the host reads several in one turn.
        const deltas = seen.filter((s) => isDelta(cli, s.event));
        expect(deltas.length, summary).toBeGreaterThanOrEqual(5);
        expect(deltas[0]!.settled, summary).toBe(false);
        expect(exitAt - deltas[0]!.at, summary).toBeGreaterThanOrEqual(100);
        expect(new Set(deltas.map((d) => d.at)).size, summary).toBeGreaterThan(1);
      }
    }, 180_000);
  });
});
