/** Retry, halt and timeout policies, and the harness options' validation: pure logic, no processes. */
import { describe, expect, it } from 'vitest';
import type { AgentResult } from '../../src/batch/types.ts';
import { ConfigError, SpawnError } from '../../src/errors.ts';
import { formatHalt, HaltPolicy, parseHalt } from '../../src/harness/halt-policy.ts';
import { resolveHarnessOptions } from '../../src/harness/options.ts';
import { isTransientSpawnFailure, RetryPolicy } from '../../src/harness/retry-policy.ts';
import { RunningMedian, TimeoutPolicy } from '../../src/harness/timeout-policy.ts';
import { resolveAgents } from '../../src/spec/resolve.ts';

function failed(stage: AgentResult['stage'], fields: Partial<AgentResult> & { code?: string; message?: string; errno?: string } = {}): AgentResult {
  const { code = 'E_EXIT', message = 'failed', errno, ...rest } = fields;
  return {
    name: 'a/1',
    index: 0,
    ok: false,
    stage,
    error: new SpawnError(code as 'E_EXIT', message, { errno }),
    pid: undefined,
    exitCode: undefined,
    signal: undefined,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 0,
    timedOut: stage === 'timeout',
    stdoutFile: undefined,
    stderrFile: undefined,
    ...rest,
  };
}

describe('RetryPolicy', () => {
  it('by default retries only transient spawn failures: EAGAIN, EMFILE, ENFILE, ENOMEM, a lost launcher', () => {
    const p = new RetryPolicy({ retries: 3 });
    for (const errno of ['EAGAIN', 'EMFILE', 'ENFILE', 'ENOMEM'])
      expect(p.retryable(failed('spawn', { code: 'E_SPAWN', message: `Agent "a/1": could not start "x": spawn x ${errno}`, errno }))).toBe(true);
    // A result that crossed a process is data: its errno is read as a field.
    const crossed = failed('spawn');
    crossed.error = { code: 'E_SPAWN', message: 'spawn x EAGAIN', errno: 'EAGAIN' } as unknown as SpawnError;
    expect(p.retryable(crossed)).toBe(true);
    expect(p.retryable(failed('spawn', { code: 'E_LAUNCHER', message: 'helper died' }))).toBe(true);
    expect(p.retryable(failed('spawn', { code: 'E_ENOENT', message: 'command not found', errno: 'ENOENT' }))).toBe(false);
    expect(p.retryable(failed('spawn', { code: 'E_SPAWN', message: 'spawn x EPERM', errno: 'EPERM' }))).toBe(false);
    // The errno is the field, not a word of the message.
    expect(p.retryable(failed('spawn', { code: 'E_SPAWN', message: 'spawn x EAGAIN' }))).toBe(false);
    expect(p.retryable(failed('run', { exitCode: 1 }))).toBe(false);
    expect(p.retryable(failed('timeout', { code: 'E_TIMEOUT' }))).toBe(false);
    expect(p.retryable(failed('build', { code: 'E_TEMPLATE' }))).toBe(false);
    expect(p.retryable(failed('aborted', { code: 'E_ABORTED' }))).toBe(false);
  });

  it('retries chosen exit codes, any exit, timeouts when asked; spawn can be turned off', () => {
    const p = new RetryPolicy({ retries: 1, on: { spawn: false, timeout: true, exitCodes: [75] } });
    expect(p.retryable(failed('run', { exitCode: 75 }))).toBe(true);
    expect(p.retryable(failed('run', { exitCode: 1 }))).toBe(false);
    expect(p.retryable(failed('timeout', { code: 'E_TIMEOUT' }))).toBe(true);
    expect(p.retryable(failed('spawn', { code: 'E_SPAWN', message: 'spawn x EAGAIN', errno: 'EAGAIN' }))).toBe(false);
    expect(new RetryPolicy({ retries: 1, on: { exitCodes: 'any' } }).retryable(failed('run', { exitCode: 3 }))).toBe(true);
    expect(isTransientSpawnFailure(failed('run', { code: 'E_EXIT', message: 'EAGAIN in the output' }))).toBe(false);
  });

  it('waits base * 2^(n-1), capped, minus up to `jitter` of it; stops after `retries`', () => {
    const r = failed('run', { exitCode: 75 });
    const on = { exitCodes: [75] };
    const top = new RetryPolicy({ retries: 5, on, baseDelayMs: 100, maxDelayMs: 350, jitter: 0.5 }, () => 0);
    expect([1, 2, 3, 4, 5].map((n) => top.delayAfter(r, n))).toEqual([100, 200, 350, 350, 350]);
    expect(top.delayAfter(r, 6)).toBeUndefined();
    const low = new RetryPolicy({ retries: 5, on, baseDelayMs: 100, maxDelayMs: 350, jitter: 0.5 }, () => 0.999999);
    expect([1, 2, 3].map((n) => low.delayAfter(r, n))).toEqual([50, 100, 175]);
    expect(new RetryPolicy({ retries: 0, on }).delayAfter(r, 1)).toBeUndefined();
    expect(new RetryPolicy({ retries: 2, on }).delayAfter({ ...r, ok: true, stage: undefined }, 1)).toBeUndefined();
  });
});

