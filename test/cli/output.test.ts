/**
 * `spawnpool run`: what it shows of the agents' own output (`--output tag`,
 * `group`, `none`), what it saves (`--results DIR`), what `--json` carries,
 * and that the exit code follows `batch.ok`. The CLI runs from source in a
 * child process, as a user runs it; the agents are small node scripts.
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutputStream } from '../../src/index.ts';
import { NODE, withTempDir } from '../support/fixtures.ts';
import { cli } from './run-cli.ts';

/**
 * An agent that prints `<name> <i> <x...> end` for i = 1..n, each line in two
 * writes cut at a different place (a pause every 10 lines, so a reader sees
 * half lines), then `<name> done` on stderr. Two of them take turns through
 * two files, so a half line is pending while another agent prints whole
 * ones, by construction: the `holder` prints half of a line 0, waits for
 * `held`, finishes it and creates `released`; the `pusher` prints half its
 * lines, creates `held`, waits for `released`, prints the rest.
 */
const TALKER = `
const fs = require('node:fs');
// Before the other agent may go on: written to the pipe is not yet read by spawnpool, and two pipes
// readable at once are read in an order no reader controls (seen once in a loaded suite: the holder's
// line came first). Time for spawnpool to read what was written, so the order it saw is the one made.
const SETTLE_MS = 200;
const [name, n, role, held, released] = process.argv.slice(1);
const out = (s) => new Promise((resolve) => process.stdout.write(s, resolve));
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const waitFor = async (file) => {
  const deadline = Date.now() + 30000;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) process.exit(9);
    await pause(5);
  }
};
(async () => {
  if (role === 'holder') {
    await out(name + ' 0 first half,');
    await waitFor(held);
    await out(' second half\\n');
    await pause(SETTLE_MS);
    fs.writeFileSync(released, '');
  }
  for (let i = 1; i <= Number(n); i++) {
    const line = name + ' ' + i + ' ' + 'x'.repeat(i % 40) + ' end';
    const cut = i % line.length;
    await out(line.slice(0, cut));
    if (i % 10 === 0) await pause(1);
    await out(line.slice(cut) + '\\n');
    if (role === 'pusher' && i === Math.floor(Number(n) / 2)) {
      await pause(SETTLE_MS);
      fs.writeFileSync(held, '');
      await waitFor(released);
    }
  }
  process.stderr.write(name + ' done\\n');
})();
`;

const LINES = 150;
const TALKERS = ['half-writer', 'b', 'chatty'] as const;

async function talkersFile(dir: string): Promise<string> {
  const files = [path.join(dir, 'held'), path.join(dir, 'released')];
  const agents = [
    { name: 'half-writer', command: NODE, args: ['-e', TALKER, 'half-writer', String(LINES), 'holder', ...files] },
    { name: 'b', command: NODE, args: ['-e', TALKER, 'b', String(LINES), 'pusher', ...files] },
    { name: 'chatty', command: NODE, args: ['-e', TALKER, 'chatty', String(LINES), 'free'] },
  ];
  const file = path.join(dir, 'talkers.json');
  await writeFile(file, JSON.stringify({ agents }));
  return file;
}

/** `[name]` padded to the longest name's tag, then a space: how --output tag and group prefix a line (no colour off a terminal). */
function prefixOf(name: string): string {
  const width = Math.max(...TALKERS.map((n) => n.length));
  return `${`[${name}]`.padEnd(width + 2)} `;
}

/** The agent lines of the CLI's output, in order: which agent's tag, and the text after it. */
function tagged(text: string): { tag: string; text: string; raw: string }[] {
  return text.split('\n').flatMap((raw) => {
    const match = /^\[([^\]]+)\]/.exec(raw);
    return match ? [{ tag: match[1]!, text: raw.slice(prefixOf(match[1]!).length), raw }] : [];
  });
}

/** Every line each talker printed, exactly as it printed it. */
function expectedLines(name: string): string[] {
  const lines = name === 'half-writer' ? [`${name} 0 first half, second half`] : [];
  for (let i = 1; i <= LINES; i++) lines.push(`${name} ${i} ${'x'.repeat(i % 40)} end`);
  return lines;
}

