/**
 * Checks made before any decoder sees the input. No address on our networks is longer than a
 * BIP-173 string (90 characters), and none contains whitespace or anything outside printable
 * ASCII; refusing those up front keeps look-alike characters (a Cyrillic "а", a zero-width space)
 * and pasted surroundings from ever reaching a parser that might be lenient about them.
 */
export const ADDRESS_LENGTH_MAX = 90;

const PRINTABLE_ASCII_FIRST = 0x21;
const PRINTABLE_ASCII_LAST = 0x7e;
const ASCII_LAST = 0x7f;

/** The reason the input cannot be an address at all, or undefined when decoding may go on. */
export function refuseOutOfBoundsInput(input: string): string | undefined {
  if (input.length === 0) return 'address is empty';
  if (input.length > ADDRESS_LENGTH_MAX) {
    return `address is ${input.length} characters long; no address is longer than ${ADDRESS_LENGTH_MAX}`;
  }
  for (let index = 0; index < input.length; index += 1) {
    const code = input.charCodeAt(index);
    if (code > ASCII_LAST) return `address contains a non-ASCII character at position ${index}`;
    if (code < PRINTABLE_ASCII_FIRST || code > PRINTABLE_ASCII_LAST) {
      return `address contains whitespace or a control character at position ${index}`;
    }
  }
  return undefined;
}
