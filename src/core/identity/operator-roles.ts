/**
 * What each operator role may do, written once. The services check it (services/identity/acting-operator.ts),
 * so the API and the CLI enforce the same rules. Support reads and helps customers; a risk analyst reviews and
 * may stop withdrawals; an incident commander halts, lifts and contains; an admin manages operators and
 * receivers and may do everything the others may (every row lists it, so this table is the whole truth).
 */
export const OPERATOR_ROLES = ['support', 'risk_analyst', 'incident_commander', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

const EVERY_ROLE = OPERATOR_ROLES;

export const OPERATOR_PERMISSIONS = {
  'halt.list': EVERY_ROLE,
  'halt.set': ['risk_analyst', 'incident_commander', 'admin'],
  'halt.lift': ['incident_commander', 'admin'],
  /** Record a deposit seen on chain, or approve (credit) one another operator recorded. */
  'deposit.credit': ['incident_commander', 'admin'],
  /** The deposits awaiting a second operator. */
  'deposit.view': EVERY_ROLE,
  'withdrawal.read': EVERY_ROLE,
  'customer.read': EVERY_ROLE,
  'audit.read': EVERY_ROLE,
  'withdrawal.cancel': EVERY_ROLE,
  /** Approve or reject a withdrawal held for review. */
  'withdrawal.review': ['risk_analyst', 'admin'],
  /** Settle an errored withdrawal as paid or not paid, after checking the chain. */
  'withdrawal.resolve': ['incident_commander', 'admin'],
  /** A customer account; an operator account is unlocked only with operator.unlock. */
  'account.unlock': EVERY_ROLE,
  'operator.unlock': ['admin'],
  'operator.create': ['admin'],
  'revoke.sessions_customer': EVERY_ROLE,
  'revoke.sessions_all': ['incident_commander', 'admin'],
  'revoke.mfa_customer': ['risk_analyst', 'incident_commander', 'admin'],
  'revoke.mfa_all': ['incident_commander', 'admin'],
  /** The rule sets, their evaluations and a shadow set's disagreements. */
  'rules.read': EVERY_ROLE,
  /** Create a draft rule set, put one in shadow, retire one. */
  'rules.manage': ['risk_analyst', 'admin'],
  /** Make a rule set the one that decides (the previous active one is retired); audited. */
  'rules.activate': ['risk_analyst', 'admin'],
  'webhook.list': ['admin'],
  'webhook.manage': ['admin'],
  /** See alerts (list, show). */
  'alerts.read': EVERY_ROLE,
  /** Acknowledge and resolve alerts. */
  'alerts.manage': ['risk_analyst', 'incident_commander', 'admin'],
  /** See cases and their events. */
  'cases.read': EVERY_ROLE,
  /** Open a case, link alerts and withdrawals to it, note, change its status, close it. */
  'cases.manage': ['risk_analyst', 'incident_commander', 'admin'],
  /** Incidents (src/services/incidents/): list, show, timeline, affected withdrawals and accounts, downtime. */
  'incident.read': EVERY_ROLE,
  /** Open an incident (by hand or from an alert); a risk analyst who sees the pattern may open one. */
  'incident.open': ['risk_analyst', 'incident_commander', 'admin'],
  /** Move an incident's status (contained, resolved, closed). */
  'incident.manage': ['incident_commander', 'admin'],
  /** Mark withdrawals as affected (unauthorized, suspect, legitimate), by hand or from monitor findings. */
  'incident.mark': ['risk_analyst', 'incident_commander', 'admin'],
  /** Halt withdrawals for an incident (global, an asset, an account); immediate. */
  'incident.halt': ['incident_commander', 'admin'],
  /** Cancel everything in flight in a scope, freeze and unfreeze accounts. */
  'incident.contain': ['incident_commander', 'admin'],
  /** Revoke every customer session and/or MFA, and every other operator's session, for an incident. */
  'incident.revoke': ['incident_commander', 'admin'],
  /** Ask for an incident's (or the monitor's) halts to be lifted: nothing is lifted until another approves. */
  'incident.resume_request': ['incident_commander', 'admin'],
  /** Approve another operator's resume request: the halts are lifted (never one's own request). */
  'incident.resume_approve': ['incident_commander', 'admin'],
  /** Ask for an incident's unauthorized, lost withdrawals to be paid back; a second operator approves. */
  'incident.reimburse_request': ['incident_commander', 'admin'],
  /** Approve another operator's reimbursement request (never one's own), and pay it out in batches. */
  'incident.reimburse_approve': ['incident_commander', 'admin'],
  /** The platform treasury's balances. */
  'treasury.read': ['risk_analyst', 'incident_commander', 'admin'],
  /** Put platform money into the treasury that reimbursements are paid from. */
  'treasury.fund': ['admin'],
} as const satisfies Record<string, readonly OperatorRole[]>;

export type OperatorAction = keyof typeof OPERATOR_PERMISSIONS;

export function rolesFor(action: OperatorAction): readonly OperatorRole[] {
  return OPERATOR_PERMISSIONS[action];
}

export function mayPerform(role: OperatorRole, action: OperatorAction): boolean {
  return (OPERATOR_PERMISSIONS[action] as readonly OperatorRole[]).includes(role);
}

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (OPERATOR_ROLES as readonly string[]).includes(value);
}
