import type { Command } from 'commander';
import { terminal } from '../terminal.ts';

/**
 * `drawbridge totp <secret>`: the current 6-digit code of a base32 authenticator secret, as an authenticator app
 * shows it (for the demo's walk-through and for scripts against a test installation). It reads no database and
 * knows nothing a holder of the secret does not.
 */
export function registerTotp(program: Command): void {
  program
    .command('totp')
    .description('print the current code of an authenticator secret (what an app would show)')
    .argument('<secret>', 'the base32 secret, as in an otpauth:// URI')
    .action(async (secret: string) => {
      const { totpAt } = await import('../../core/mfa/totp.ts');
      const { systemClock } = await import('../../core/clock.ts');
      const { invalidInput } = await import('../../core/errors.ts');
      if (!/^[A-Z2-7]{16,128}=*$/i.test(secret))
        throw invalidInput('secret', 'must be a base32 authenticator secret');
      terminal().out(`${totpAt(secret.toUpperCase(), systemClock.now())}\n`);
    });
}
