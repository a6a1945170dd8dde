/**
 * The package entry point `drawbridge/attestation`: what a custody signer needs to check a release attestation,
 * and nothing of the server. It reaches only node:crypto and canonicalize (test/integrators checks the graph).
 *
 *   import { verifyReleaseAttestation } from 'drawbridge/attestation';
 *   if (!verifyReleaseAttestation(pinnedPublicKeyPem, instruction.attestation, instruction)) refuse();
 */
export {
  ATTESTATION_TAG,
  type ReleaseAttestation,
  type ReleaseStatement,
  verifyReleaseAttestation,
} from './core/withdrawals/attestation.ts';
