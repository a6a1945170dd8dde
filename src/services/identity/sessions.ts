import { DomainError, invalidInput } from '../../core/errors.ts';
import { hashOpaqueToken, isWellFormedToken, newOpaqueToken } from '../../core/identity/opaque-token.ts';
import { listDevices } from '../../store/identity/devices.ts';
import { readEpochs } from '../../store/identity/epochs.ts';
import type { Principal } from '../../store/identity/principals.ts';
import {
  endOtherSessions,
  endSession,
  insertSession,
  isSessionOf,
  listSessions,
  lookupSessionByTokenHash,
  raiseSessionAal,
  touchSession,
} from '../../store/identity/sessions.ts';
import type { OperatorRole } from '../../store/schema-identity.ts';
import { committed, inTransaction, type Tx } from '../../store/transaction.ts';
import { audit } from '../audit.ts';
import type { RequestMeta, ServiceContext } from '../context.ts';

/** A request's verified identity. */
export interface Authenticated {
  readonly sessionId: string;
  readonly principalId: string;
  readonly kind: 'customer' | 'operator';
  readonly role: OperatorRole | null;
  readonly aal: 1 | 2;
  readonly csrfHash: string;
  /**
   * When the session's last_seen_at is due to be written (authenticate with `deferTouch`): the write rides on the
   * request's first transaction (inRequestTransaction), or is written alone when the request ends (flushTouch).
   */
  readonly touch?: PendingTouch;
}

export interface PendingTouch {
  readonly at: string;
  written: boolean;
}

export interface IssuedSession {
  readonly sessionId: string;
  readonly token: string;
  readonly csrfToken: string;
  readonly aal: 1 | 2;
  readonly expiresAt: string;
}

// last_seen_at is written at most this often: an idle timeout of minutes does not need a write per request.
const TOUCH_INTERVAL_MS = 30_000;
const MAX_LISTED = 100;

export async function issueSession(
  tx: Tx,
  context: ServiceContext,
  principal: Principal,
  aal: 1 | 2,
  deviceId: string | null,
  meta: RequestMeta,
): Promise<IssuedSession> {
  const now = context.clock.now();
  const epochs = await readEpochs(tx);
  const token = newOpaqueToken();
  const csrfToken = newOpaqueToken();
  const row = await insertSession(tx, {
    token_hash: hashOpaqueToken(token),
    csrf_hash: hashOpaqueToken(csrfToken),
    principal_id: principal.id,
    aal,
    global_epoch: epochs.session_epoch,
    principal_epoch: principal.session_epoch,
    device_id: deviceId,
    ip: meta.ip,
    user_agent: meta.userAgent.slice(0, 512),
    created_at: now.toISOString(),
  });
  return {
    sessionId: row.id,
    token,
    csrfToken,
    aal,
    expiresAt: new Date(now.getTime() + context.settings.sessionAbsoluteMs).toISOString(),
  };
}

function unauthenticated(reason: string): DomainError {
  return new DomainError('UNAUTHENTICATED', reason);
}

/**
 * Checks a presented session token on every request: one indexed read that joins the session, its principal
 * and the global epochs, so revoke-all is seen by the very next request on any node.
 */
export async function authenticate(
  context: ServiceContext,
  token: string,
  options: { deferTouch?: boolean } = {},
): Promise<Authenticated> {
  if (!isWellFormedToken(token)) throw unauthenticated('the session token is not valid');
  const found = await lookupSessionByTokenHash(context.database, hashOpaqueToken(token));
  if (found === undefined) throw unauthenticated('the session token is not valid');
  const now = context.clock.now();
  const nowMs = now.getTime();
  if (found.ended_at !== null) throw unauthenticated('the session has ended');
  // Customers answer to the global epoch (mass revocation); operators only to their own, so an incident team
  // that revokes every customer session is not logged out by its own action.
  if (found.kind === 'customer' && found.session_global_epoch !== found.current_global_epoch) {
    throw unauthenticated('the session was revoked');
  }
  if (found.session_principal_epoch !== found.current_principal_epoch)
    throw unauthenticated('the session was revoked');
  if (found.locked_at !== null)
    throw new DomainError('ACCOUNT_LOCKED', 'the account is locked; an operator must unlock it');
  const lastSeenMs = Date.parse(found.last_seen_at);
  if (nowMs - lastSeenMs >= context.settings.sessionIdleMs)
    throw unauthenticated('the session expired (idle)');
  if (nowMs - Date.parse(found.created_at) >= context.settings.sessionAbsoluteMs) {
    throw unauthenticated('the session expired');
  }
  const touchDue = nowMs - lastSeenMs >= TOUCH_INTERVAL_MS;
  if (touchDue && options.deferTouch !== true)
    await committed(context.database, (db) => touchSession(db, found.id, now.toISOString()));
  return {
    ...(touchDue && options.deferTouch === true ? { touch: { at: now.toISOString(), written: false } } : {}),
    sessionId: found.id,
    principalId: found.principal_id,
    kind: found.kind,
    role: found.role,
    aal: found.aal === 2 ? 2 : 1,
    csrfHash: found.csrf_hash,
  };
}

