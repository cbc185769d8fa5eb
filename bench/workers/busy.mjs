// Burns CPU for the number of milliseconds it is sent, then replies. cpu-8
// runs these in place of the build workers to measure the main thread's
// event-loop delay when it does nothing but wait for a core.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (ms) => {
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) spins++;
  parentPort.postMessage(spins);
});
