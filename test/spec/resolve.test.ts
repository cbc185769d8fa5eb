import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadAgentsFile, resolveAgents, resolveAgentsFile } from '../../src/index.ts';

const ok = { name: 'a', command: 'node' };

describe('agent spec validation', () => {
  it('applies defaults, merging env and prompt vars', () => {
    const [agent] = resolveAgentsFile({
      defaults: { command: 'node', env: { A: '1', B: '1' }, prompt: { vars: { x: 1, y: 1 }, template: 't' }, timeoutMs: 5 },
      agents: [{ name: 'a', env: { B: '2' }, prompt: { vars: { y: 2 } } }],
    });
    expect(agent).toMatchObject({
      name: 'a',
      command: 'node',
      env: { A: '1', B: '2' },
      timeoutMs: 5,
      promptVia: 'stdin',
      prompt: { template: 't', vars: { x: 1, y: 2 } },
    });
  });

  it.each([
    [[{ name: 'a' }], /agent "a" \(agents\[0\]\): field "command"/],
    [[ok, { name: 'b', command: 'x', timeoutMs: -1 }], /agent "b" \(agents\[1\]\): field "timeoutMs"/],
    [[{ ...ok, args: 'not-a-list' }], /field "args"/],
    [[{ ...ok, colour: 'red' }], /unknown field "colour"/],
    [[ok, { ...ok }], /agents\[1\].*duplicate agent name "a" \(also agents\[0\]\)/],
    [[], /agent list is empty/],
    [[{ ...ok, ready: { stdout: '(' } }], /field "ready.stdout": not a valid regular expression/],
    [[{ ...ok, promptVia: 'arg', args: [] }], /promptVia is "arg" but no argument contains the \{\{prompt\}\} placeholder/],
    [[{ ...ok, prompt: { template: 'a', templateFile: 'b' } }], /either `template` or `templateFile`/],
    [[42], /agents\[0\]: expected an object, got number/],
  ])('rejects %j with a message naming the agent and field', (agents, message) => {
    expect(() => resolveAgents(agents)).toThrow(message);
    expect(() => resolveAgents(agents)).toThrow(ConfigError);
  });

  it('names the file, and reports malformed JSON and a missing file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-spec-'));
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, '{ "agents": [ }');
    await expect(loadAgentsFile(bad)).rejects.toThrow(/bad\.json: not valid JSON/);
    await expect(loadAgentsFile(path.join(dir, 'none.json'))).rejects.toThrow(/none\.json: cannot read the agents file: no such file/);
    const typo = path.join(dir, 'typo.json');
    await writeFile(typo, JSON.stringify({ agents: [{ name: 'x', command: 'y', timeoutMS: 3 }] }));
    await expect(loadAgentsFile(typo)).rejects.toThrow('typo.json: agent "x" (agents[0]): unknown field "timeoutMS" (did you mean "timeoutMs"?)');
  });

  it('says where malformed JSON breaks, and what a misspelt field was meant to be, nested or at the top', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-spec-'));
    const file = path.join(dir, 'agents.json');
    await writeFile(file, '{ "agents": [\n  { "name": "a", "command": "echo" },\n  { "name": "b" "command": "x" }\n] }\n');
    await expect(loadAgentsFile(file)).rejects.toThrow(/agents\.json: line 3, column 17: not valid JSON/);
    await writeFile(file, '{ "agents": [\n  { "name": "a", "command": "echo" },\n');
    await expect(loadAgentsFile(file)).rejects.toThrow('agents.json: line 2, column 38: not valid JSON: Unexpected end of JSON input');
    await writeFile(file, JSON.stringify({ agents: [{ name: 'b', command: 'true', prompt: { templte: 'x' } }] }));
    await expect(loadAgentsFile(file)).rejects.toThrow('agent "b" (agents[0]): field "prompt": unknown field "templte" (did you mean "template"?)');
    // A misspelt field wins over what it leaves missing.
    await writeFile(file, JSON.stringify({ agents: [{ name: 'b', comand: 'true' }] }));
    await expect(loadAgentsFile(file)).rejects.toThrow('agent "b" (agents[0]): unknown field "comand" (did you mean "command"?)');
    await writeFile(file, JSON.stringify({ agnets: [] }));
    await expect(loadAgentsFile(file)).rejects.toThrow('agents.json: agents file: unknown field "agnets" (did you mean "agents"?)');
  });

  it('resolves a relative cwd against the agents file folder', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spawnpool-spec-'));
    const file = path.join(dir, 'agents.json');
    await writeFile(
      file,
      JSON.stringify({
        agents: [
          { name: 'x', command: 'y', cwd: 'sub' },
          { name: 'z', command: 'y' },
        ],
      }),
    );
    const loaded = await loadAgentsFile(file);
    expect(loaded.agents.map((a) => a.cwd)).toEqual([path.join(dir, 'sub'), dir]);
  });
});
