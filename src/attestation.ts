/**
 * The package entry point `drawbridge/attestation`: what a custody signer needs to check a release attestation,
 * and nothing of the server. It reaches only node:crypto and canonicalize (test/integrators checks the graph).
 * Pin both public keys from GET /.well-known/drawbridge-release-key: the release key and the monitor's.
 *
 *   import { verifyReleaseAttestation } from 'drawbridge/attestation';
 *   const keys = { release: pinnedReleaseKeyPem, monitor: pinnedMonitorKeyPem };
 *   if (!verifyReleaseAttestation(keys, instruction.attestation, instruction)) refuse();
 */
export type { SignedVerdict, VerdictStatement } from './core/monitor/verdict.ts';
export {
  ATTESTATION_TAG,
  type AttestationKeys,
  type ReleaseAttestation,
  type ReleaseStatement,
  releaseAttestationRefusal,
  verifyReleaseAttestation,
} from './core/withdrawals/attestation.ts';