/**
 * A transaction of an authenticated request: the session's due touch (if any) is written inside it, so a request
 * that changes something costs one transaction, not two.
 */
export async function inRequestTransaction<T>(
  context: ServiceContext,
  auth: Authenticated,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  const touch = auth.touch !== undefined && !auth.touch.written ? auth.touch : undefined;
  const value = await inTransaction(context.database, async (tx) => {
    if (touch !== undefined) await touchSession(tx, auth.sessionId, touch.at);
    return work(tx);
  });
  if (touch !== undefined) touch.written = true;
  return value;
}

/** At the end of a request: the session's touch, when no transaction of the request carried it. */
export async function flushTouch(context: ServiceContext, auth: Authenticated): Promise<void> {
  const touch = auth.touch;
  if (touch === undefined || touch.written) return;
  touch.written = true;
  await committed(context.database, (db) => touchSession(db, auth.sessionId, touch.at));
}

export function csrfMatches(auth: Authenticated, presented: string | undefined): boolean {
  return (
    presented !== undefined && isWellFormedToken(presented) && hashOpaqueToken(presented) === auth.csrfHash
  );
}

export async function raiseToAal2(tx: Tx, sessionId: string): Promise<void> {
  await raiseSessionAal(tx, sessionId, 2);
}

export async function logout(context: ServiceContext, auth: Authenticated): Promise<void> {
  await inTransaction(context.database, async (tx) => {
    await endSession(tx, auth.sessionId, context.clock.now().toISOString(), 'logout');
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'session.logout',
      subject: `session:${auth.sessionId}`,
    });
  });
}

export async function listMySessions(context: ServiceContext, auth: Authenticated) {
  const [sessions, devices] = await Promise.all([
    listSessions(context.database, auth.principalId, MAX_LISTED),
    listDevices(context.database, auth.principalId, MAX_LISTED),
  ]);
  return {
    sessions: sessions.map((s) => ({
      id: s.id,
      current: s.id === auth.sessionId,
      aal: s.aal,
      device_id: s.device_id,
      ip: s.ip,
      user_agent: s.user_agent,
      created_at: s.created_at,
      last_seen_at: s.last_seen_at,
      ended_at: s.ended_at,
      ended_reason: s.ended_reason,
    })),
    devices: devices.map((d) => ({
      id: d.id,
      platform: d.platform,
      user_agent: d.user_agent,
      integrity: d.integrity,
      integrity_source: d.integrity_source,
      first_seen_at: d.first_seen_at,
      last_seen_at: d.last_seen_at,
    })),
  };
}

export async function endMySession(
  context: ServiceContext,
  auth: Authenticated,
  sessionId: string,
): Promise<void> {
  if (typeof sessionId !== 'string' || sessionId.length > 64)
    throw invalidInput('id', 'must be a session id');
  await inTransaction(context.database, async (tx) => {
    if (!(await isSessionOf(tx, sessionId, auth.principalId)))
      throw new DomainError('NOT_FOUND', `session ${sessionId} does not exist`);
    await endSession(tx, sessionId, context.clock.now().toISOString(), 'ended_by_customer');
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'session.ended',
      subject: `session:${sessionId}`,
    });
  });
}

export async function endMyOtherSessions(
  context: ServiceContext,
  auth: Authenticated,
): Promise<{ ended: number }> {
  return inTransaction(context.database, async (tx) => {
    const ended = await endOtherSessions(
      tx,
      auth.principalId,
      auth.sessionId,
      context.clock.now().toISOString(),
    );
    await audit(tx, context, {
      actor: `${auth.kind}:${auth.principalId}`,
      action: 'session.ended_others',
      subject: `${auth.kind}:${auth.principalId}`,
      data: { ended },
    });
    return { ended };
  });
}
