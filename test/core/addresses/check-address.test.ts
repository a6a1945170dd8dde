import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ADDRESS_LENGTH_MAX, checkAddress, normalizeAddress } from '../../../src/core/addresses/index.ts';
import { DomainError } from '../../../src/core/errors.ts';
import { NETWORKS, type Network } from '../../../src/core/networks.ts';

const MAIN_P2WPKH = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
const MAIN_P2PKH = '1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo';
const MAIN_P2SH = '36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm';
const MAIN_P2TR = 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0';
const TEST_P2WSH = 'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7';
const TEST_P2PKH = 'mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ';
const ETH = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function reasonOf(network: Network, input: string): string {
  const check = checkAddress(network, input);
  assert.equal(check.valid, false, `${input} must be refused on ${network}`);
  return check.valid ? '' : check.reason;
}

describe('bitcoin networks are told apart', () => {
  test('a testnet address is refused on mainnet', () => {
    assert.match(reasonOf('bitcoin', TEST_P2WSH), /this is a bitcoin-testnet address, not a bitcoin address/);
    assert.match(reasonOf('bitcoin', TEST_P2PKH), /this is a bitcoin-testnet address, not a bitcoin address/);
  });

  test('a mainnet address is refused on testnet', () => {
    assert.match(
      reasonOf('bitcoin-testnet', MAIN_P2WPKH),
      /this is a bitcoin address, not a bitcoin-testnet/,
    );
    assert.match(reasonOf('bitcoin-testnet', MAIN_P2SH), /this is a bitcoin address, not a bitcoin-testnet/);
  });

  test('a regtest address is refused everywhere, though it decodes', () => {
    for (const network of NETWORKS.filter((n) => n !== 'ethereum')) {
      assert.match(reasonOf(network, 'bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9'), /bitcoin regtest/);
    }
  });
});

