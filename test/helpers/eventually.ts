/**
 * Resolves once `check` passes, polling every 50 ms; rethrows its last failure after `ms`. For
 * recoveries the contract gives no bound to: `ms` is a test timeout, not an assertion.
 *
 * @example await eventually(5000, async () => expect((await login(app)).status).toBe(200));
 */
export async function eventually(ms: number, check: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
