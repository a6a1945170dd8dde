import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
// By the package's own name, as an integrator imports them (package.json "exports"), not by a path into src/.
import { type ReleaseAttestation, verifyReleaseAttestation } from 'drawbridge/attestation';
import { createDrawbridgeClient } from 'drawbridge/client';
import { eachEngine } from '../support/each-engine.ts';
import {
  BTC_ADDRESS,
  confirmTotp,
  readyCustomer,
  releaseDue,
  simulatedChain,
  withdrawalRow,
} from '../support/withdrawals.ts';

/** The package's directory: the nearest one above this file with a package.json (the tests may run compiled). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
const ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
const PYTHON_VERIFIER = join(ROOT, 'docs', 'verify-attestation.py');

/**
 * The first Python 3 with the cryptography package: python3 on the PATH (which may be a pyenv one), else Debian's
 * (where .ci/run's apt-get install python3-cryptography puts it). `missing` says why there is none.
 */
function findPython(): { python: string; missing?: undefined } | { python?: undefined; missing: string } {
  const reasons: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import cryptography'], { encoding: 'utf8' });
    if (probe.error !== undefined) reasons.push(`${python}: not found`);
    else if (probe.status !== 0) reasons.push(`${python}: no cryptography package (${probe.stderr.trim()})`);
    else return { python };
  }
  return { missing: reasons.join('; ') };
}
const { python, missing } = findPython();
// CI installs python3-cryptography (.ci/run): there a missing one is a failure, elsewhere a skip with the reason.
const pythonSkip = missing !== undefined && process.env.CI !== 'true' ? missing : undefined;

