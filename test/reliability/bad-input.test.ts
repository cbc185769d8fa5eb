/**
 * Bad input: a clear message naming the file, agent and field, exit code 2
 * from the CLI, and nothing spawned. Every agents file below starts with a
 * valid agent that would create a marker file if it ran: the marker's
 * absence is the proof that nothing started. The last CLI case is the
 * control: the same marker agent in a good file does create it.
 */
import { access, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { Spawner } from '../../src/spawner.ts';
import { preflightAgents } from '../../src/spec/preflight.ts';
import { resolveAgents } from '../../src/spec/resolve.ts';
import { cli } from '../cli/run-cli.ts';
import { agentScript, tempDir } from './helpers.ts';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

interface Case {
  /** What is wrong. */
  title: string;
  /** The agents file's text, given the marker agent (JSON) to put first. */
  file: (marker: object) => string;
  /** Extra CLI flags. */
  flags?: string[];
  /** Files to create in the case's folder before the run (relative path → content, or a symlink target). */
  files?: Record<string, string | { symlinkTo: string }>;
  /** The message must match all of these. */
  message: RegExp[];
}

const agentsFile = (marker: object, ...more: object[]) => JSON.stringify({ agents: [marker, ...more] }, null, 2);
const node = (script: string) => ({ command: process.execPath, args: [agentScript(script)] });

const CASES: Case[] = [
  {
    title: 'malformed JSON',
    file: (marker) => agentsFile(marker).replace(/\}\s*\]\s*\}\s*$/, '} '),
    // V8 names a position; the message turns it into the line and column of the text.
    message: [/agents\.json: line \d+, column \d+: not valid JSON/],
  },
  {
    title: 'an unknown field',
    file: (marker) => agentsFile(marker, { name: 'typo', ...node('print-args.mjs'), timeoutMS: 100 }),
    message: [/agents\.json: agent "typo" \(agents\[1\]\): unknown field "timeoutMS"/],
  },
  {
    title: 'a wrong type',
    file: (marker) => agentsFile(marker, { name: 'typed', ...node('print-args.mjs'), timeoutMs: 'soon' }),
    message: [/agents\.json: agent "typed" \(agents\[1\]\): field "timeoutMs"/],
  },
  {
    title: 'an empty agent list',
    file: () => JSON.stringify({ agents: [] }),
    message: [/agents\.json: .*the agent list is empty/],
  },
  {
    title: 'duplicate agent names',
    file: (marker) => agentsFile(marker, { name: 'twin', command: 'x' }, { name: 'twin', command: 'y' }),
    message: [/agents\.json: agent "twin" \(agents\[2\]\): duplicate agent name "twin" \(also agents\[1\]\)/],
  },
  {
    title: 'a context path escaping the root',
    file: (marker) => agentsFile(marker, { name: 'escaper', ...node('echo-sha256.mjs'), prompt: { template: 'x', context: ['notes.md', '../outside.txt'] } }),
    files: { 'notes.md': 'fine', '../outside.txt': 'secret' },
    message: [/agents\.json: agent "escaper" \(agents\[1\]\): field "prompt\.context\.1": context file "\.\.\/outside\.txt" resolves outside the root/],
  },
  {
    title: 'a context symlink leading out of the root',
    file: (marker) => agentsFile(marker, { name: 'linker', ...node('echo-sha256.mjs'), prompt: { template: 'x', context: ['link.txt'] } }),
    files: { '../secret.txt': 'secret', 'link.txt': { symlinkTo: '../secret.txt' } },
    message: [/agent "linker" \(agents\[1\]\): field "prompt\.context\.0": context file "link\.txt" resolves outside the root .*E_CONTEXT_ESCAPE/],
  },
  {
    title: 'a missing template file',
    file: (marker) => agentsFile(marker, { name: 'templated', ...node('echo-sha256.mjs'), prompt: { templateFile: 'templates/missing.mustache' } }),
    message: [/agent "templated" \(agents\[1\]\): field "prompt\.templateFile": template file "templates\/missing\.mustache" cannot be read: ENOENT/],
  },
  {
    title: 'a template that does not parse',
    file: (marker) => agentsFile(marker, { name: 'broken', ...node('echo-sha256.mjs'), prompt: { template: 'Hello {{#open}} never closed' } }),
    message: [/agent "broken" \(agents\[1\]\): field "prompt\.template": template does not parse/],
  },
  {
    title: "an argument over the OS limit with promptVia 'arg' (inline template)",
    file: (marker) =>
      agentsFile(marker, { name: 'long-arg', ...node('print-args.mjs'), args: ['{{prompt}}'], promptVia: 'arg', prompt: { template: 'word '.repeat(40_000) } }),
    message: [
      /agent "long-arg" \(agents\[1\]\): field "args\.0": argument is \d+ bytes once the prompt .* over the OS limit of 131072 bytes per argument; use promptVia "stdin" or "file"/,
    ],
  },
  {
    title: "an argument over the OS limit with promptVia 'arg' (context file)",
    file: (marker) =>
      agentsFile(marker, {
        name: 'long-context',
        command: process.execPath,
        args: [agentScript('print-args.mjs'), '--prompt={{prompt}}'],
        promptVia: 'arg',
        prompt: { template: 'Review:', context: ['big.md'] },
      }),
    files: { 'big.md': 'line of context\n'.repeat(10_000) },
    message: [
      /agent "long-context" \(agents\[1\]\): field "args\.1": argument is \d+ bytes once the prompt \(at least 160\d+ bytes\) is substituted, over the OS limit/,
    ],
  },
  {
    title: '--workers 0',
    file: (marker) => agentsFile(marker),
    flags: ['--workers', '0'],
    message: [/Expected the `workers` option to be a positive integer, got `0`/],
  },
  {
    title: 'a ring capacity that is not a power of two',
    file: (marker) => agentsFile(marker),
    flags: ['--ring-capacity', '1000'],
    message: [/Expected the `ringCapacity` option to be a power of two, got `1000`/],
  },
];

