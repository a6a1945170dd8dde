import { hash, verify } from '@node-rs/argon2';
import { invalidInput } from '../../core/errors.ts';

// OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1.
const ARGON2_OPTIONS = {
  // 2 is Argon2id; the package exports it only as an ambient const enum, which ESM cannot import.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

// A lone UTF-16 surrogate. The argon2 binding turns every one into U+FFFD before hashing, so two different
// passwords made of them would verify against each other; such a string is not text anyone can type anyway.
const LONE_SURROGATE = /\p{Cs}/u;

function isWellFormed(password: string): boolean {
  return !LONE_SURROGATE.test(password);
}

export async function hashPassword(password: string): Promise<string> {
  if (!isWellFormed(password)) throw invalidInput('password', 'must be well-formed Unicode text');
  return hash(password, ARGON2_OPTIONS);
}

// Verified against when the email is unknown, so "no such account" costs the same time as "wrong password".
let dummyHash: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined || !isWellFormed(password)) {
    dummyHash ??= hashPassword('drawbridge-timing-equaliser');
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