/** Checks each tagged line: the right prefix, whole, the agent's own text only, every line of every agent once, in order. */
function expectWholeLines(lines: ReturnType<typeof tagged>): void {
  for (const line of lines) {
    expect(line.raw.startsWith(prefixOf(line.tag)), line.raw).toBe(true);
    // Never two agents' text in one line: the text is a line this agent printed.
    expect(line.text.startsWith(`${line.tag} `), line.raw).toBe(true);
    expect(line.text, line.raw).toMatch(/^[\w-]+ (0 first half, second half|\d+ x* end)$/);
  }
  for (const name of TALKERS) expect(lines.filter((l) => l.tag === name).map((l) => l.text)).toEqual(expectedLines(name));
}

/** The table rows and summary lines every text run prints. */
function expectTable(stdout: string): void {
  expect(stdout).toMatch(/^agent\s+outcome\s+pid\s+queue ms/m);
  expect(stdout).toMatch(/^batch \d+: \d+\/\d+ spawned/m);
}

describe.each(['direct', 'helper'] as const)('spawnpool run --launcher %s', (launcher) => {
  it('--output tag prints each agent line as it comes, prefixed with [name] (padded), never two agents in one line', async () => {
    await withTempDir(async (dir) => {
      const { code, stdout, stderr } = await cli(['run', await talkersFile(dir), '--output', 'tag', '--launcher', launcher]);
      expect({
        code,
        stderr: tagged(stderr)
          .map((l) => l.raw)
          .sort(),
      }).toEqual({ code: 0, stderr: TALKERS.map((n) => `${prefixOf(n)}${n} done`).sort() });
      const lines = tagged(stdout);
      expectWholeLines(lines);
      // half-writer's line 0 was half written while b printed 75 whole lines, and finished before b's 76th:
      // tag printed it whole, between them, as each line came (group would print one block per agent).
      const order = runsOf(lines.filter((l) => l.tag !== 'chatty').map((l) => l.tag));
      expect(order).toEqual(['b', 'half-writer', ...order.slice(2)]);
      expect(order.slice(2)).toContain('b');
      expect(lines.findIndex((l) => l.text === `b 76 ${'x'.repeat(36)} end`)).toBeGreaterThan(lines.findIndex((l) => l.tag === 'half-writer'));
      // The table comes after the agents' output.
      expectTable(stdout);
      expect(stdout.indexOf('agent ')).toBeGreaterThan(stdout.lastIndexOf(' end\n'));
    });
  });

  it('--results DIR writes prompt.txt, stdout (whole, past maxOutputBytes), stderr and result.json per agent; --json names the files', async () => {
    await withTempDir(async (dir) => {
      const results = path.join(dir, 'results');
      const prompt = `Review part {{part}} of ${launcher}.\nSecond line, "quoted".`;
      const expectedPrompt = `Review part 7 of ${launcher}.\nSecond line, "quoted".`;
      const bigLines = 20_000; // about 290 KB, against maxOutputBytes 1000
      const big = `for (let i = 0; i < ${bigLines}; i++) process.stdout.write('line ' + i + ' of the big one\\n'); process.stderr.write('big warns\\n');`;
      const agents = [
        { name: 'big', command: NODE, args: ['-e', big], maxOutputBytes: 1000 },
        { name: 'echo', command: 'cat', prompt: { template: prompt, vars: { part: 7 } } },
        { name: 'nokey', command: 'sh', args: ['-c', 'echo starting; echo "fatal: no API key" >&2; exit 3'] },
      ];
      const file = path.join(dir, 'agents.json');
      await writeFile(file, JSON.stringify({ agents }));
      const { code, stdout, stderr } = await cli(['run', file, '--results', results, '--json', '--launcher', launcher]);
      expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
      const report = JSON.parse(stdout) as JsonReport;
      expect(report.options).toMatchObject({ resultsDir: results, minSuccess: 3, output: 'none', launcher });
      expect(report.batch).toMatchObject({ total: 3, spawned: 3, succeeded: 2, failed: 1, minSuccess: 3, ok: false });

      const read = (name: string, f: string) => readFile(path.join(results, name, f));
      const byName = new Map(report.agents.map((a) => [a.name, a]));
      for (const a of report.agents) {
        // With --results the output is in the files, not in the JSON.
        expect(a).not.toHaveProperty('stdout');
        expect(a).not.toHaveProperty('stderr');
        expect([a.stdoutFile, a.stderrFile]).toEqual([path.join(results, a.name, 'stdout'), path.join(results, a.name, 'stderr')]);
        const saved = JSON.parse((await read(a.name, 'result.json')).toString('utf8')) as Record<string, unknown>;
        expect(saved).toMatchObject({
          name: a.name,
          ok: a.ok,
          exitCode: a.exitCode,
          stdoutTruncated: a.stdoutTruncated,
          stdoutFile: a.stdoutFile,
          stderrFile: a.stderrFile,
        });
        expect(saved).not.toHaveProperty('stdout');
      }

      // big: the buffered copy was cut at 1000 bytes, the file has every line.
      const bigOut = (await read('big', 'stdout')).toString('utf8');
      expect(bigOut).toBe(Array.from({ length: bigLines }, (_, i) => `line ${i} of the big one\n`).join(''));
      expect(byName.get('big')).toMatchObject({ ok: true, stdoutTruncated: true, stdoutBytes: 1000 });
      expect((await read('big', 'stderr')).toString('utf8')).toBe('big warns\n');

      // echo: prompt.txt holds the exact bytes the agent got; their sha256 is the one reported.
      const promptTxt = await read('echo', 'prompt.txt');
      expect(promptTxt.toString('utf8')).toBe(expectedPrompt);
      const reported = byName.get('echo')!.prompt!;
      expect(createHash('sha256').update(promptTxt).digest('hex')).toBe(reported.sha256);
      expect(reported.bytes).toBe(promptTxt.length);
      expect((await read('echo', 'stdout')).toString('utf8')).toBe(expectedPrompt);
      expect((await read('echo', 'stderr')).length).toBe(0);
      const savedEcho = JSON.parse((await read('echo', 'result.json')).toString('utf8')) as { prompt: { sha256: string } };
      expect(savedEcho.prompt.sha256).toBe(reported.sha256);

      // nokey: failed, its own words saved.
      expect(byName.get('nokey')).toMatchObject({ ok: false, exitCode: 3, stage: 'run', error: { code: 'E_EXIT' } });
      expect((await read('nokey', 'stdout')).toString('utf8')).toBe('starting\n');
      expect((await read('nokey', 'stderr')).toString('utf8')).toBe('fatal: no API key\n');
      expect(JSON.parse((await read('nokey', 'result.json')).toString('utf8'))).toMatchObject({ ok: false, exitCode: 3, stage: 'run' });
    });
  });
});

