/**
 * Action types for the per-customer MFA policy. Withdrawals and address-book changes always need a second
 * factor; the others are the customer's choice, and every change is kept with its time (claims read it later).
 */
export const MFA_POLICY_ACTIONS = ['login', 'address_book', 'withdrawal', 'api_keys', 'settings'] as const;
export type MfaPolicyAction = (typeof MFA_POLICY_ACTIONS)[number];
export const ALWAYS_REQUIRED: ReadonlySet<MfaPolicyAction> = new Set(['address_book', 'withdrawal']);

/**
 * Actions that need a fresh second factor naming that action (a step-up proof), not merely an AAL2 session.
 * A proof for one action is useless for another.
 */
export const STEP_UP_ACTIONS = [
  'mfa.enroll',
  'mfa.remove',
  'mfa.policy',
  'recovery_codes.regenerate',
  'anti_phishing.set',
  'email.change',
  'address_book.add',
  'address_book.remove',
  'address_book.settings',
] as const;
export type StepUpAction = (typeof STEP_UP_ACTIONS)[number];

export function isStepUpAction(value: string): value is StepUpAction {
  return (STEP_UP_ACTIONS as readonly string[]).includes(value);
}

export function isMfaPolicyAction(value: string): value is MfaPolicyAction {
  return (MFA_POLICY_ACTIONS as readonly string[]).includes(value);
}