describe('halt', () => {
  it("parses GNU parallel's forms", () => {
    expect(parseHalt('never')).toBeUndefined();
    expect(parseHalt('0')).toBeUndefined();
    expect(parseHalt('soon,fail=3')).toEqual({ when: 'soon', why: 'fail', value: 3, percent: false });
    expect(parseHalt('now,fail=10%')).toEqual({ when: 'now', why: 'fail', value: 10, percent: true });
    expect(parseHalt('now,success=1')).toEqual({ when: 'now', why: 'success', value: 1, percent: false });
    expect(parseHalt('soon,done=50%')).toEqual({ when: 'soon', why: 'done', value: 50, percent: true });
    expect(parseHalt('1')).toEqual(parseHalt('soon,fail=1'));
    expect(parseHalt('2')).toEqual(parseHalt('now,fail=1'));
    expect(parseHalt('-1')).toEqual(parseHalt('soon,success=1'));
    expect(parseHalt('-2')).toEqual(parseHalt('now,success=1'));
    expect(parseHalt('25%')).toEqual(parseHalt('soon,fail=25%'));
    expect(formatHalt(parseHalt('now,fail=10%')!)).toBe('now,fail=10%');
    for (const bad of ['later,fail=1', 'soon,fails=1', 'soon,fail=0', 'soon,fail=101%', 'soon,fail=1.5', 'soon', ''])
      expect(() => parseHalt(bad, '--halt')).toThrow(/--halt/);
  });

  it('triggers once the count or the percentage of the runs to do is reached, and only for its kind', () => {
    const fail3 = new HaltPolicy(parseHalt('soon,fail=3')!, 100);
    expect([false, true, false, true].map((ok) => fail3.record(ok))).toEqual([undefined, undefined, undefined, undefined]);
    expect(fail3.record(false)).toBe('soon');
    const pct = new HaltPolicy(parseHalt('now,fail=10%')!, 50); // 5 of 50
    const seen = Array.from({ length: 5 }, () => pct.record(false));
    expect(seen).toEqual([undefined, undefined, undefined, undefined, 'now']);
    const success = new HaltPolicy(parseHalt('now,success=2')!, 10);
    expect([false, false, true, false, true].map((ok) => success.record(ok))).toEqual([undefined, undefined, undefined, undefined, 'now']);
    const done = new HaltPolicy(parseHalt('soon,done=50%')!, 4);
    expect([true, false].map((ok) => done.record(ok))).toEqual([undefined, 'soon']);
  });
});

