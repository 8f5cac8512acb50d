/** How many cases a fuzz property ran, how long it took, and how they ended, by mutation and outcome. */
export class FuzzFigures {
  readonly #outcomes = new Map<string, Map<string, number>>();
  #cases = 0;
  #elapsedMs = 0;

  constructor(readonly name: string) {}

  /** Counts one case: the mutation that made it and how the server answered it. */
  record(mutation: string, outcome: string): void {
    this.#cases++;
    const byOutcome = this.#outcomes.get(mutation) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    this.#outcomes.set(mutation, byOutcome);
  }

  /** Runs a whole property and adds its duration. */
  async time(run: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await run();
    } finally {
      this.#elapsedMs += performance.now() - started;
    }
  }

  get cases(): number {
    return this.#cases;
  }

  /** Every outcome seen, over all mutations, with its count. */
  outcomes(): Map<string, number> {
    const total = new Map<string, number>();
    for (const byOutcome of this.#outcomes.values()) for (const [outcome, n] of byOutcome) total.set(outcome, (total.get(outcome) ?? 0) + n);
    return total;
  }

  /** A plain-text report: totals, then one line per mutation with its outcomes. */
  report(): string {
    const seconds = this.#elapsedMs / 1000;
    const lines = [`${this.name}: ${this.#cases} cases in ${seconds.toFixed(1)} s (${Math.round(this.#cases / Math.max(seconds, 0.001))}/s)`];
    const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    lines.push(`  outcomes: ${sorted(this.outcomes())}`);
    for (const [mutation, byOutcome] of [...this.#outcomes].sort()) lines.push(`  ${mutation}: ${sorted(byOutcome)}`);
    return lines.join('\n');
  }
}
