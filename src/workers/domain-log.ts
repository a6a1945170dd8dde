/**
 * Where the workers write one structured line per security-relevant fact (pino's shape: fields, then a message).
 * The server hands them its own logger, so these lines join the request logs.
 */
export interface DomainLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Audit actions that are an alarm, not a record: logged at warn so they stand out. */
const ALARMS = /(refused|locked|replay|integrity|seal_blocked|break_glass|errored|halt\.set)/;

export function auditLevel(action: string, data: string): 'info' | 'warn' {
  return ALARMS.test(action) || data.includes('"severity":"critical"') ? 'warn' : 'info';
}
