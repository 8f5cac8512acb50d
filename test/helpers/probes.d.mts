/** The types of probes.mjs (shared with the bench, which runs it as plain JavaScript). */
import type pg from 'pg';

export function freePort(): Promise<number>;
export function childEnv(env?: Record<string, string>): NodeJS.ProcessEnv;
export function healthy(url: string): Promise<boolean>;
export function probeRedis(url: string): Promise<boolean>;
export function withPostgres<T>(url: string, step: (client: pg.Client) => Promise<T>): Promise<T>;
