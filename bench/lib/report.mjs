/** The bench's output: the side-by-side table with the issue's ratios, the extra sections, the SVG chart. */

/** The ratios the goals name, by server CPU per request: peer µs / ours µs, so above 1 means this server is cheaper. */
export const RATIOS = [
  { id: 'warmVsHs256', label: 'warm vs express-jwt HS256', ours: 'warm', peer: 'hs256', goal: 1.2 },
  { id: 'warmVsEmpty', label: 'warm vs empty Express 5', ours: 'warm', peer: 'empty', goal: 1.0 },
  { id: 'coldVsRs256', label: 'cold vs express-jwt RS256', ours: 'cold', peer: 'rs256', goal: 0.8 },
  { id: 'dpopVsWarm', label: 'DPoP vs warm (the proof check\'s price)', ours: 'dpop', peer: 'warm', goal: null },
];

export function ratios(cases) {
  return Object.fromEntries(RATIOS.map((r) => {
    const ours = cases[r.ours]?.cpuUsPerRequest;
    const peer = cases[r.peer]?.cpuUsPerRequest;
    return [r.id, ours && peer ? peer / ours : null];
  }));
}

const fixed = (value, digits = 0) => (value === null || value === undefined ? '–' : value.toFixed(digits));

/** The main table: one row per case, then the ratios, as printed lines. */
export function tableLines(caseList, cases, computed) {
  const lines = [
    `${'case'.padEnd(52)} ${'CPU µs/req'.padStart(10)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'2xx'.padStart(7)} ${'non-2xx'.padStart(7)}  CPU µs/req by round`,
  ];
  for (const { id, label } of caseList) {
    const c = cases[id];
    const flags = [c.errors ? `${c.errors} socket errors` : '', c.madeDuringRun ? `${c.madeDuringRun} made during the run` : ''].filter(Boolean).join(', ');
    lines.push(`${label.padEnd(52)} ${fixed(c.cpuUsPerRequest).padStart(10)} ${fixed(c.rps).padStart(7)} ${fixed(c.p50, 1).padStart(7)} ${fixed(c.p99, 1).padStart(7)} ${String(c.ok).padStart(7)} ${String(c.non2xx).padStart(7)}  ${c.rounds.map((r) => fixed(r.cpuUsPerRequest)).join(' ')}${flags ? `  (${flags})` : ''}`);
  }
  lines.push('', 'ratios by server CPU per request (peer µs / ours µs: above 1 means this server is cheaper)');
  for (const r of RATIOS) {
    const value = computed[r.id];
    const goal = r.goal === null ? '' : `  goal ≥ ${r.goal.toFixed(1)}× ${value !== null && value >= r.goal ? 'met' : 'not met'}`;
    lines.push(`  ${r.label.padEnd(42)} ${value === null ? '–' : `${value.toFixed(2)}×`}${goal}`);
  }
  const warm = cases.warm?.cpuUsPerRequest;
  const dpop = cases.dpop?.cpuUsPerRequest;
  if (warm && dpop) lines.push(`  DPoP proof check per request (DPoP − warm)   ${(dpop - warm).toFixed(0)} µs`);
  return lines;
}

const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart of CPU µs per request per case, as a standalone SVG document. */
export function chartSvg(caseList, cases, caption) {
  const rowHeight = 28;
  const labelWidth = 330;
  const barWidth = 360;
  const top = 44;
  const max = Math.max(1, ...caseList.map(({ id }) => cases[id]?.cpuUsPerRequest ?? 0));
  const height = top + caseList.length * rowHeight + 30;
  const rows = caseList.map(({ id, label, ours }, i) => {
    const value = cases[id]?.cpuUsPerRequest ?? 0;
    const y = top + i * rowHeight;
    const width = Math.max(1, (value / max) * barWidth);
    return [
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escape(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${width.toFixed(1)}" height="${rowHeight - 10}" fill="${ours ? '#2f6fb3' : '#9aa5b1'}"/>`,
      `<text x="${(labelWidth + width + 6).toFixed(1)}" y="${y + 17}">${value.toFixed(0)} µs</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 90}" height="${height}" font-family="sans-serif" font-size="13">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="12" y="22" font-size="15" font-weight="bold">Server CPU µs per answered request (lower is better)</text>`,
    ...rows,
    `<text x="12" y="${height - 10}" font-size="11" fill="#555">${escape(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
