#!/usr/bin/env node
/** The `jwe-auth` bin: loads `.env`, then runs the program of `program.ts` on the process's streams. */
import 'dotenv/config';
import { processIo } from './io.js';
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
