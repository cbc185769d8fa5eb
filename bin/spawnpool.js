#!/usr/bin/env node
// The published CLI runs the compiled code; `npm run build` produces dist/.
import { runCli } from '../dist/src/cli/main.js';

await runCli();
