import ecc from '@bitcoinerlab/secp256k1';
import { opcodes, payments, script } from 'bitcoinjs-lib';
import { type AddressCheck, invalidAddress, validAddress } from './address-check.ts';
import { decodeBase58Check } from './base58-address.ts';
import { decodeSegwitAddress, isWrittenAsBech32 } from './segwit-address.ts';
import {
  FOREIGN_BECH32_HRPS,
  LITECOIN_LEGACY_SCRIPT_HASH_VERSION,
  UTXO_CHAINS,
  type UtxoNetwork,
  utxoChainByHrp,
  utxoChainByVersion,
  WIF_VERSIONS,
} from './utxo-chains.ts';

/**
 * Reading an address of a UTXO chain in two steps: decoding says what the string encodes and the
 * output script it pays to; the policy below says whether we will pay to it.
 */
export type UtxoAddressKind = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr' | 'witness_unknown';

export interface DecodedUtxoAddress {
  readonly kind: UtxoAddressKind;
  readonly normalized: string;
  readonly scriptPubKey: Uint8Array;
  /** Set for native segwit addresses only. */
  readonly witnessVersion: number | undefined;
}

export type UtxoDecoding =
  | ({ readonly ok: true } & DecodedUtxoAddress)
  | { readonly ok: false; readonly reason: string };

const HASH160_BYTES = 20;
const TAPROOT_PROGRAM_BYTES = 32;
const ETHEREUM_SHAPE = /^0x[0-9a-f]{40}$/i;
const KNOWN_HRPS: readonly string[] = [
  ...Object.values(UTXO_CHAINS).map((chain) => chain.bech32Hrp),
  ...Object.keys(FOREIGN_BECH32_HRPS),
];

function refuse(reason: string): UtxoDecoding {
  return { ok: false, reason };
}

export function decodeUtxoAddress(network: UtxoNetwork, input: string): UtxoDecoding {
  if (ETHEREUM_SHAPE.test(input)) return refuse(`this is an ethereum address, not a ${network} address`);
  // Base58 first: its 32-bit checksum settles it, whereas a bech32-looking prefix ("LTC1...") can
  // also begin a valid Litecoin base58 address.
  const base58 = decodeBase58Check(input);
  if (base58.ok) return decodeBase58Body(network, input, base58.version, base58.body);
  if (isWrittenAsBech32(input, KNOWN_HRPS)) return decodeSegwit(network, input);
  return refuse(base58.reason);
}

function decodeBase58Body(
  network: UtxoNetwork,
  input: string,
  version: number,
  body: Uint8Array,
): UtxoDecoding {
  if (body.length !== HASH160_BYTES) {
    if (WIF_VERSIONS.has(version)) return refuse('this is a private key (WIF), not an address');
    return refuse(`base58 address carries ${body.length} bytes; an address carries ${HASH160_BYTES}`);
  }
  const chain = UTXO_CHAINS[network];
  if (version === chain.pubKeyHashVersion) {
    return decoded('p2pkh', input, payments.p2pkh({ hash: body }).output, undefined);
  }
  if (version === chain.scriptHashVersion) {
    return decoded('p2sh', input, payments.p2sh({ hash: body }).output, undefined);
  }
  if (network === 'litecoin' && version === LITECOIN_LEGACY_SCRIPT_HASH_VERSION) {
    return refuse(
      'version 0x05 ("3...") is a bitcoin P2SH or a legacy litecoin P2SH address, which cannot be told apart; ask for the litecoin "M..." form',
    );
  }
  const owner = utxoChainByVersion(version);
  if (owner !== undefined) return refuse(`this is a ${owner.network} address, not a ${network} address`);
  return refuse(`base58 version byte 0x${version.toString(16).padStart(2, '0')} is not a ${network} address`);
}

function decodeSegwit(network: UtxoNetwork, input: string): UtxoDecoding {
  const segwit = decodeSegwitAddress(input);
  if (!segwit.ok) return segwit;
  const chain = UTXO_CHAINS[network];
  if (segwit.hrp !== chain.bech32Hrp) {
    const owner = utxoChainByHrp(segwit.hrp)?.network ?? FOREIGN_BECH32_HRPS[segwit.hrp];
    if (owner !== undefined) return refuse(`this is a ${owner} address, not a ${network} address`);
    return refuse(`address prefix "${segwit.hrp}" is not ${network}'s "${chain.bech32Hrp}"`);
  }
  const { witnessVersion, program } = segwit;
  // OP_0 for version 0, OP_1..OP_16 for versions 1..16 (BIP-141).
  const versionOpcode = witnessVersion === 0 ? opcodes.OP_0 : opcodes.OP_1 + witnessVersion - 1;
  const scriptPubKey = script.compile([versionOpcode, program]);
  return decoded(
    witnessKind(witnessVersion, program.length),
    segwit.normalized,
    scriptPubKey,
    witnessVersion,
  );
}

function witnessKind(witnessVersion: number, programBytes: number): UtxoAddressKind {
  if (witnessVersion === 0) return programBytes === HASH160_BYTES ? 'p2wpkh' : 'p2wsh';
  if (witnessVersion === 1 && programBytes === TAPROOT_PROGRAM_BYTES) return 'p2tr';
  return 'witness_unknown';
}

function decoded(
  kind: UtxoAddressKind,
  normalized: string,
  scriptPubKey: Uint8Array | undefined,
  witnessVersion: number | undefined,
): UtxoDecoding {
  if (scriptPubKey === undefined) throw new Error(`assertion failed: no output script for a ${kind} address`);
  return { ok: true, kind, normalized, scriptPubKey, witnessVersion };
}

/**
 * What we pay to. Witness versions other than 0 and 1 (and version 1 at any length but 32) are
 * valid BIP-350 addresses, but no soft fork defines them: anything sent there today can be taken
 * by anyone or is lost, so a withdrawal system refuses them. A taproot key that is not a point on
 * the curve can never sign nor commit to scripts, so funds sent to it are burned.
 */
export function checkUtxoAddress(network: UtxoNetwork, input: string): AddressCheck {
  const address = decodeUtxoAddress(network, input);
  if (!address.ok) return invalidAddress(address.reason);
  if (address.kind === 'witness_unknown') {
    const programBytes = address.scriptPubKey.length - 2;
    return invalidAddress(
      `unsupported witness version ${address.witnessVersion} (${programBytes}-byte program): no wallet can spend it yet`,
    );
  }
  if (address.kind === 'p2tr' && !ecc.isXOnlyPoint(address.scriptPubKey.subarray(2))) {
    return invalidAddress(
      'taproot output key is not a point on secp256k1: funds sent there could never be spent',
    );
  }
  return validAddress(address.normalized, address.kind);
}
