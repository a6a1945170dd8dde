import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { DomainError, invalidInput } from '../errors.ts';

/**
 * Shape checks for the JSON a browser sends after navigator.credentials.create/get. Everything
 * malformed is refused here as INVALID_INPUT naming the field, before the library sees it; what
 * reaches the library is a fresh object holding only the fields we checked.
 */

export const MAX_PASSKEY_FIELD_LENGTH = 16 * 1024;
// WebAuthn: a credential id is at most 1023 bytes, a user handle at most 64.
const MAX_CREDENTIAL_ID_BYTES = 1023;
const MAX_USER_HANDLE_BYTES = 64;
const MIN_AUTHENTICATOR_DATA_BYTES = 37;
const MAX_TRANSPORTS = 8;
const KNOWN_TRANSPORTS = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]*$/;
const ROOT = 'response';

export interface ClientData {
  readonly type: string;
  readonly challenge: string;
  readonly origin: string;
  readonly crossOrigin: boolean;
}

export interface ParsedRegistration {
  readonly json: RegistrationResponseJSON;
  readonly clientData: ClientData;
}

export interface ParsedAuthentication {
  readonly json: AuthenticationResponseJSON;
  readonly clientData: ClientData;
  /** The signature counter as the authenticator data states it (not yet verified). */
  readonly counter: number;
}

export function parseRegistrationResponse(input: unknown): ParsedRegistration {
  const outer = object(input, ROOT);
  const id = credentialId(outer);
  const inner = object(outer.response, `${ROOT}/response`);
  const clientDataJSON = string(inner.clientDataJSON, `${ROOT}/response/clientDataJSON`);
  const clientData = parseClientData(clientDataJSON);
  const attestationObject = string(inner.attestationObject, `${ROOT}/response/attestationObject`);
  checkAttestationObject(attestationObject);
  const transports = parseTransports(inner.transports);
  const json: RegistrationResponseJSON = {
    id,
    rawId: id,
    type: 'public-key',
    response: { clientDataJSON, attestationObject, ...(transports.length > 0 ? { transports } : {}) },
    clientExtensionResults: {},
  };
  return { json, clientData };
}

export function parseAuthenticationResponse(input: unknown): ParsedAuthentication {
  const outer = object(input, ROOT);
  const id = credentialId(outer);
  const inner = object(outer.response, `${ROOT}/response`);
  const clientDataJSON = string(inner.clientDataJSON, `${ROOT}/response/clientDataJSON`);
  const clientData = parseClientData(clientDataJSON);
  const field = `${ROOT}/response/authenticatorData`;
  const authenticatorData = string(inner.authenticatorData, field);
  const authData = base64url(authenticatorData, field);
  if (authData.byteLength < MIN_AUTHENTICATOR_DATA_BYTES) {
    throw invalidInput(field, `must be at least ${MIN_AUTHENTICATOR_DATA_BYTES} bytes`);
  }
  const signature = string(inner.signature, `${ROOT}/response/signature`);
  if (base64url(signature, `${ROOT}/response/signature`).byteLength === 0) {
    throw invalidInput(`${ROOT}/response/signature`, 'must not be empty');
  }
  let userHandle: string | undefined;
  if (inner.userHandle !== undefined && inner.userHandle !== null) {
    userHandle = string(inner.userHandle, `${ROOT}/response/userHandle`);
    if (base64url(userHandle, `${ROOT}/response/userHandle`).byteLength > MAX_USER_HANDLE_BYTES) {
      throw invalidInput(`${ROOT}/response/userHandle`, `must be at most ${MAX_USER_HANDLE_BYTES} bytes`);
    }
  }
  const json: AuthenticationResponseJSON = {
    id,
    rawId: id,
    type: 'public-key',
    response: {
      clientDataJSON,
      authenticatorData,
      signature,
      ...(userHandle === undefined ? {} : { userHandle }),
    },
    clientExtensionResults: {},
  };
  return { json, clientData, counter: Buffer.from(authData).readUInt32BE(33) };
}

