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
  #warned = false;
  // Groups listed while the watchdog could not be started, sent once it is.
  readonly #pending = new Set<number>();

  /** Lists a process group; the watchdog starts on the first one. */
  add(pgid: number): void {
    if (this.#failed) return;
    if (this.#stdin === undefined) this.#start();
    if (this.#stdin === undefined) this.#pending.add(pgid);
    else this.#stdin.write(`+${pgid}\n`);
  }

  /** The group was reaped by its launcher: the watchdog forgets it (its id may be reused). */
  delete(pgid: number): void {
    this.#pending.delete(pgid);
    this.#stdin?.write(`-${pgid}\n`);
  }

  /** Ends the watchdog with an empty list (it kills nothing). */
  close(): void {
    this.#stdin?.end();
    this.#stdin = undefined;
  }

  #start(): void {
    const [file, args] = existsSync(PERL) ? [PERL, ['-e', PERL_SCRIPT]] : [process.execPath, ['-e', NODE_SCRIPT]];
    // Own process group: a Ctrl-C to the host's terminal must not kill the watchdog before the host has cleaned up.
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    } catch (error) {
      this.#warn((error as Error).message);
      return;
    }
    // Out of descriptors (EMFILE), Node leaves stdin undefined, not null, and reports the errno on the next tick.
    const stdin = child.stdin ?? undefined;
    if (stdin === undefined) {
      // No pipe could be made, so no process either: the groups wait in #pending and the next agent tries again.
      // Never kill() such a child: its pid is 0 to libuv, and kill(0) would signal this host's whole group.
      child.on('error', () => {});
      this.#warn('no pipe to it could be made');
      return;
    }
    child.on('error', (error) => {
      this.#failed = true;
      this.#stdin = undefined;
      this.#warn(error.message);
    });
    // EPIPE after the watchdog died: nothing more it can do for us, and nothing to report per write.
    stdin.on('error', () => {});
    // Neither keeps the host alive: the watchdog matters only while agents, which do, are running.
    child.unref();
    (stdin as unknown as { unref?: () => void }).unref?.();
    this.#stdin = stdin;
    // What it missed while it could not start: every group still listed.
    for (const pgid of this.#pending) stdin.write(`+${pgid}\n`);
    this.#pending.clear();
  }

  #warn(why: string): void {
    if (this.#warned) return;
    this.#warned = true;
    process.emitWarning(`spawnpool: the agent watchdog could not start (${why}); agents may outlive a host killed by SIGKILL until it does`);
  }
}
