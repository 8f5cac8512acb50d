/**
 * Listens on a free port of 127.0.0.1 and writes `{"port": N}` as one line on stdout, so the bench
 * (the parent process) knows where to send its load. Exits on SIGTERM.
 */
export function announce(app) {
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
  // Keep-alive connections of the load generator would hold close() open.
  process.once('SIGTERM', () => server.closeAllConnections());
}
