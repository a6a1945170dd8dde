/** The 2022 bypass as the attack tests and the risk benchmark commit it: one writer, shared with the replay. */
export { forgeApproval } from '../../src/simulation/forged-approval.ts';
