import { DomainError } from '../../core/errors.ts';
import {
  isOperatorRole,
  mayPerform,
  type OperatorAction,
  type OperatorRole,
  rolesFor,
} from '../../core/identity/operator-roles.ts';
import type { Authenticated } from './sessions.ts';

/**
 * Who acts on an operator service: an operator, authenticated by the edge (an API session, or the CLI's
 * token or password and TOTP), with the role their account has. The service checks the role itself.
 */
export interface OperatorActor {
  readonly kind: 'operator';
  readonly id: string;
  readonly role: OperatorRole;
}

/**
 * Someone at the server's console halting without signing in (`drawbridge halt set --break-glass --reason`).
 * Anyone holding the database's credentials can already do anything; this makes the one emergency action that
 * must never wait for a login explicit, and audits it as critical. Only setHalt accepts it.
 */
export interface BreakGlassActor {
  readonly kind: 'break_glass';
  /** The OS user who ran the command, or "cli". */
  readonly name: string;
}

/** The first operator of an installation, made while none exists yet. Only createOperator accepts it. */
export interface BootstrapActor {
  readonly kind: 'bootstrap';
  readonly name: string;
}

export type Actor = OperatorActor | BreakGlassActor | BootstrapActor;

const ACTOR_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A name fit for an audit actor ("break-glass:<name>"): the OS user when it is a plain one, else "cli". */
export function consoleName(name: string | undefined): string {
  return name !== undefined && ACTOR_NAME.test(name) ? name : 'cli';
}

export function breakGlass(name: string | undefined): BreakGlassActor {
  return { kind: 'break_glass', name: consoleName(name) };
}

export function bootstrap(name: string | undefined): BootstrapActor {
  return { kind: 'bootstrap', name: consoleName(name) };
}

/** The acting operator of a session: an operator's, at AAL2 (operators act only with a second factor). */
export function actingOperator(auth: Authenticated): OperatorActor {
  if (auth.kind !== 'operator' || auth.role === null || !isOperatorRole(auth.role))
    throw new DomainError('FORBIDDEN', 'this needs an operator session');
  if (auth.aal < 2) throw new DomainError('FORBIDDEN', 'operators act only with a second factor');
  return { kind: 'operator', id: auth.principalId, role: auth.role };
}

/**
 * Refuses (FORBIDDEN) unless `actor` is an operator whose role may do `action` (core/identity/operator-roles.ts).
 * Checked at run time too: whatever a caller passes, only an operator value with a permitted role gets through.
 */
export function authorize(actor: Actor, action: OperatorAction): OperatorActor {
  if (actor?.kind !== 'operator' || !isOperatorRole(actor.role)) {
    throw new DomainError('FORBIDDEN', `${action} needs an authenticated operator`, { details: { action } });
  }
  if (!mayPerform(actor.role, action)) {
    throw new DomainError('FORBIDDEN', `${action} needs one of the roles ${rolesFor(action).join(', ')}`, {
      details: { action, role: actor.role },
    });
  }
  return actor;
}

/** The audit log's name for an actor: "operator:<id>", "break-glass:<os user>" or "bootstrap:<os user>". */
export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'operator':
      return `operator:${actor.id}`;
    case 'break_glass':
      return `break-glass:${actor.name}`;
    case 'bootstrap':
      return `bootstrap:${actor.name}`;
  }
}
