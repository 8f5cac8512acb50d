#!/usr/bin/env node
import 'dotenv/config';
import { createServer, type Server } from 'node:http';
import { ConfigError, loadConfig } from './config/index.js';
import { buildRuntime, createLogger } from './boot.js';
import { createApp } from './http/app.js';
import { browsableUrl, listen, ListenError } from './http/listen.js';
import { MigrationError, StoreUnavailableError } from './errors.js';
import { KeyLoadError } from './keys/pem.js';
import { METRICS_PATH, metricsServer } from './metrics/server.js';

/** Boots the server: validate config, load keys and stores, listen, and close cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config);
  const runtime = await buildRuntime(config, logger);
  const servers: Server[] = [];
  let metricsUrl: string | undefined;
  try {
    if (runtime.metrics && config.metricsPort !== undefined) {
      const metrics = metricsServer(runtime.metrics);
      servers.push(metrics);
      metricsUrl = `${browsableUrl(config.metricsHost, await listen(metrics, config.metricsPort, config.metricsHost, 'METRICS_PORT'))}${METRICS_PATH}`;
    }
    const server = createServer(createApp(runtime));
    servers.push(server);
    const port = await listen(server, config.port, config.host, 'PORT');
    const home = browsableUrl(config.host, port);
    logger.info(
      {
        port,
        store: config.store,
        preserveSessions: config.preserveSessions,
        signing: `${runtime.keys.signing.alg} ${runtime.keys.signing.kid}`,
        encryption: `${runtime.keys.encryption.alg} ${runtime.keys.encryption.kid}`,
        demo: `${home}/demo`,
        docs: `${home}/docs`,
        jwks: `${home}/.well-known/jwks.json`,
        ...(metricsUrl ? { metrics: metricsUrl } : {}),
      },
      `jwe-auth-server listening on http://${config.host}:${port}; open ${home}/ (demo /demo, API reference /docs, JWKS /.well-known/jwks.json)`,
    );
  } catch (error) {
    for (const server of servers) server.close();
    await runtime.close();
    throw error;
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    let open = servers.length;
    const closed = () => {
      open -= 1;
      if (open === 0) void runtime.close().finally(() => process.exit(0));
    };
    for (const server of servers) server.close(closed);
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
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
