import type { AuditEventName, AuditFields, AuthEvents, LoginOutcome, RefreshOutcome } from '../../src/events.js';

/** An {@link AuthEvents} that keeps what it was told, in order, for assertions. */
export class RecordingEvents implements AuthEvents {
  readonly audits: Array<{ event: AuditEventName; fields: AuditFields }> = [];
  readonly logins: LoginOutcome[] = [];
  readonly refreshes: RefreshOutcome[] = [];
  readonly refusals: string[] = [];

  audit(event: AuditEventName, fields: AuditFields = {}): void {
    this.audits.push({ event, fields });
  }

  login(outcome: LoginOutcome): void {
    this.logins.push(outcome);
  }

  refresh(outcome: RefreshOutcome): void {
    this.refreshes.push(outcome);
  }

  tokenRefused(reason: string): void {
    this.refusals.push(reason);
  }

  /** Forgets everything recorded so far. */
  clear(): void {
    for (const list of [this.audits, this.logins, this.refreshes, this.refusals] as unknown[][]) list.length = 0;
  }
}
