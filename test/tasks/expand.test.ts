/** Agents × tasks: fields substituted where documented, named agent/taskId, and the prompt built with the task through the real pipeline. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandRun, expandRuns } from '../../src/tasks/expand.ts';
import { parseTasks } from '../../src/tasks/load-tasks.ts';
import { agentScript, NODE, withSpawner } from '../support/fixtures.ts';

const tasks = parseTasks('{"id":"t1","file":"a.ts","n":3,"ok":true,"list":["x","y"]}\n{"id":"t2","file":"b.ts","n":4,"ok":false,"list":[]}\n', {
  file: 'tasks.jsonl',
  format: 'jsonl',
});
const t1 = tasks[0]!;

describe('expandRun', () => {
  it('substitutes task fields in command, args, env, cwd, templateFile, context and string vars; leaves {{prompt}} alone', () => {
    const spec = expandRun({
      agent: {
        name: 'lint',
        command: 'bin-{{task.n}}',
        args: ['--file', '{{ task.file }}', '{{prompt}}', '{{task.ok}}'],
        promptVia: 'arg',
        env: { FILE: '{{task.file}}', PLAIN: 'x' },
        cwd: 'work/{{task.id}}',
        prompt: { templateFile: 'prompts/{{task.id}}.md', context: ['ctx/{{task.file}}'], vars: { where: 'src/{{task.file}}', count: 2 } },
      },
      task: t1,
      baseDir: '/base',
    });
    expect(spec.name).toBe('lint/t1');
    expect(spec.command).toBe('bin-3');
    expect(spec.args).toEqual(['--file', 'a.ts', '{{prompt}}', 'true']);
    expect(spec.env).toEqual({ FILE: 'a.ts', PLAIN: 'x' });
    expect(spec.cwd).toBe(path.resolve('/base', 'work/t1'));
    expect(spec.prompt).toEqual({ templateFile: 'prompts/t1.md', context: ['ctx/a.ts'], vars: { where: 'src/a.ts', count: 2, task: t1.vars } });
  });

  it('substitutes in the defaults too, and gives an inherited prompt the task', () => {
    const spec = expandRun({ agent: { name: 'a', command: 'c' }, defaults: { args: ['{{task.file}}'], prompt: { template: 'do {{task.file}}' } }, task: t1 });
    expect(spec.args).toEqual(['a.ts']);
    expect(spec.prompt).toEqual({ template: 'do {{task.file}}', vars: { task: t1.vars } });
  });

  it('runs the agent under its own name without a task', () => {
    expect(expandRun({ agent: { name: 'a', command: 'c', args: ['{{task.file}}'] } }).args).toEqual(['{{task.file}}']);
  });

  it.each([
    [
      { name: 'a', command: 'c', args: ['{{task.fil}}'] },
      /^tasks\.jsonl:1: task "t1": agents\.json: agent "a": field "args\[0\]": \{\{task\.fil\}\} names no field of the task \(its fields: id, file, n, ok, list\)$/,
    ],
    [
      { name: 'a', command: 'c', env: { X: '{{task.list}}' } },
      /^tasks\.jsonl:1: task "t1": agents\.json: agent "a": field "env\.X": \{\{task\.list\}\} is an array, which does not fit in a string/,
    ],
    [{ name: 'a', command: 'c', prompt: { template: 'Fix {{task.nope}}' } }, /field "prompt\.template": \{\{task\.nope\}\} names no field of the task/],
    [
      { name: 'a', command: 'c', prompt: { template: '{{#task.list}}{{.}}{{/task.list}} {{task.missing.deep}}' } },
      /\{\{task\.missing\.deep\}\} names no field/,
    ],
    [
      { name: 'a', command: 'c', prompt: { template: 'x', vars: { task: 1 } } },
      /^agents\.json: agent "a": field "prompt\.vars\.task": with a task list, \{\{task\}\} is the task's row; rename this variable$/,
    ],
    [{ name: 'a', command: 'c', timeoutMS: 5 }, /^agents\.json: agent "a\/t1" \(agents\[0\]\): unknown field "timeoutMS" \(did you mean "timeoutMs"\?\)$/],
  ])('refuses %j, naming the task, the agent and the field', (agent, message) => {
    expect(() => expandRun({ agent, task: t1, file: 'agents.json' })).toThrow(message);
  });

  it('names the task row file and line in a substitution error', () => {
    expect(() => expandRun({ agent: { name: 'a', command: 'c', args: ['{{task.x}}'] }, task: tasks[1]!, file: 'agents.json' })).toThrow(
      /^tasks\.jsonl:2: task "t2": /,
    );
  });
});

describe('expandRuns', () => {
  it('gives every agent every task, task-major, named agent/taskId', () => {
    const runs = expandRuns(
      {
        agents: [
          { name: 'a', command: 'x' },
          { name: 'b', command: 'y', args: ['{{task.n}}'] },
        ],
      },
      tasks,
    );
    expect(runs.map((r) => [r.name, r.agent, r.taskId, r.spec.args])).toEqual([
      ['a/t1', 'a', 't1', []],
      ['b/t1', 'b', 't1', ['3']],
      ['a/t2', 'a', 't2', []],
      ['b/t2', 'b', 't2', ['4']],
    ]);
  });

  it('without tasks, gives each agent once under its own name; a bad agent is reported as in an agents file', () => {
    expect(expandRuns({ agents: [{ name: 'a', command: 'x' }] }, undefined).map((r) => [r.name, r.taskId])).toEqual([['a', undefined]]);
    expect(() => expandRuns({ agents: [{ name: 'a', command: 'x' }, { name: 'b' }] }, tasks, { file: 'f.json' })).toThrow(
      /^f\.json: agent "b" \(agents\[1\]\): field "command"/,
    );
  });

  it('builds each task prompt with mustache on the workers: values inserted literally, sections over arrays', async () => {
    const runs = expandRuns(
      {
        agents: [
          {
            name: 'e',
            command: NODE,
            args: [agentScript('echo-sha256.mjs')],
            prompt: { template: 'File {{task.file}} n={{task.n}}{{#task.list}} [{{.}}]{{/task.list}}' },
          },
        ],
      },
      parseTasks('{"id":"t1","file":"{{contextText}}","n":3,"list":["x","y"]}\n', { file: 't.jsonl', format: 'jsonl' }),
    );
    await withSpawner({}, async (spawner) => {
      const batch = spawner.spawnBatch(runs.map((r) => r.spec));
      const [result] = await batch.results;
      const expected = 'File {{contextText}} n=3 [x] [y]';
      expect(result!.ok, result!.error?.message).toBe(true);
      expect(result!.name).toBe('e/t1');
      expect(result!.stdout).toContain(createHash('sha256').update(expected).digest('hex'));
    });
  });
});