describe('spawnpool run --output group and none', () => {
  it("--output group, and the default, print each agent's lines in one contiguous block, stderr on stderr", async () => {
    await withTempDir(async (dir) => {
      const file = await talkersFile(dir);
      for (const args of [['--output', 'group'], []]) {
        const { code, stdout, stderr } = await cli(['run', file, ...args]);
        expect({
          args,
          code,
          stderr: tagged(stderr)
            .map((l) => l.raw)
            .sort(),
        }).toEqual({ args, code: 0, stderr: TALKERS.map((n) => `${prefixOf(n)}${n} done`).sort() });
        const lines = tagged(stdout);
        expectWholeLines(lines);
        // One block per agent: the tags change exactly twice.
        expect(runsOf(lines.map((l) => l.tag)).sort()).toEqual([...TALKERS].sort());
        expectTable(stdout);
      }
    });
  });

  it("--output none prints only the table, and the failures section shows a failed agent's own last lines", async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'agents.json');
      const agents = [
        { name: 'fine', command: 'sh', args: ['-c', 'echo all good; echo a warning >&2'] },
        { name: 'nokey', command: 'sh', args: ['-c', 'echo connecting; echo "fatal: no API key" >&2; exit 3'] },
      ];
      await writeFile(file, JSON.stringify({ agents }));
      const { code, stdout, stderr } = await cli(['run', file, '--output', 'none']);
      expect({ code, stderr }).toEqual({ code: 1, stderr: '' });
      expectTable(stdout);
      expect(stdout).not.toMatch(/^\[/m);
      expect(stdout).not.toContain('all good');
      expect(stdout).not.toContain('a warning');
      expect(stdout).toMatch(/^fine\s+succeeded\s/m);
      expect(stdout).toMatch(/^nokey\s+failed:run\s/m);
      expect(stdout).toMatch(/1\/2 succeeded \(exited 0; need 2\)/);
      // The failures section: the error, then the end of the agent's stderr and stdout.
      const failures = stdout.slice(stdout.indexOf('\nfailures:\n'));
      expect(failures.split('\n').filter((l) => l !== '')).toEqual([
        'failures:',
        '  nokey: [E_EXIT] Agent "nokey" exited with code 3',
        '    last stderr:',
        '      fatal: no API key',
        '    last stdout:',
        '      connecting',
      ]);
    });
  });
});

