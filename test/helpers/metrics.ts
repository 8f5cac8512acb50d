import type { Server } from 'node:http';
import { listen } from '../../src/http/listen.js';
import type { Metrics } from '../../src/metrics/registry.js';
import { metricsServer } from '../../src/metrics/server.js';

/** One sample of a Prometheus text exposition: `name{labels} value`. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the samples of a Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = SAMPLE.exec(line);
      if (!match) throw new Error(`not a Prometheus sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1], m[2]]));
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
}

/**
 * The value of the one sample with this name whose labels include `labels`, or 0 when there is none
 * (a counter never incremented has no sample).
 */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

/** A metrics listener on a free port of 127.0.0.1, scraped over HTTP like Prometheus would. */
export interface MetricsEndpoint {
  readonly url: string;
  scrape(): Promise<Sample[]>;
  close(): Promise<void>;
}

/** Serves `metrics` on 127.0.0.1 (port 0) as `server.ts` does. */
export async function serveMetrics(metrics: Metrics): Promise<MetricsEndpoint> {
  const server: Server = metricsServer(metrics);
  const port = await listen(server, 0, '127.0.0.1', 'METRICS_PORT');
  const url = `http://127.0.0.1:${port}/metrics`;
  return {
    url,
    async scrape() {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
      return parseExposition(await res.text());
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
