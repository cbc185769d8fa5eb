/**
 * What a 1 MB prompt costs on its way to the helper.
 * 1. Round trips of one frame through an echo peer: our framing on a socket
 *    pair vs node's IPC channel (serialization 'advanced' and 'json').
 * 2. End to end: launch() to the spawned event for a 1 MB stdin prompt vs
 *    an empty one, direct vs helper (interleaved).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { DirectLauncher, HelperLauncher, type Launcher, type LaunchRequest } from '../../src/index.ts';
// The helper's framing, measured apart from the launching: internal to the library.
import { encodeFrame, FRAME, FrameReader } from '../../src/launch/helper/wire.ts';
import { median } from 'simple-statistics';
import { benchHelpers } from './stats.ts';

const MB = 1 << 20;
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface RoundTrips {
  name: string;
  emptyMs: number;
  oneMbMs: number;
}

/** Median round trip of an empty and of a 1 MB message, per transport. */
export async function roundTrips(runs: number): Promise<RoundTrips[]> {
  const payload = Buffer.alloc(MB, 'p');
  const out: RoundTrips[] = [];
  for (const [name, open] of [
    ['frames on a socket pair (helper)', openFramePeer],
    ["node IPC, serialization 'advanced'", () => openIpcPeer('advanced')],
    ["node IPC, serialization 'json'", () => openIpcPeer('json')],
  ] as const) {
    const peer = await open();
    try {
      const time = async (bytes: Buffer) => {
        await peer.echo(bytes);
        const samples: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await peer.echo(bytes);
          samples.push(performance.now() - t);
        }
        return median(samples);
      };
      out.push({ name, emptyMs: await time(Buffer.alloc(0)), oneMbMs: await time(payload) });
    } finally {
      await peer.close();
    }
  }
  return out;
}

interface EchoPeer {
  echo(bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

async function openFramePeer(): Promise<EchoPeer> {
  const child = spawn(process.execPath, ['--import', tsx, new URL('./echo-peer.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
  });
  const channel = child.stdio[3] as Socket;
  const reader = new FrameReader();
  let waiting: ((bytes: number) => void) | undefined;
  channel.on('data', (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) waiting?.(frame.payload.length);
  });
  return {
    echo: (bytes) =>
      new Promise((resolve, reject) => {
        waiting = (n) => (n === bytes.length ? resolve() : reject(new Error(`echoed ${n} of ${bytes.length} bytes`)));
        channel.cork();
        for (const part of encodeFrame(FRAME.launch, 1, { agent: 'x' }, [bytes])) channel.write(part);
        channel.uncork();
      }),
    close: () => closeChild(child, () => channel.end()),
  };
}

async function openIpcPeer(serialization: 'advanced' | 'json'): Promise<EchoPeer> {
  const child = fork(new URL('./echo-ipc.mjs', import.meta.url), { serialization, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  return {
    echo: async (bytes) => {
      child.send({ agent: 'x', prompt: bytes });
      const [reply] = (await once(child, 'message')) as [{ prompt: Buffer | Uint8Array | { data: number[] } }];
      const n = 'data' in reply.prompt && Array.isArray(reply.prompt.data) ? reply.prompt.data.length : (reply.prompt as Uint8Array).byteLength;
      if (n !== bytes.length) throw new Error(`echoed ${n} of ${bytes.length} bytes`);
    },
    close: () => closeChild(child, () => child.disconnect()),
  };
}

async function closeChild(child: ChildProcess, end: () => void): Promise<void> {
  const exited = once(child, 'exit');
  end();
  await exited;
}

export interface EndToEnd {
  mode: 'direct' | 'helper';
  emptyMs: number;
  oneMbMs: number;
}

/** Median launch() → spawned of `cat > /dev/null` with an empty and a 1 MB stdin prompt. */
export async function endToEnd(runs: number): Promise<EndToEnd[]> {
  const launchers = { direct: new DirectLauncher(), helper: new HelperLauncher({ helpers: benchHelpers() }) };
  const prompts = { empty: new Uint8Array(0), oneMb: new Uint8Array(Buffer.alloc(MB, 'q')) };
  const samples = { direct: { empty: [] as number[], oneMb: [] as number[] }, helper: { empty: [] as number[], oneMb: [] as number[] } };
  try {
    await launchers.helper.warmUp();
    for (let r = -1; r < runs; r++) {
      for (const mode of ['direct', 'helper'] as const) {
        for (const size of ['empty', 'oneMb'] as const) {
          const ms = await launchToSpawned(launchers[mode], prompts[size]);
          if (r >= 0) samples[mode][size].push(ms);
        }
      }
    }
  } finally {
    await Promise.all([launchers.direct.close(), launchers.helper.close()]);
  }
  return (['direct', 'helper'] as const).map((mode) => ({ mode, emptyMs: median(samples[mode].empty), oneMbMs: median(samples[mode].oneMb) }));
}

function launchToSpawned(launcher: Launcher, prompt: Uint8Array): Promise<number> {
  const request: LaunchRequest = {
    agent: 'cat',
    command: 'sh',
    args: ['-c', 'cat > /dev/null'],
    env: undefined,
    cwd: undefined,
    prompt,
    promptVia: 'stdin',
    ready: undefined,
    timeoutMs: undefined,
    killGraceMs: 1000,
    maxOutputBytes: 1024,
    stream: false,
    stdin: 'close',
    stdoutFile: undefined,
    stderrFile: undefined,
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let spawnedMs = 0;
    launcher.launch(request, {
      spawned: () => (spawnedMs = performance.now() - started),
      ready: () => {},
      exited: (exit) => (exit.error || exit.exitCode !== 0 ? reject(new Error(exit.error?.message ?? `exit ${exit.exitCode}`)) : resolve(spawnedMs)),
    });
  });
}
