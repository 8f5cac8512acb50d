#!/usr/bin/env node
import 'dotenv/config';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config/index.js';
import { buildRuntime, createLogger } from './boot.js';
import { createApp } from './http/app.js';
import { MigrationError, StoreUnavailableError } from './errors.js';
import { KeyLoadError } from './keys/pem.js';

/** Boots the server: validate config, load keys and stores, listen, and close cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  const runtime = await buildRuntime(config, logger);
  const app = createApp(runtime);
  const server: Server = app.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info(
      {
        port,
        store: config.store,
        preserveSessions: config.preserveSessions,
        signing: `${runtime.keys.signing.alg} ${runtime.keys.signing.kid}`,
        encryption: `${runtime.keys.encryption.alg} ${runtime.keys.encryption.kid}`,
      },
      `jwe-auth-server listening on http://${config.host}:${port}`,
    );
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    process.stderr.write(`jwe-auth-server: cannot listen on port ${config.port}: ${error.code ?? error.message}\n`);
    process.exit(1);
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close(() => void runtime.close().finally(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  const known = error instanceof ConfigError || error instanceof KeyLoadError || error instanceof StoreUnavailableError || error instanceof MigrationError;
  const message = known ? (error as Error).message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`jwe-auth-server: refusing to start: ${message}\n`);
  process.exit(1);
});
