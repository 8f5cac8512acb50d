import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../src/metrics/registry.js';
import { ROOT } from '../helpers/process.js';

/** docs/grafana-dashboard.json: importable, and every series it queries is one the server exports. */
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly targets?: ReadonlyArray<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
};

/** Every series name the server exports: each metric, and a histogram's `_bucket`, `_sum` and `_count`. */
async function exportedSeries(): Promise<Set<string>> {
  const { registry } = createMetrics();
  const metrics = await registry.getMetricsAsJSON();
  return new Set(metrics.flatMap((metric) => (String(metric.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => `${metric.name}${suffix}`) : [metric.name])));
}

it('asks for its Prometheus data source on import and has unique panel ids', () => {
  expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
  expect(dashboard.uid).toBe('jwe-auth-server');
  const ids = dashboard.panels.map((panel) => panel.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(['instance']);
});

it('queries only series the server exports, and shows every jwe_auth_ family', async () => {
  const exported = await exportedSeries();
  const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  expect(expressions.length).toBeGreaterThan(10);
  const used = new Set(expressions.flatMap((expr) => expr.match(/\b(?:jwe_auth|process|nodejs)_[a-z0-9_]+/g) ?? []));
  expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  const families = [...exported].filter((name) => name.startsWith('jwe_auth_')).map((name) => name.replace(/_(bucket|sum|count)$/, ''));
  const shown = [...used].map((name) => name.replace(/_(bucket|sum|count)$/, ''));
  expect([...new Set(families)].filter((family) => !shown.includes(family))).toEqual([]);
});
