// Every vendored vector goes through the real `drawbridge address check` command (in --stdin batches,
// one process per network), and every scriptPubKey the vectors give is compared with the decoder's.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { bech32, bech32m } from 'bech32';
import bs58check from 'bs58check';
import { checkAddress, decodeUtxoAddress, type UtxoNetwork } from '../../../src/core/addresses/index.ts';
import type { Network } from '../../../src/core/networks.ts';
import {
  bip173,
  bip350,
  eip55,
  isCurveX,
  type KeyIoChain,
  keyIoInvalid,
  keyIoValid,
  scriptType,
} from './address-vectors.ts';
import { type CheckLine, checkMany } from './run-address-check.ts';

const UTXO_NETWORKS: readonly UtxoNetwork[] = ['bitcoin', 'bitcoin-testnet', 'litecoin'];
const ALL_NETWORKS: readonly Network[] = [...UTXO_NETWORKS, 'ethereum'];

type Expectation = { valid: true; normalized: string; type: string } | { valid: false; reason: RegExp };

interface Case {
  readonly network: Network;
  readonly address: string;
  readonly expect: Expectation;
}

const cases: Case[] = [];
const accept = (network: Network, address: string, normalized: string, type: string): void => {
  cases.push({ network, address, expect: { valid: true, normalized, type } });
};
const refuse = (network: Network, address: string, reason: RegExp): void => {
  cases.push({ network, address, expect: { valid: false, reason } });
};

function segwitNetwork(address: string): UtxoNetwork {
  const lower = address.toLowerCase();
  if (lower.startsWith('bc1')) return 'bitcoin';
  if (lower.startsWith('tb1')) return 'bitcoin-testnet';
  throw new Error(`vector ${address} is for no network of ours`);
}

function keyIoNetwork(chain: KeyIoChain): UtxoNetwork | undefined {
  if (chain === 'main') return 'bitcoin';
  // testnet4 and signet share testnet's prefixes; regtest's base58 prefixes are testnet's too,
  // so only its "bcrt" addresses can be told apart (and are refused below).
  if (chain === 'testnet4' || chain === 'signet') return 'bitcoin-testnet';
  return undefined;
}

/** What we answer for a well-formed address of `network` given its scriptPubKey. */
function expectOwn(network: UtxoNetwork, address: string, scriptHex: string, isBech32: boolean): void {
  const type = scriptType(scriptHex);
  if (type === 'witness_unknown') refuse(network, address, /^unsupported witness version \d+/);
  else if (type === 'p2tr' && !isCurveX(scriptHex.slice(4)))
    refuse(network, address, /not a point on secp256k1/);
  else accept(network, address, isBech32 ? address.toLowerCase() : address, type);
}

function expectOnlyOn(own: UtxoNetwork, address: string): void {
  for (const other of UTXO_NETWORKS) {
    if (other !== own) refuse(other, address, new RegExp(`not a ${other} address|cannot be told apart`));
  }
  refuse('ethereum', address, /must start with "0x"/);
}

// BIP-350: the current rules. Valid v0 and taproot addresses pass; valid future versions are refused.
for (const [address, scriptHex] of bip350.valid) {
  expectOwn(segwitNetwork(address), address, scriptHex, true);
  expectOnlyOn(segwitNetwork(address), address);
}

const BIP350_REASONS: readonly (readonly [RegExp, RegExp])[] = [
  [/^Invalid human-readable part$/, /prefix "tc"/],
  [/Bech32 instead of Bech32m/, /must be encoded with bech32m, not bech32 /],
  [/Bech32m instead of Bech32/, /must be encoded with bech32, not bech32m /],
  [/^Invalid character in checksum$/, /checksum does not match/],
  [/^Invalid witness version$/, /witness version 17 does not exist/],
  [/^Invalid program length \(1 byte\)$/, /witness program is 1 bytes/],
  [/^Invalid program length \(41 bytes\)$/, /witness program is 41 bytes/],
  [/for witness version 0/, /witness version 0 program is 16 bytes/],
  [/^Mixed case$/, /mixes upper and lower case/],
  [/padding/, /invalid padding/],
  [/^Empty data section$/, /no witness version and no program/],
];

function reasonFor(table: readonly (readonly [RegExp, RegExp])[], bipReason: string): RegExp {
  const row = table.find(([bip]) => bip.test(bipReason));
  if (row === undefined) throw new Error(`no expected reason for "${bipReason}"`);
  return row[1];
}