describe('bech32 and bech32m (BIP-350)', () => {
  test('a bech32m v0 address is refused', () => {
    assert.match(
      reasonOf('bitcoin', 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh'),
      /witness version 0 must be encoded with bech32, not bech32m/,
    );
  });

  test('a bech32 (not bech32m) taproot address is refused', () => {
    assert.match(
      reasonOf('bitcoin', 'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd'),
      /witness version 1 must be encoded with bech32m, not bech32/,
    );
  });

  test('a future witness version is refused as unsupported, though BIP-350 calls it valid', () => {
    assert.match(
      reasonOf('bitcoin', 'bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs'),
      /^unsupported witness version 2/,
    );
    assert.match(reasonOf('bitcoin', 'BC1SW50QGDZ25J'), /^unsupported witness version 16/);
  });

  test('a taproot address whose key is off the curve is refused (nobody could ever spend from it)', () => {
    const offCurve = 'bc1pve739yap4uxjvfk0jrey69078u0gasm2nwvv483ec6zkzulgw9xqu4w9fd';
    assert.match(reasonOf('bitcoin', offCurve), /not a point on secp256k1/);
    assert.deepEqual(checkAddress('bitcoin', MAIN_P2TR), {
      valid: true,
      normalized: MAIN_P2TR,
      type: 'p2tr',
    });
  });

  test('an upper-case bech32 address is accepted and normalised to lower case', () => {
    assert.deepEqual(checkAddress('bitcoin', MAIN_P2WPKH.toUpperCase()), {
      valid: true,
      normalized: MAIN_P2WPKH,
      type: 'p2wpkh',
    });
  });

  test('a mixed-case bech32 address is refused', () => {
    const mixed = `BC1Q${MAIN_P2WPKH.slice(4)}`;
    assert.match(reasonOf('bitcoin', mixed), /mixes upper and lower case/);
  });

  test('a bech32 address with any one character substituted is refused', () => {
    let mutants = 0;
    for (let index = 3; index < MAIN_P2WPKH.length; index += 1) {
      for (const char of BECH32_CHARSET) {
        if (char === MAIN_P2WPKH[index]) continue;
        const mutant = MAIN_P2WPKH.slice(0, index) + char + MAIN_P2WPKH.slice(index + 1);
        assert.equal(checkAddress('bitcoin', mutant).valid, false, mutant);
        mutants += 1;
      }
    }
    assert.equal(mutants, (MAIN_P2WPKH.length - 3) * 31);
  });

  test('a bech32 address with a "q" inserted before its last character is refused', () => {
    const inserted = `${MAIN_P2TR.slice(0, -1)}q${MAIN_P2TR.slice(-1)}`;
    assert.equal(checkAddress('bitcoin', inserted).valid, false);
  });
});

describe('base58 addresses', () => {
  test('a base58 address is accepted unchanged, with its type', () => {
    assert.deepEqual(checkAddress('bitcoin', MAIN_P2PKH), {
      valid: true,
      normalized: MAIN_P2PKH,
      type: 'p2pkh',
    });
    assert.deepEqual(checkAddress('bitcoin', MAIN_P2SH), {
      valid: true,
      normalized: MAIN_P2SH,
      type: 'p2sh',
    });
  });

  test('a base58 address with one character changed is refused', () => {
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    for (let index = 1; index < MAIN_P2PKH.length; index += 1) {
      const char = alphabet[(alphabet.indexOf(MAIN_P2PKH[index]!) + 1) % alphabet.length]!;
      const mutant = MAIN_P2PKH.slice(0, index) + char + MAIN_P2PKH.slice(index + 1);
      assert.equal(checkAddress('bitcoin', mutant).valid, false, mutant);
    }
  });

  test('a base58 address with a lower-cased letter is refused (base58 is case-sensitive)', () => {
    assert.equal(checkAddress('bitcoin', MAIN_P2PKH.replace('S', 's')).valid, false);
  });

  test('a private key (WIF) pasted as a destination is refused as such', () => {
    assert.match(
      reasonOf('bitcoin', 'L5nJeqKmpHp4P7F8ZYyjwc5a7P4d8EabuGAzfGJk7yC1BJyzNaEd'),
      /private key \(WIF\)/,
    );
    assert.match(
      reasonOf('bitcoin-testnet', 'cV83kKisF3RQSvXbUCm9ox3kaz5JjEUBWcx8tNydfGJcyeUxuH47'),
      /private key/,
    );
  });
});

describe('litecoin', () => {
  // Made from the P2SH and P2PKH hashes above with Litecoin's version bytes (0x32 and 0x30).
  const LTC_P2SH = 'MCwCgYjt3HcMNerfqPqg5jcJm7aCy89KeQ';
  const LTC_P2PKH = 'La6PynTgzichVkcTCQuq8YB7CAv9wZrz5W';
  const LTC_P2WPKH = 'ltc1qw508d6qejxtdg4y5r3zarvary0c5xw7kgmn4n9';

  test('litecoin M, L and ltc1 addresses are accepted', () => {
    assert.deepEqual(checkAddress('litecoin', LTC_P2SH), { valid: true, normalized: LTC_P2SH, type: 'p2sh' });
    assert.deepEqual(checkAddress('litecoin', LTC_P2PKH), {
      valid: true,
      normalized: LTC_P2PKH,
      type: 'p2pkh',
    });
    assert.deepEqual(checkAddress('litecoin', LTC_P2WPKH.toUpperCase()), {
      valid: true,
      normalized: LTC_P2WPKH,
      type: 'p2wpkh',
    });
  });

  test('a legacy litecoin "3..." P2SH address is refused: it cannot be told from a bitcoin one', () => {
    assert.match(reasonOf('litecoin', MAIN_P2SH), /cannot be told apart/);
  });

  test('a bitcoin address is refused on litecoin, and a litecoin address on bitcoin', () => {
    assert.match(reasonOf('litecoin', MAIN_P2PKH), /this is a bitcoin address, not a litecoin address/);
    assert.match(reasonOf('litecoin', MAIN_P2WPKH), /this is a bitcoin address, not a litecoin address/);
    assert.match(reasonOf('bitcoin', LTC_P2SH), /this is a litecoin address, not a bitcoin address/);
    assert.match(reasonOf('bitcoin', LTC_P2WPKH), /this is a litecoin address, not a bitcoin address/);
  });
});

describe('ethereum (EIP-55)', () => {
  test('a mixed-case EIP-55 address with one flipped letter is refused', () => {
    const flipped = ETH.replace('aA', 'AA');
    assert.match(reasonOf('ethereum', flipped), /EIP-55 checksum does not match/);
  });

  test('an all-lower or all-upper address is accepted and normalised to its checksum form', () => {
    const digits = ETH.slice(2);
    for (const spelling of [`0x${digits.toLowerCase()}`, `0x${digits.toUpperCase()}`]) {
      assert.deepEqual(checkAddress('ethereum', spelling), { valid: true, normalized: ETH, type: 'account' });
    }
  });

  test('a "0X" prefix, a missing prefix, a wrong length or a non-hex digit is refused', () => {
    assert.match(reasonOf('ethereum', `0X${ETH.slice(2)}`), /must start with "0x"/);
    assert.match(reasonOf('ethereum', ETH.slice(2)), /must start with "0x"/);
    assert.match(reasonOf('ethereum', `${ETH}0`), /exactly 40 hexadecimal digits/);
    assert.match(reasonOf('ethereum', ETH.slice(0, -1)), /exactly 40 hexadecimal digits/);
    assert.match(reasonOf('ethereum', `${ETH.slice(0, -1)}g`), /exactly 40 hexadecimal digits/);
  });

  test('the zero address is refused: whatever is sent there is burned', () => {
    assert.match(reasonOf('ethereum', `0x${'0'.repeat(40)}`), /zero address/);
  });

  test('an ethereum address is refused on bitcoin and a bitcoin address on ethereum', () => {
    assert.match(reasonOf('bitcoin', ETH), /this is an ethereum address, not a bitcoin address/);
    assert.match(reasonOf('ethereum', MAIN_P2WPKH), /must start with "0x"/);
  });
});

describe('input is bounded before any parser sees it', () => {
  test('an over-long input is refused by its length, on every network', () => {
    for (const network of NETWORKS) {
      assert.match(reasonOf(network, 'q'.repeat(ADDRESS_LENGTH_MAX + 1)), /characters long/);
      assert.match(reasonOf(network, `${MAIN_P2WPKH}${'q'.repeat(1_000_000)}`), /characters long/);
    }
  });

  test('surrounding or embedded whitespace is refused, not trimmed', () => {
    for (const input of [
      ` ${MAIN_P2WPKH}`,
      `${MAIN_P2WPKH}\n`,
      `${ETH}\t`,
      `${MAIN_P2PKH.slice(0, 5)} ${MAIN_P2PKH.slice(5)}`,
    ]) {
      for (const network of NETWORKS)
        assert.match(reasonOf(network, input), /whitespace or a control character/);
    }
  });

  test('a look-alike or invisible non-ASCII character is refused', () => {
    const cyrillicA = ETH.replace('a', '\u0430');
    assert.match(reasonOf('ethereum', cyrillicA), /non-ASCII character at position 3/);
    assert.match(reasonOf('bitcoin', `${MAIN_P2WPKH}\u200b`), /non-ASCII/);
    assert.match(reasonOf('bitcoin', `\ufeff${MAIN_P2PKH}`), /non-ASCII/);
  });

  test('an empty input is refused', () => {
    for (const network of NETWORKS) assert.equal(reasonOf(network, ''), 'address is empty');
  });

  test('no input whatever makes the checker throw, and whatever it accepts it accepts in normal form', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NETWORKS),
        fc.oneof(fc.string({ maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 })),
        (network, input) => {
          const check = checkAddress(network, input);
          if (check.valid) assert.deepEqual(checkAddress(network, check.normalized), check);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('normalizeAddress, for services', () => {
  test('a valid address comes back normalised with its type', () => {
    assert.deepEqual(normalizeAddress('bitcoin', MAIN_P2WPKH.toUpperCase()), {
      normalized: MAIN_P2WPKH,
      type: 'p2wpkh',
    });
  });

  test('an invalid address throws INVALID_INPUT on field "address" with the reason', () => {
    assert.throws(
      () => normalizeAddress('bitcoin', TEST_P2WSH),
      (error: unknown) =>
        error instanceof DomainError &&
        error.code === 'INVALID_INPUT' &&
        error.field === 'address' &&
        /bitcoin-testnet/.test(error.message),
    );
  });
});
