import { combineEvents, NO_EVENTS, type AuthEvents } from '../../src/events.js';
import { auditLog } from '../../src/logging/audit.js';
import { metricsEvents } from '../../src/metrics/events.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { captureLog } from '../helpers/log.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';

describe('the audit log sink', () => {
  it('writes one info line per audit event, with the event name in `event`', () => {
    const log = captureLog();
    const events = auditLog(log.logger);
    events.audit('logout', { user_id: 'u-1', session_id: 's-1' });
    events.audit('user_disabled', { username: 'bob', event: 'forged' });
    expect(log.lines()).toEqual([
      expect.objectContaining({ level: 30, msg: 'audit', event: 'logout', user_id: 'u-1', session_id: 's-1' }),
      expect.objectContaining({ level: 30, msg: 'audit', event: 'user_disabled', username: 'bob' }),
    ]);
  });

  it('writes nothing for outcomes that are only counted', () => {
    const log = captureLog();
    const events = auditLog(log.logger);
    events.login('failed');
    events.refresh('rotated');
    events.tokenRefused('signature');
    expect(log.text()).toBe('');
  });
});

describe('the metrics sink', () => {
  it('counts logins, refreshes, refused tokens and audit events by label', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const events = metricsEvents(metrics);
    events.login('succeeded');
    events.login('failed');
    events.login('failed');
    events.refresh('reuse_revoked');
    events.tokenRefused('session');
    events.audit('refresh_reuse_detected');
    const samples = parseExposition(await metrics.registry.metrics());
    expect(valueOf(samples, 'jwe_auth_logins_total', { outcome: 'failed' })).toBe(2);
    expect(valueOf(samples, 'jwe_auth_logins_total', { outcome: 'succeeded' })).toBe(1);
    expect(valueOf(samples, 'jwe_auth_refreshes_total', { outcome: 'reuse_revoked' })).toBe(1);
    expect(valueOf(samples, 'jwe_auth_tokens_refused_total', { reason: 'session' })).toBe(1);
    expect(valueOf(samples, 'jwe_auth_audit_events_total', { event: 'refresh_reuse_detected' })).toBe(1);
  });
});

describe('combineEvents', () => {
  it('gives every event to every sink, even when one throws', () => {
    const seen: string[] = [];
    const recording = (name: string): AuthEvents => ({
      audit: (event) => void seen.push(`${name} audit ${event}`),
      login: (outcome) => void seen.push(`${name} login ${outcome}`),
      refresh: (outcome) => void seen.push(`${name} refresh ${outcome}`),
      tokenRefused: (reason) => void seen.push(`${name} refused ${reason}`),
    });
    const broken: AuthEvents = {
      ...NO_EVENTS,
      audit: () => {
        throw new Error('sink down');
      },
    };
    const events = combineEvents(recording('a'), broken, recording('b'));
    expect(() => {
      events.audit('logout');
      events.login('succeeded');
      events.refresh('duplicate');
      events.tokenRefused('expired');
    }).not.toThrow();
    expect(seen).toEqual([
      'a audit logout',
      'b audit logout',
      'a login succeeded',
      'b login succeeded',
      'a refresh duplicate',
      'b refresh duplicate',
      'a refused expired',
      'b refused expired',
    ]);
  });
});