for (const [address, bipReason] of bip350.invalid) {
  for (const network of UTXO_NETWORKS) refuse(network, address, reasonFor(BIP350_REASONS, bipReason));
}

// BIP-173: v0 vectors still hold; its v1+ "valid" vectors use bech32 and BIP-350 made them invalid.
for (const [address, scriptHex] of bip173.valid) {
  const network = segwitNetwork(address);
  if (scriptHex.startsWith('00')) accept(network, address, address.toLowerCase(), scriptType(scriptHex));
  else refuse(network, address, /must be encoded with bech32m, not bech32 \(BIP-350\)/);
}

const BIP173_REASONS: readonly (readonly [RegExp, RegExp])[] = [
  [/^Invalid human-readable part$/, /prefix "tc"/],
  [/^Invalid checksum$/, /checksum does not match/],
  [/^Invalid witness version$/, /witness version 17 does not exist/],
  // Both are v3+/v1 vectors written in bech32, which BIP-350 refuses before looking further.
  [/^Invalid program length$/, /must be encoded with bech32m, not bech32 /],
  [/^zero padding of more than 4 bits$/, /must be encoded with bech32m, not bech32 /],
  [/for witness version 0/, /witness version 0 program is 16 bytes/],
  [/^Mixed case$/, /mixes upper and lower case/],
  [/^Non-zero padding/, /invalid padding/],
];

for (const [address, bipReason] of bip173.invalid) {
  for (const network of UTXO_NETWORKS) refuse(network, address, reasonFor(BIP173_REASONS, bipReason));
}

// Bitcoin Core's key_io vectors.
const offCurveTaproot: string[] = [];
for (const [address, scriptHex, meta] of keyIoValid) {
  if (meta.isPrivkey) {
    for (const network of UTXO_NETWORKS) refuse(network, address, /private key \(WIF\)/);
    continue;
  }
  const network = keyIoNetwork(meta.chain);
  if (network === undefined) {
    if (address.startsWith('bcrt1')) for (const n of UTXO_NETWORKS) refuse(n, address, /bitcoin regtest/);
    continue;
  }
  const isBech32 = meta.tryCaseFlip === true;
  if (scriptType(scriptHex) === 'p2tr' && !isCurveX(scriptHex.slice(4))) offCurveTaproot.push(address);
  expectOwn(network, address, scriptHex, isBech32);
  if (isBech32) expectOwn(network, address.toUpperCase(), scriptHex, true);
  expectOnlyOn(network, address);
}

for (const address of keyIoInvalid) {
  for (const network of ALL_NETWORKS) refuse(network, address, /./);
}

// EIP-55. Every vector is its own checksummed form, even the all-caps and all-lower ones.
const eip55Addresses = [...eip55.allCaps, ...eip55.allLower, ...eip55.normal];
for (const address of eip55Addresses) {
  accept('ethereum', address, address, 'account');
  for (const network of UTXO_NETWORKS) refuse(network, address, /this is an ethereum address/);
}
// Written in one case only, an address carries no checksum; EIP-55 accepts it as it is.
const eip55OneCase: string[] = [];
for (const address of eip55Addresses) {
  const digits = address.slice(2);
  for (const spelling of [`0x${digits.toLowerCase()}`, `0x${digits.toUpperCase()}`]) {
    if (spelling === address) continue;
    eip55OneCase.push(spelling);
    accept('ethereum', spelling, address, 'account');
  }
}

const flippedEip55: string[] = [];
for (const address of eip55.normal) {
  for (let index = 2; index < address.length; index += 1) {
    const char = address[index]!;
    const flipped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
    if (flipped === char) continue; // a digit has no case
    const mutant = address.slice(0, index) + flipped + address.slice(index + 1);
    const digits = mutant.slice(2);
    if (digits === digits.toLowerCase() || digits === digits.toUpperCase()) continue; // no checksum left
    flippedEip55.push(mutant);
    refuse('ethereum', mutant, /EIP-55 checksum does not match/);
  }
}