/** Writes one case's folder: the agents file, its extra files, and where the marker would go. */
async function setUp(c: Pick<Case, 'file' | 'files'>, ctx: TestContext): Promise<{ file: string; marker: string }> {
  const dir = path.join(await privateDir(ctx), 'case');
  await mkdir(dir);
  const marker = path.join(dir, 'spawned.marker');
  for (const [name, content] of Object.entries(c.files ?? {})) {
    const target = path.join(dir, name);
    await mkdir(path.dirname(target), { recursive: true });
    if (typeof content === 'string') await writeFile(target, content);
    else await symlink(content.symlinkTo, target);
  }
  const file = path.join(dir, 'agents.json');
  await writeFile(file, c.file({ name: 'marker', command: process.execPath, args: [agentScript('touch-marker.mjs'), marker] }));
  return { file, marker };
}

/** A temp folder removed when the test ends (the context's hook: the tests run concurrently). */
async function privateDir(ctx: TestContext): Promise<string> {
  const dir = await tempDir('spawnpool-bad-input-');
  ctx.onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('bad input through the CLI: exit 2, a message naming what is wrong, nothing spawned', () => {
  it.concurrent.for(CASES)('$title', async (c, ctx) => {
    const { expect } = ctx; // concurrent tests: assertions through their own context
    const { file, marker } = await setUp(c, ctx);
    const run = await cli(['run', file, '--json', ...(c.flags ?? [])]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^spawnpool run: /);
    expect(run.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    for (const m of c.message) expect(run.stderr).toMatch(m);
    expect(await exists(marker)).toBe(false);
  });

  it.concurrent('control: the same marker agent in a good file runs (exit 0)', async (ctx) => {
    const { expect } = ctx;
    const { file, marker } = await setUp({ file: (m) => agentsFile(m), files: { 'notes.md': 'fine' } }, ctx);
    const run = await cli(['run', file, '--json', '--workers', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(await exists(marker)).toBe(true);
  });
});

describe('bad input through the library', () => {
  it('preflightAgents refuses file problems before anything starts, naming agent and field', async (ctx) => {
    const dir = path.join(await privateDir(ctx), 'root');
    await mkdir(dir);
    await writeFile(path.join(dir, 'ok.md'), 'fine');
    await mkdir(path.join(dir, 'folder'));
    const check = (prompt: object, extra: object = {}) =>
      preflightAgents(
        resolveAgents([
          { name: 'ok', command: 'x' },
          { name: 'bad', command: 'x', prompt, ...extra },
        ]),
        { root: dir },
      );

    await expect(check({ context: ['ok.md'] })).resolves.toBeUndefined();
    await expect(check({ context: ['ok.md', '/etc/hostname'] })).rejects.toThrow(
      /^agent "bad" \(agents\[1\]\): field "prompt\.context\.1": .*outside the root/,
    );
    await expect(check({ context: ['folder'] })).rejects.toThrow(/field "prompt\.context\.0": context file "folder" is not a regular file/);
    await expect(check({ templateFile: 'none.mustache' })).rejects.toThrow(/field "prompt\.templateFile": .*cannot be read/);
    await expect(check({ template: '{{/x}}' })).rejects.toThrow(ConfigError);
    await expect(check({ template: 'x' }, { args: ['a'.repeat(200_000)] })).rejects.toThrow(/field "args\.0": argument is 200001 bytes, over the OS limit/);
    // Under the per-argument limit, but over the total with the environment.
    const env = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, 'v'.repeat(120_000)]));
    await expect(check({ template: 'x' }, { args: ['{{prompt}}'], promptVia: 'arg', env })).rejects.toThrow(
      /field "args": arguments and environment total \d+ bytes/,
    );
    // A custom builder's template is its own business: not parsed, no size assumed.
    const custom = resolveAgents([{ name: 'c', command: 'x', args: ['{{prompt}}'], promptVia: 'arg', prompt: { template: `{{/x}} ${'w '.repeat(100_000)}` } }]);
    await expect(preflightAgents(custom, { root: dir, customBuilder: true })).resolves.toBeUndefined();
    await expect(preflightAgents(custom, { root: dir })).rejects.toThrow(/template does not parse/);
  });

  it('the Spawner refuses bad options, and spawnBatch bad specs, synchronously', async (ctx) => {
    expect(() => new Spawner({ workers: 0 })).toThrow(/`workers` option to be a positive integer, got `0`/);
    expect(() => new Spawner({ ringCapacity: 1000 })).toThrow(/`ringCapacity` option to be a power of two, got `1000`/);
    expect(() => new Spawner({ ringCapacity: 1000 })).toThrow(ConfigError);
    expect(() => new Spawner({ workerNice: 20 })).toThrow(/`workerNice` option to be an integer from 0 to 19, got `20`/);

    const dir = path.join(await privateDir(ctx), 'root');
    await mkdir(dir);
    const marker = path.join(dir, 'spawned.marker');
    const markerAgent = { name: 'marker', command: process.execPath, args: [agentScript('touch-marker.mjs'), marker] };
    const spawner = new Spawner({ workers: 1, root: dir });
    try {
      expect(() => spawner.spawnBatch([markerAgent, { ...markerAgent }])).toThrow(/duplicate agent name "marker"/);
      expect(() => spawner.spawnBatch([])).toThrow(/agent list is empty/);
      await expect(spawner.preflight([markerAgent, { name: 'esc', command: 'x', prompt: { context: ['../x'] } }])).rejects.toThrow(
        /agent "esc" \(agents\[1\]\): field "prompt\.context\.0"/,
      );
      const agents = await spawner.preflight([markerAgent]);
      expect(await exists(marker)).toBe(false);
      await spawner.spawnBatch(agents).results;
      expect(await exists(marker)).toBe(true);
    } finally {
      await spawner.close();
    }
  });
});