describe('timeouts', () => {
  it('RunningMedian is the exact median at every step', () => {
    let s = 7;
    const rand = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const m = new RunningMedian();
    const all: number[] = [];
    expect(Number.isNaN(m.median())).toBe(true);
    for (let i = 0; i < 500; i++) {
      const v = Math.floor(rand() * 1000);
      all.push(v);
      m.add(v);
      const sorted = [...all].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      expect(m.median()).toBe(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2);
    }
  });

  it('applies the smallest of the agent, harness and relative timeouts; the relative one after minSamples successes', () => {
    const [agent] = resolveAgents([{ name: 'a', command: 'x', timeoutMs: 5000 }]);
    const p = new TimeoutPolicy(8000, { factor: 3, minSamples: 2 });
    expect(p.apply(agent!).timeoutMs).toBe(5000);
    p.succeeded(100);
    expect(p.relativeMs).toBeUndefined();
    p.succeeded(300);
    expect(p.relativeMs).toBe(600);
    const applied = p.apply(agent!);
    expect(applied.timeoutMs).toBe(600);
    expect(applied.name).toBe('a');
    const [free] = resolveAgents([{ name: 'b', command: 'x' }]);
    expect(new TimeoutPolicy(8000, undefined).apply(free!).timeoutMs).toBe(8000);
    expect(new TimeoutPolicy(undefined, undefined).apply(free!)).toBe(free);
  });
});

describe('harness options', () => {
  it('names an unknown option and the one meant', () => {
    expect(() => resolveHarnessOptions({ concurency: 4 } as never)).toThrow('Unknown option `concurency` in runHarness(): did you mean `concurrency`?');
    expect(() => resolveHarnessOptions({ retry: { retires: 2 } } as never)).toThrow(
      'Unknown option `retry.retires` in runHarness(): did you mean `retry.retries`?',
    );
    expect(() => resolveHarnessOptions({ retry: { on: { spwn: true } } } as never)).toThrow(
      'Unknown option `retry.on.spwn` in runHarness(): did you mean `retry.on.spawn`?',
    );
    // Inside a list, and a swap of two letters counts as one edit.
    expect(() => resolveHarnessOptions({ rateLimits: [{ max: 1, intervalMs: 5, agnet: 'x' }] } as never)).toThrow(
      'Unknown option `rateLimits.0.agnet` in runHarness(): did you mean `rateLimits.0.agent`?',
    );
    expect(() => resolveHarnessOptions({ zzz: 1 } as never)).toThrow(/^Unknown option `zzz` in runHarness\(\); the options are `concurrency`, /);
    // An unknown key is named before any other fault of the object.
    expect(() => resolveHarnessOptions({ concurrency: 0, timeoutMS: 5 } as never)).toThrow(/Unknown option `timeoutMS`.*did you mean `timeoutMs`/);
  });

  it('names a bad value, and refuses options that need another', () => {
    expect(() => resolveHarnessOptions({ concurrency: 0 })).toThrow(/`concurrency`/);
    expect(() => resolveHarnessOptions({ retry: { retries: -1 } })).toThrow(/`retry.retries`/);
    expect(() => resolveHarnessOptions({ rateLimits: [{ max: 1, intervalMs: 0 }] })).toThrow(/`rateLimits.0.intervalMs`/);
    expect(() => resolveHarnessOptions({ runName: '1st' })).toThrow(/`runName`/);
    expect(() => resolveHarnessOptions({ resume: true })).toThrow(/needs `runName`/);
    expect(() => resolveHarnessOptions({ runName: 'r', resume: true, resumeFailed: true })).toThrow(/not both/);
    expect(() => resolveHarnessOptions({ halt: 'sometime' })).toThrow(ConfigError);
    expect(() => resolveHarnessOptions({ halt: { when: 'now', fail: 1, success: 1 } })).toThrow(/exactly one/);
    expect(() => resolveHarnessOptions({ retry: { baseDelayMs: 10, maxDelayMs: 5 } })).toThrow(/maxDelayMs/);
    expect(resolveHarnessOptions({ halt: { when: 'now', fail: '10%' } }).halt).toEqual({ when: 'now', why: 'fail', value: 10, percent: true });
    expect(resolveHarnessOptions({ concurrency: Number.POSITIVE_INFINITY }).concurrency).toBe(Number.POSITIVE_INFINITY);
  });
});
