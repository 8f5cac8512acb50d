/** A small fetch wrapper for the demo: JSON in, JSON out, the status checked against what the step expects. */

/** One HTTP exchange as the demo reports it. */
export interface Exchange {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown> | null;
}

/** What a call sends besides its method and path. */
export interface CallOptions {
  /** The sealed access token for `Authorization: Bearer`. */
  readonly bearer?: string;
  /** A JSON body. */
  readonly json?: unknown;
  /** The status this step must get; anything else stops the demo. */
  readonly expect: number;
}

/**
 * Makes one request against the demo server.
 *
 * @throws {Error} when the status is not the expected one, so a broken flow exits non-zero.
 */
export async function call(baseUrl: string, method: string, path: string, options: CallOptions): Promise<Exchange> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'jwe-auth-demo' };
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: options.json === undefined ? undefined : JSON.stringify(options.json),
  });
  const text = await response.text();
  const body = text === '' ? null : (JSON.parse(text) as Record<string, unknown>);
  if (response.status !== options.expect) {
    throw new Error(`${method} ${path} answered ${response.status} (expected ${options.expect}): ${text}`);
  }
  return { status: response.status, headers: response.headers, body };
}