interface JsonReport {
  runId: string;
  options: Record<string, unknown>;
  batch: Record<string, unknown>;
  agents: {
    name: string;
    ok: boolean;
    exitCode: number | undefined;
    stage?: string;
    stdout?: string;
    stderr?: string;
    stdoutFile?: string;
    stderrFile?: string;
    stdoutTruncated: boolean;
    prompt?: { sha256: string; bytes: number };
  }[];
}

describe('spawnpool run --json', () => {
  const agents = [
    { name: 'ok', command: 'sh', args: ['-c', 'echo "the answer"; echo "a note" >&2'] },
    { name: 'nokey', command: 'sh', args: ['-c', 'echo "fatal: no API key" >&2; exit 1'] },
    { name: 'crash', command: 'sh', args: ['-c', 'echo partial; exit 2'] },
  ];

  it.each([
    { flags: [], minSuccess: 3, ok: false, exit: 1 },
    { flags: ['--min-success', '1'], minSuccess: 1, ok: true, exit: 0 },
  ])(
    "2 of 3 agents exit non-zero, $flags: succeeded 1, ok $ok, exit $exit; each agent's stdout and stderr in the JSON",
    async ({ flags, minSuccess, ok, exit }) => {
      await withTempDir(async (dir) => {
        const file = path.join(dir, 'agents.json');
        await writeFile(file, JSON.stringify({ agents }));
        const { code, stdout, stderr } = await cli(['run', file, '--json', ...flags]);
        // --json implies --output none: nothing of the agents' on the CLI's own streams.
        expect({ code, stderr }).toEqual({ code: exit, stderr: '' });
        const report = JSON.parse(stdout) as JsonReport;
        expect(report.runId).toMatch(/^[0-9a-f-]{36}$/);
        expect(report.options).toMatchObject({ minSuccess, output: 'none', stream: false });
        expect(report.batch).toMatchObject({ total: 3, spawned: 3, spawnFailed: 0, succeeded: 1, failed: 2, minSuccess, ok });
        expect(report.batch.ok).toBe(code === 0);
        expect(report.agents.map((a) => [a.name, a.ok, a.exitCode, a.stdout, a.stderr])).toEqual([
          ['ok', true, 0, 'the answer\n', 'a note\n'],
          ['nokey', false, 1, '', 'fatal: no API key\n'],
          ['crash', false, 2, 'partial\n', ''],
        ]);
        for (const a of report.agents) expect(a).not.toHaveProperty('stdoutFile');
      });
    },
  );
});