/** Strict, canonical, unpadded base64url: the form browsers produce, and only one per byte string. */
export function base64url(value: string, field: string): Uint8Array<ArrayBuffer> {
  if (value.length > MAX_PASSKEY_FIELD_LENGTH) {
    throw invalidInput(field, `must be at most ${MAX_PASSKEY_FIELD_LENGTH} characters`);
  }
  if (!BASE64URL_PATTERN.test(value) || value.length % 4 === 1) {
    throw invalidInput(field, 'must be unpadded base64url');
  }
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.toString('base64url') !== value) throw invalidInput(field, 'must be canonical base64url');
  return Uint8Array.from(bytes);
}

function credentialId(outer: Record<string, unknown>): string {
  const id = string(outer.id, `${ROOT}/id`);
  const bytes = base64url(id, `${ROOT}/id`);
  if (bytes.byteLength === 0 || bytes.byteLength > MAX_CREDENTIAL_ID_BYTES) {
    throw invalidInput(`${ROOT}/id`, `must be 1..${MAX_CREDENTIAL_ID_BYTES} bytes`);
  }
  if (outer.rawId !== id) throw invalidInput(`${ROOT}/rawId`, 'must equal id');
  if (outer.type !== 'public-key') throw invalidInput(`${ROOT}/type`, 'must be "public-key"');
  return id;
}

function parseClientData(clientDataJSON: string): ClientData {
  const field = `${ROOT}/response/clientDataJSON`;
  let parsed: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(base64url(clientDataJSON, field));
    parsed = JSON.parse(text);
  } catch (cause) {
    if (cause instanceof DomainError) throw cause;
    throw invalidInput(field, 'must be base64url of UTF-8 JSON');
  }
  const data = object(parsed, field);
  for (const key of ['type', 'challenge', 'origin'] as const) {
    const value = data[key];
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
      throw invalidInput(`${field}/${key}`, 'must be a non-empty string of at most 2048 characters');
    }
  }
  if (data.crossOrigin !== undefined && typeof data.crossOrigin !== 'boolean') {
    throw invalidInput(`${field}/crossOrigin`, 'must be a boolean');
  }
  return {
    type: data.type as string,
    challenge: data.challenge as string,
    origin: data.origin as string,
    crossOrigin: data.crossOrigin === true,
  };
}

function checkAttestationObject(attestationObject: string): void {
  const field = `${ROOT}/response/attestationObject`;
  const bytes = base64url(attestationObject, field);
  let decoded: unknown;
  try {
    decoded = isoCBOR.decodeFirst(bytes);
  } catch {
    throw invalidInput(field, 'must be base64url of CBOR');
  }
  if (!(decoded instanceof Map)) throw invalidInput(field, 'must be a CBOR map');
  if (typeof decoded.get('fmt') !== 'string') throw invalidInput(`${field}/fmt`, 'must be a string');
  if (!(decoded.get('attStmt') instanceof Map)) throw invalidInput(`${field}/attStmt`, 'must be a map');
  const authData = decoded.get('authData');
  if (!(authData instanceof Uint8Array) || authData.byteLength < MIN_AUTHENTICATOR_DATA_BYTES) {
    throw invalidInput(`${field}/authData`, `must be at least ${MIN_AUTHENTICATOR_DATA_BYTES} bytes`);
  }
}

function parseTransports(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const field = `${ROOT}/response/transports`;
  if (!Array.isArray(value) || value.length > MAX_TRANSPORTS) {
    throw invalidInput(field, `must be an array of at most ${MAX_TRANSPORTS} strings`);
  }
  const transports: string[] = [];
  for (const transport of value) {
    if (typeof transport !== 'string') throw invalidInput(field, 'must hold strings');
    // Unknown transports are dropped rather than refused: browsers add new ones over time.
    if (KNOWN_TRANSPORTS.has(transport) && !transports.includes(transport)) transports.push(transport);
  }
  return transports;
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidInput(field, 'must be an object');
  }
  return value as Record<string, unknown>;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalidInput(field, 'must be a string');
  if (value.length > MAX_PASSKEY_FIELD_LENGTH) {
    throw invalidInput(field, `must be at most ${MAX_PASSKEY_FIELD_LENGTH} characters`);
  }
  return value;
}
