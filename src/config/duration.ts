const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+)(ms|s|m|h|d)?$/;

/**
 * Parses a duration such as `15m`, `7d`, `10s`, `250ms` or a bare number of seconds.
 *
 * @param text - The duration as written in the environment.
 * @returns The duration in milliseconds, or `null` when the text is not a duration.
 * @example parseDuration('15m') // 900000
 */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (!match) return null;
  const unit = match[2] ?? 's';
  return Number(match[1]) * (UNITS[unit] as number);
}
