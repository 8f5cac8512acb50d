#!/usr/bin/env node
import 'dotenv/config';
import cluster from 'node:cluster';
import { ConfigError, loadConfig } from './config/index.js';
import { createLogger } from './boot.js';
import { MigrationError, StoreUnavailableError } from './errors.js';
import { KeyLoadError } from './keys/pem.js';
import { receiveKeys, runPrimary } from './serve/cluster.js';
import { ListenError } from './http/listen.js';
import { serveInstance } from './serve/instance.js';

/** Boots the server: validate config, then one server process, or a cluster of `WORKERS`. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  if (config.workers > 1 && cluster.isPrimary) return await runPrimary(config, logger);
  const keys = config.workers > 1 ? await receiveKeys(config) : undefined;
  await serveInstance(config, logger, keys);
}

main().catch((error: unknown) => {
  if (error instanceof ListenError) {
    process.stderr.write(`jwe-auth-server: ${error.message}\n`);
    process.exit(1);
  }
  const known = error instanceof ConfigError || error instanceof KeyLoadError || error instanceof StoreUnavailableError || error instanceof MigrationError;
  const message = known ? (error as Error).message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`jwe-auth-server: refusing to start: ${message}\n`);
  process.exit(1);
});