describe('spawnpool run: bad --output', () => {
  it('--output bogus exits 2 naming the flag; --json --output tag exits 2', async () => {
    const [bogus, both] = await Promise.all([
      cli(['run', 'examples/agents.json', '--output', 'bogus']),
      cli(['run', 'examples/agents.json', '--json', '--output', 'tag']),
    ]);
    expect(bogus).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('Expected --output to be tag, group or none, got "bogus"') });
    expect(both).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/--output tag .*--json/) });
  });
});

describe('spawnpool run --results, an agent that never spawned', () => {
  // Regression (found by this file, fixed in 9552628): result.json was written only for agents that spawned;
  // one that failed to spawn (E_ENOENT, E_CWD) got prompt.txt, empty stdout and stderr, and no result.json.
  it('still gets a result.json saying how it failed', async () => {
    await withTempDir(async (dir) => {
      const results = path.join(dir, 'results');
      const file = path.join(dir, 'agents.json');
      await writeFile(
        file,
        JSON.stringify({
          agents: [
            { name: 'missing', command: 'no-such-agent-binary' },
            { name: 'fine', command: 'true' },
          ],
        }),
      );
      const { code } = await cli(['run', file, '--results', results, '--output', 'none']);
      expect(code).toBe(1);
      expect(JSON.parse(await readFile(path.join(results, 'fine', 'result.json'), 'utf8'))).toMatchObject({ name: 'fine', ok: true, exitCode: 0 });
      const saved = await readFile(path.join(results, 'missing', 'result.json'), 'utf8').catch((error: Error) => error.message);
      expect(saved).toMatch(/"code": "E_ENOENT"/);
      expect(JSON.parse(saved)).toMatchObject({ name: 'missing', ok: false, stage: 'spawn' });
    });
  });
});

describe('spawnpool run, an agent with stdin: "open"', () => {
  // Regression (found by this file, fixed in 9552628): the CLI accepted stdin: "open" but nothing ever wrote to
  // or ended that stdin, so an agent reading to end of file (cat, codex exec) never exited and the run hung
  // (here the agent's own timeoutMs would end it). Ending it after the prompt, or exit 2 naming the field, pass.
  it('does not leave the agent waiting on a stdin nobody will end', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'agents.json');
      await writeFile(file, JSON.stringify({ agents: [{ name: 'cat', command: 'cat', stdin: 'open', timeoutMs: 2000, prompt: { template: 'hi\n' } }] }));
      const { code, stdout, stderr } = await cli(['run', file, '--output', 'tag']);
      if (code === 2) expect(stderr).toMatch(/cat.*stdin|stdin.*cat/);
      else expect({ code, tagged: tagged(stdout).map((l) => l.raw) }).toEqual({ code: 0, tagged: ['[cat] hi'] });
    });
  });
});

describe('what --output tag prints when an agent outruns the printer', () => {
  // Regression (found by this file, fixed in 9552628): past its unread bound an OutputStream drops the oldest
  // bytes mid-line, and lines() yielded the cut line's tail, or glued it to the half line it held, as a line;
  // tag printed it as the agent's, and nothing reported the loss. Seen through the CLI before the fix: an agent
  // printing 1,000,000 lines of 40 characters, `spawnpool run --output tag > file` printed 850,768 and 917,580
  // whole ones in two runs, and a spliced "a line of forty chas..............". Here it is without timing.
  it('lines() after a drop yields only lines the agent wrote', async () => {
    const stream = new OutputStream(16);
    stream.push(Buffer.from('aaaaaaaaa\n'));
    stream.push(Buffer.from('bbbbbbbbb\n')); // 20 bytes unread, 4 over the bound
    stream.end();
    const lines: string[] = [];
    for await (const line of stream.lines()) lines.push(line);
    expect(stream.droppedBytes).toBeGreaterThan(0);
    for (const line of lines) expect(['aaaaaaaaa', 'bbbbbbbbb']).toContain(line);
  });
});

/** The runs of equal neighbours, one entry per run: ['a','a','b','a'] -> ['a','b','a']. */
function runsOf(tags: readonly string[]): string[] {
  return tags.filter((t, i) => i === 0 || tags[i - 1] !== t);
}
