import { sql } from 'kysely';
import type { AnyDb, MigrationEngine } from './column-types.ts';

/**
 * Customers, operators, sessions, devices, second factors and the epochs that revoke them in O(1).
 * A session or factor is valid only while the epochs it was created under are still current, so "revoke every
 * session / every MFA enrolment" is one UPDATE of `security_epochs`, never a scan (DESIGN invariant 9).
 */
export async function up(db: AnyDb, _engine: MigrationEngine): Promise<void> {
  await db.schema
    .createTable('security_epochs')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('session_epoch', 'integer', (c) => c.notNull())
    .addColumn('mfa_epoch', 'integer', (c) => c.notNull())
    .addColumn('totp_epoch', 'integer', (c) => c.notNull())
    .addColumn('passkey_epoch', 'integer', (c) => c.notNull())
    .addColumn('recovery_epoch', 'integer', (c) => c.notNull())
    .execute();
  await db
    .insertInto('security_epochs')
    .values({ id: 1, session_epoch: 1, mfa_epoch: 1, totp_epoch: 1, passkey_epoch: 1, recovery_epoch: 1 })
    .execute();

  // Customers and operators share this table (`kind`), so sessions, factors and epochs have one mechanism.
  await db.schema
    .createTable('principals')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('customer', 'operator')`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_verified_at', 'text')
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) =>
      c.check(sql`role is null or role in ('support', 'risk_analyst', 'incident_commander', 'admin')`),
    )
    .addColumn('locked_at', 'text')
    .addColumn('locked_reason', 'text')
    .addColumn('session_epoch', 'integer', (c) => c.notNull())
    .addColumn('mfa_epoch', 'integer', (c) => c.notNull())
    .addColumn('withdrawals_locked_until', 'text')
    .addColumn('mfa_failures', 'integer', (c) => c.notNull())
    .addColumn('mfa_lock_count', 'integer', (c) => c.notNull())
    .addColumn('mfa_locked_until', 'text')
    .addColumn('last_totp_step', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('principals_kind_email', ['kind', 'email'])
    .addCheckConstraint('principals_operator_role', sql`(kind = 'operator') = (role is not null)`)
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('csrf_hash', 'text', (c) => c.notNull())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('aal', 'integer', (c) => c.notNull().check(sql`aal in (1, 2)`))
    .addColumn('global_epoch', 'integer', (c) => c.notNull())
    .addColumn('principal_epoch', 'integer', (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('ip', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addColumn('ended_reason', 'text')
    .execute();
  await db.schema
    .createIndex('sessions_principal')
    .on('sessions')
    .columns(['principal_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('device_key', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('integrity', 'text', (c) =>
      c.notNull().check(sql`integrity in ('ok', 'jailbroken', 'unknown')`),
    )
    .addColumn('integrity_source', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('devices_principal_key', ['principal_id', 'device_key'])
    .execute();

  // One row per enrolled factor; `global_epoch`/`method_epoch`/`principal_epoch` pin it to the epochs it was
  // enrolled under. status: pending (enrolment started) -> active -> removed.
  await db.schema
    .createTable('mfa_factors')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('method', 'text', (c) => c.notNull().check(sql`method in ('totp', 'passkey', 'recovery')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'active', 'removed')`))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('secret', 'text')
    .addColumn('credential_id', 'text', (c) => c.unique())
    .addColumn('public_key', 'text')
    .addColumn('sign_count', 'bigint', (c) => c.notNull())
    .addColumn('code_hash', 'text')
    .addColumn('used_at', 'text')
    .addColumn('global_epoch', 'integer', (c) => c.notNull())
    .addColumn('method_epoch', 'integer', (c) => c.notNull())
    .addColumn('principal_epoch', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('activated_at', 'text')
    .addColumn('removed_at', 'text')
    .execute();
  await db.schema
    .createIndex('mfa_factors_principal')
    .on('mfa_factors')
    .columns(['principal_id', 'method'])
    .execute();

  // Short-lived, single-use secrets: email verification, password reset, lock links, WebAuthn challenges,
  // step-up proofs, login MFA challenges. One mechanism: a hash, a purpose, an expiry, a used_at.
  await db.schema
    .createTable('one_time_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();

  // Settings whose history the claims programme reads: MFA policy per action, anti-phishing code.
  await db.schema
    .createTable('security_settings_history')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
    .addColumn('setting', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('effective_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('security_settings_history_lookup')
    .on('security_settings_history')
    .columns(['principal_id', 'setting', 'effective_at'])
    .execute();

  // Fixed-window counters shared by every node (a per-process limiter would let N nodes allow N times the rate).
  await db.schema
    .createTable('rate_limits')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('window_start', 'text', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limits_pk', ['bucket', 'window_start'])
    .execute();
}
