import { createHash } from 'node:crypto';
import { secureRandomBytes } from '../random.ts';

/** 256 random bits, base64url: session tokens, CSRF tokens, email links. Only the hash is ever stored. */
export function newOpaqueToken(): string {
  return secureRandomBytes(32).toString('base64url');
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