function runPython(keysJson: string, attestation: unknown, instruction?: unknown) {
  assert.ok(python !== undefined, `the Python verifier cannot run: ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-attestation-'));
  try {
    const keyFile = join(dir, 'release-keys.json');
    const attestationFile = join(dir, 'attestation.json');
    writeFileSync(keyFile, keysJson);
    writeFileSync(attestationFile, JSON.stringify(attestation));
    const args = [PYTHON_VERIFIER, keyFile, attestationFile];
    if (instruction !== undefined) {
      const instructionFile = join(dir, 'instruction.json');
      writeFileSync(instructionFile, JSON.stringify(instruction));
      args.push(instructionFile);
    }
    const run = spawnSync(python, args, { encoding: 'utf8', timeout: 30_000 });
    return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the drawbridge/attestation entry point', () => {
  test('reaches nothing of the server: only node: built-ins and canonicalize', () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/g)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
        else external.add(specifier);
      }
    };
    visit(join(ROOT, 'src', 'attestation.ts'));
    assert.deepEqual([...seen].map((file) => file.slice(ROOT.length + 1)).sort(), [
      'src/attestation.ts',
      'src/core/monitor/verdict.ts',
      'src/core/withdrawals/attestation.ts',
    ]);
    for (const specifier of external)
      assert.ok(
        specifier.startsWith('node:') || specifier === 'canonicalize',
        `${specifier} is imported by the attestation entry point`,
      );
  });

  test('the package name resolves to the entry point, and the bin is still there', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'drawbridge');
    assert.equal(manifest.exports['./attestation'], './src/attestation.ts');
    assert.equal(manifest.bin.drawbridge, 'bin/drawbridge.mjs');
    assert.equal(
      fileURLToPath(import.meta.resolve('drawbridge/attestation')),
      join(ROOT, 'src', 'attestation.ts'),
    );
  });
});

for (const { engine, describeOn } of await eachEngine()) {
  describeOn(
    `a release attestation the server signed, checked as an integrator would, on ${engine}`,
    (on) => {
      const running = on.app();
      let keys: { release: string; monitor: string };
      let wellKnown: string;
      let attestation: ReleaseAttestation;
      let instruction: {
        withdrawal_id: string;
        asset: string;
        network: string;
        amount: string;
        destination: string;
      };

      test('a withdrawal requested through the typed client, confirmed and released, carries an attestation', async () => {
        const customer = await readyCustomer(running, 'integrator@example.com');
        const client = createDrawbridgeClient(running.url, customer.token);

        const refused = await createDrawbridgeClient(running.url).POST('/v1/withdrawals', {
          body: { asset: 'BTC', network: 'bitcoin', amount: '0.25', destination_id: customer.destinationId },
        });
        assert.equal(refused.response.status, 401);
        assert.equal(refused.data, undefined);
        assert.equal(refused.error?.status, 401);

        const requested = await client.POST('/v1/withdrawals', {
          body: { asset: 'BTC', network: 'bitcoin', amount: '0.25', destination_id: customer.destinationId },
        });
        assert.equal(requested.response.status, 201, JSON.stringify(requested.error));
        assert.ok(requested.data);
        const id = requested.data.id;
        assert.equal(requested.data.state, 'awaiting_confirmation');
        assert.equal((await confirmTotp(running, customer, id)).status, 200);
        running.clock.advance(10 * 60_000);
        assert.equal((await releaseDue(running.context, simulatedChain(running))).released, 1);

        const shown = await client.GET('/v1/withdrawals/{id}', { params: { path: { id } } });
        assert.ok(shown.data, JSON.stringify(shown.error));
        // The simulated signer takes it at once: released, and handed over (broadcast).
        assert.equal(shown.data.state, 'broadcast');

        const key = await createDrawbridgeClient(running.url).GET('/.well-known/drawbridge-release-key');
        assert.ok(key.data, JSON.stringify(key.error));
        assert.equal(key.data.alg, 'Ed25519');
        keys = { release: key.data.public_key_pem, monitor: key.data.monitor.public_key_pem };
        wellKnown = JSON.stringify(key.data);
        assert.notEqual(keys.release, keys.monitor, 'two keys, kept apart');

        const row = await withdrawalRow(running, id);
        assert.ok(row.attestation, 'the released withdrawal has no attestation');
        attestation = JSON.parse(row.attestation);
        assert.equal(attestation.key_id, key.data.key_id);
        instruction = {
          withdrawal_id: id,
          asset: 'BTC',
          network: 'bitcoin',
          amount: '25000000',
          destination: BTC_ADDRESS,
        };
        assert.deepEqual(
          {
            withdrawal_id: attestation.statement.withdrawal_id,
            asset: attestation.statement.asset,
            network: attestation.statement.network,
            amount: attestation.statement.amount,
            destination: attestation.statement.destination,
          },
          instruction,
        );
      });

      test('verifyReleaseAttestation from drawbridge/attestation accepts it, and refuses it tampered', () => {
        assert.equal(verifyReleaseAttestation(keys, attestation), true);
        assert.equal(verifyReleaseAttestation(keys, attestation, instruction), true);

        const tampered = { ...attestation, statement: { ...attestation.statement, amount: '250000000' } };
        assert.equal(verifyReleaseAttestation(keys, tampered), false, 'amount changed');
        assert.equal(
          verifyReleaseAttestation(keys, tampered, { ...instruction, amount: '250000000' }),
          false,
          'amount changed in the statement and the instruction alike',
        );
        assert.equal(
          verifyReleaseAttestation(keys, attestation, { ...instruction, amount: '250000000' }),
          false,
          'an instruction for another amount',
        );
        const { monitor: _dropped, ...withoutVerdict } = attestation;
        assert.equal(verifyReleaseAttestation(keys, withoutVerdict), false, 'no monitor verdict');
        assert.equal(
          verifyReleaseAttestation({ release: keys.release, monitor: keys.release }, attestation),
          false,
          'the release key does not stand in for the monitor key',
        );
      });

      test('docs/verify-attestation.py accepts it, and refuses it tampered', { skip: pythonSkip }, () => {
        assert.deepEqual(runPython(wellKnown, attestation), { status: 0, stdout: 'valid', stderr: '' });
        assert.deepEqual(runPython(wellKnown, attestation, instruction), {
          status: 0,
          stdout: 'valid',
          stderr: '',
        });

        const tampered = { ...attestation, statement: { ...attestation.statement, amount: '250000000' } };
        const refused = runPython(wellKnown, tampered);
        assert.equal(refused.status, 1, refused.stderr);
        assert.match(refused.stdout, /^INVALID: the signature does not match/);

        const otherAmount = runPython(wellKnown, attestation, { ...instruction, amount: '250000000' });
        assert.equal(otherAmount.status, 1, otherAmount.stderr);
        assert.equal(otherAmount.stdout, "INVALID: statement.amount is not the instruction's");

        const extraField = runPython(wellKnown, {
          ...attestation,
          statement: { ...attestation.statement, memo: 'x' },
        });
        assert.equal(extraField.status, 1);
        assert.match(extraField.stdout, /^INVALID: statement has unexpected fields: memo/);

        const { monitor: _dropped, ...withoutVerdict } = attestation;
        assert.equal(
          runPython(wellKnown, withoutVerdict).stdout,
          'INVALID: the attestation carries no monitor verdict',
        );
        const otherVerdict = {
          ...attestation,
          monitor: {
            ...attestation.monitor,
            statement: {
              ...attestation.monitor.statement,
              destination: '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2',
            },
          },
        };
        assert.match(
          runPython(wellKnown, otherVerdict).stdout,
          /^INVALID: the monitor verdict's signature does not match/,
        );
        const bothKeysRelease = JSON.stringify({
          ...JSON.parse(wellKnown),
          monitor: { ...JSON.parse(wellKnown).monitor, public_key_pem: keys.release },
        });
        assert.match(
          runPython(bothKeysRelease, attestation).stdout,
          /^INVALID: the monitor verdict's signature/,
        );
      });
    },
  );
}