// Litecoin: the key_io mainnet payloads written with Litecoin's prefixes by the encoding libraries.
const litecoinAddresses: { address: string; scriptHex: string }[] = [];
for (const [, scriptHex, meta] of keyIoValid) {
  if (meta.isPrivkey || meta.chain !== 'main') continue;
  const type = scriptType(scriptHex);
  const hashHex = type === 'p2pkh' ? scriptHex.slice(6, 46) : scriptHex.slice(4, 44);
  let ltc: string;
  if (type === 'p2pkh' || type === 'p2sh') {
    const version = type === 'p2pkh' ? 0x30 : 0x32;
    ltc = bs58check.encode(Uint8Array.from([version, ...Buffer.from(hashHex, 'hex')]));
  } else if (type === 'p2wpkh' || type === 'p2wsh' || type === 'p2tr') {
    const program = Buffer.from(scriptHex.slice(4), 'hex');
    const words = [type === 'p2tr' ? 1 : 0, ...bech32.toWords(program)];
    ltc = type === 'p2tr' ? bech32m.encode('ltc', words) : bech32.encode('ltc', words);
  } else continue;
  litecoinAddresses.push({ address: ltc, scriptHex });
  expectOwn('litecoin', ltc, scriptHex, !/^[LM]/.test(ltc));
  expectOnlyOn('litecoin', ltc);
}

const answers = new Map<string, CheckLine>();
const key = (network: Network, address: string): string => `${network}\t${address}`;

before(async () => {
  await Promise.all(
    ALL_NETWORKS.map(async (network) => {
      const addresses = [...new Set(cases.filter((c) => c.network === network).map((c) => c.address))];
      const lines = await checkMany(network, addresses);
      addresses.forEach((address, index) => {
        answers.set(key(network, address), lines[index]!);
      });
    }),
  );
});

function assertCases(select: (c: Case) => boolean, atLeast: number): void {
  const chosen = cases.filter(select);
  assert.ok(chosen.length >= atLeast, `expected at least ${atLeast} vectors, found ${chosen.length}`);
  for (const { network, address, expect } of chosen) {
    const answer = answers.get(key(network, address));
    const label = `${address} on ${network}`;
    assert.ok(answer !== undefined, `no answer for ${label}`);
    if (expect.valid) {
      assert.deepEqual(answer, { valid: true, normalized: expect.normalized, type: expect.type }, label);
    } else {
      assert.equal(answer.valid, false, `${label} must be refused`);
      if (!answer.valid) assert.match(answer.reason, expect.reason, label);
    }
  }
}

const inList =
  (list: readonly (readonly [string, ...unknown[]])[] | readonly string[]) =>
  (c: Case): boolean =>
    list.some((entry) => (typeof entry === 'string' ? entry : entry[0]) === c.address);

describe('BIP-350 segwit vectors through `drawbridge address check`', () => {
  test('valid v0 and taproot addresses are accepted on their network, lower-cased; future versions are refused as unsupported', () => {
    assertCases(
      (c) => inList(bip350.valid)(c) && c.network === segwitNetwork(c.address),
      bip350.valid.length,
    );
  });

  test('a valid BIP-350 address of a future witness version is refused with "unsupported witness version"', () => {
    const future = bip350.valid.filter(([, hex]) => scriptType(hex) === 'witness_unknown');
    assert.equal(future.length, 3);
    assertCases(
      (c) => !c.expect.valid && /unsupported/.test(String(c.expect.reason)) && inList(future)(c),
      3,
    );
  });

  test('a BIP-350 address is refused on the other bitcoin network, on litecoin and on ethereum', () => {
    assertCases(
      (c) => inList(bip350.valid)(c) && c.network !== segwitNetwork(c.address),
      bip350.valid.length * 3,
    );
  });

  test('every BIP-350 invalid address is refused with the reason the BIP gives', () => {
    assertCases(inList(bip350.invalid), bip350.invalid.length * 3);
  });

  test('each valid BIP-350 address decodes to the scriptPubKey the BIP gives', () => {
    for (const [address, scriptHex] of bip350.valid) {
      const decoded = decodeUtxoAddress(segwitNetwork(address), address);
      assert.ok(decoded.ok, address);
      assert.equal(Buffer.from(decoded.scriptPubKey).toString('hex'), scriptHex, address);
    }
  });
});

describe('BIP-173 segwit vectors through `drawbridge address check`', () => {
  test('a v0 BIP-173 address is accepted; a bech32 (not bech32m) v1+ one is refused per BIP-350', () => {
    assertCases(inList(bip173.valid), bip173.valid.length);
  });

  test('every BIP-173 invalid address is refused', () => {
    assertCases(inList(bip173.invalid), bip173.invalid.length * 3);
  });

  test('each v0 BIP-173 address decodes to the scriptPubKey the BIP gives', () => {
    for (const [address, scriptHex] of bip173.valid.filter(([, hex]) => hex.startsWith('00'))) {
      const decoded = decodeUtxoAddress(segwitNetwork(address), address);
      assert.ok(decoded.ok, address);
      assert.equal(Buffer.from(decoded.scriptPubKey).toString('hex'), scriptHex, address);
    }
  });
});

