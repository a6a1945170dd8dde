/**
 * Where a device-integrity signal (jailbroken / rooted) comes from. A production deployment plugs in Play
 * Integrity or App Attest; the embedded default records what the client says about itself and marks it
 * `self_reported`, so nobody later mistakes it for a verified signal (the claims programme weighs it).
 */
export interface DeviceReport {
  readonly id: string;
  readonly platform: string;
  readonly jailbroken?: boolean | undefined;
  readonly attestation?: string | undefined;
}

export interface DeviceIntegrity {
  readonly integrity: 'ok' | 'jailbroken' | 'unknown';
  readonly source: string;
}

export interface DeviceAttestation {
  assess(report: DeviceReport): Promise<DeviceIntegrity>;
}

export const selfReportedAttestation: DeviceAttestation = Object.freeze({
  async assess(report: DeviceReport): Promise<DeviceIntegrity> {
    if (report.jailbroken === undefined) return { integrity: 'unknown', source: 'self_reported' };
    return { integrity: report.jailbroken ? 'jailbroken' : 'ok', source: 'self_reported' };
  },
});
