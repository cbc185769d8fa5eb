/**
 * A watchdog process that kills this host's agent trees when the host dies,
 * however it dies (SIGKILL included): it reads `+pgid` / `-pgid` lines on a
 * pipe from the host and, at end of file (the host's last descriptor to it
 * closed), SIGKILLs every group still listed. The helper launcher needs none
 * (its helper watches its own channel); the direct launcher forks agents
 * from the host itself, and without this a host killed by SIGKILL left every
 * one of them running.
 *
 * perl (Debian's perl-base is Essential) starts in ~2 ms and holds ~5 MB; a
 * Node fallback covers systems without it. dash's `kill` cannot signal a
 * negative pid, so no POSIX shell script would do.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';

const PERL = '/usr/bin/perl';
const PERL_SCRIPT = 'my %g; while (<STDIN>) { if (/^\\+(\\d+)/) { $g{$1} = 1 } elsif (/^-(\\d+)/) { delete $g{$1} } } kill "KILL", map { -$_ } keys %g;';
const NODE_SCRIPT = `
const g = new Set(); let rest = '';
process.stdin.on('data', (c) => { const lines = (rest + c).split('\\n'); rest = lines.pop();
  for (const l of lines) { const n = Number(l.slice(1)); if (l[0] === '+') g.add(n); else if (l[0] === '-') g.delete(n); } });
process.stdin.on('end', () => { for (const n of g) { try { process.kill(-n, 'SIGKILL'); } catch {} } });`;

export class Reaper {
  #stdin: Writable | undefined;
  #failed = false;

  /** Lists a process group; the watchdog starts on the first one. */
  add(pgid: number): void {
    this.#write(`+${pgid}\n`);
  }

  /** The group was reaped by its launcher: the watchdog forgets it (its id may be reused). */
  delete(pgid: number): void {
    if (this.#stdin !== undefined) this.#write(`-${pgid}\n`);
  }

  /** Ends the watchdog with an empty list (it kills nothing). */
  close(): void {
    this.#stdin?.end();
    this.#stdin = undefined;
  }

  #write(line: string): void {
    if (this.#failed) return;
    if (this.#stdin === undefined) this.#start();
    this.#stdin?.write(line);
  }

  #start(): void {
    const [file, args] = existsSync(PERL) ? [PERL, ['-e', PERL_SCRIPT]] : [process.execPath, ['-e', NODE_SCRIPT]];
    // Own process group: a Ctrl-C to the host's terminal must not kill the watchdog before the host has cleaned up.
    const child = spawn(file, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.on('error', (error) => {
      this.#failed = true;
      this.#stdin = undefined;
      process.emitWarning(`spawnpool: the agent watchdog could not start (${error.message}); agents may outlive a host killed by SIGKILL`);
    });
    // EPIPE after the watchdog died: nothing more it can do for us, and nothing to report per write.
    child.stdin!.on('error', () => {});
    // Neither keeps the host alive: the watchdog matters only while agents, which do, are running.
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    this.#stdin = child.stdin!;
  }
}