describe("Bitcoin Core's key_io vectors through `drawbridge address check`", () => {
  const addresses = keyIoValid.filter(
    ([, , meta]) => !meta.isPrivkey && keyIoNetwork(meta.chain) !== undefined,
  );

  test('every main, testnet4 and signet address is answered as its scriptPubKey says, in either case', () => {
    assertCases(
      (c) => c.network !== 'ethereum' && addresses.some(([a]) => a.toLowerCase() === c.address.toLowerCase()),
      addresses.length * 3,
    );
  });

  test('each main, testnet4 and signet address decodes to the scriptPubKey Bitcoin Core gives', () => {
    for (const [address, scriptHex, meta] of addresses) {
      const network = keyIoNetwork(meta.chain)!;
      const decoded = decodeUtxoAddress(network, address);
      assert.ok(decoded.ok, address);
      assert.equal(Buffer.from(decoded.scriptPubKey).toString('hex'), scriptHex, address);
    }
  });

  test('a taproot address whose key is not on the curve is refused, though Bitcoin Core calls it valid', () => {
    assert.equal(offCurveTaproot.length, 3, 'the vectors hold three off-curve taproot keys');
    assertCases((c) => offCurveTaproot.includes(c.address.toLowerCase()), 3);
  });

  test('a private key (WIF) pasted as a destination is refused on every network', () => {
    const wifs = keyIoValid.filter(([, , meta]) => meta.isPrivkey);
    assertCases((c) => wifs.some(([a]) => a === c.address), wifs.length * 3);
  });

  test('a regtest address is refused on every network', () => {
    assertCases((c) => c.address.startsWith('bcrt1'), 4 * 3);
  });

  test('every key_io invalid string is refused on every network, and does not even decode', () => {
    assertCases(inList(keyIoInvalid), keyIoInvalid.length * 4);
    for (const address of keyIoInvalid) {
      for (const network of UTXO_NETWORKS)
        assert.equal(decodeUtxoAddress(network, address).ok, false, address);
    }
  });
});

describe('EIP-55 vectors through `drawbridge address check`', () => {
  test('a checksummed EIP-55 address is accepted as written', () => {
    assertCases((c) => c.network === 'ethereum' && inList(eip55Addresses)(c), eip55Addresses.length);
  });

  test('an address written all in one case carries no checksum, is accepted and comes back checksummed', () => {
    assert.ok(eip55OneCase.length >= eip55Addresses.length);
    assertCases((c) => eip55OneCase.includes(c.address), eip55OneCase.length);
  });

  test('a mixed-case EIP-55 address with one flipped letter is refused', () => {
    assert.ok(flippedEip55.length > 50);
    assertCases(inList(flippedEip55), flippedEip55.length);
  });

  test('an ethereum address is refused on the bitcoin and litecoin networks', () => {
    assertCases((c) => c.network !== 'ethereum' && inList(eip55Addresses)(c), eip55Addresses.length * 3);
  });
});

describe('Litecoin addresses through `drawbridge address check`', () => {
  test('a litecoin L/M/ltc1 address is accepted and pays the same script as the bitcoin one it was made from', () => {
    // 3 P2PKH, 3 P2SH, 2 P2WPKH, 2 P2WSH and 2 taproot (one of them off the curve) in key_io main.
    assert.equal(litecoinAddresses.length, 12);
    assertCases(
      (c) => c.network === 'litecoin' && litecoinAddresses.some((l) => l.address === c.address),
      12,
    );
    for (const { address, scriptHex } of litecoinAddresses) {
      const decoded = decodeUtxoAddress('litecoin', address);
      assert.ok(decoded.ok, address);
      assert.equal(Buffer.from(decoded.scriptPubKey).toString('hex'), scriptHex, address);
    }
  });

  test('a litecoin address is refused on bitcoin, and a bitcoin "3..." address is refused on litecoin', () => {
    assertCases(
      (c) => c.network !== 'litecoin' && litecoinAddresses.some((l) => l.address === c.address),
      36,
    );
    assertCases((c) => c.network === 'litecoin' && c.address.startsWith('3'), 4);
  });
});

describe('the answers are canonical', () => {
  test('checking a normalised address again gives the same answer', () => {
    let checked = 0;
    for (const [id, answer] of answers) {
      if (!answer.valid) continue;
      const network = id.split('\t')[0] as Network;
      assert.deepEqual(checkAddress(network, answer.normalized), answer, id);
      checked += 1;
    }
    assert.ok(checked > 40, `only ${checked} valid answers`);
  });
});
