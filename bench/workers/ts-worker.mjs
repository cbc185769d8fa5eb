// Bootstrap for the bench's TypeScript worker scripts: registers tsx's ESM
// loader in this worker, then imports the script whose file URL is argv[2].
// On Node 20, `execArgv: ['--import', <tsx loader>]` is not applied to a
// Worker (measured: the worker fails with "Unknown file extension .ts"),
// hence this file (the same approach as test/metrics/fixtures/ts-worker.mjs).
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
