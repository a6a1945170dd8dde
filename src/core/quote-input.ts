/**
 * Caller input inside a message a person reads (an error's detail, a log line, a terminal) must not be able to
 * change how the text around it displays: a U+202E RIGHT-TO-LEFT OVERRIDE in an id turns "withdrawal abc does not
 * exist" into something else on screen, a CR/LF forges a line, an ESC or a C1 CSI drives a terminal. Such
 * characters are shown as `\u{...}` escapes instead, so what is displayed is what was sent, visibly.
 */

/** Whether this code point changes how the text around it displays or is read, or is invisible. */
function isUnsafeCodePoint(cp: number): boolean {
  return (
    cp <= 0x1f || // C0 controls: NUL, TAB, LF, CR, ESC...
    (cp >= 0x7f && cp <= 0x9f) || // DEL and the C1 controls (0x9B is a CSI on some terminals)
    cp === 0x00ad || // soft hyphen
    cp === 0x061c || // ARABIC LETTER MARK
    cp === 0x180e || // MONGOLIAN VOWEL SEPARATOR
    (cp >= 0x200b && cp <= 0x200f) || // zero-width space/non-joiner/joiner, LRM, RLM
    (cp >= 0x2028 && cp <= 0x202e) || // LINE/PARAGRAPH SEPARATOR, LRE RLE PDF LRO RLO
    (cp >= 0x2060 && cp <= 0x206f) || // word joiner, invisible operators, LRI RLI FSI PDI, deprecated formats
    cp === 0xfeff || // BOM / zero-width no-break space
    (cp >= 0xfff9 && cp <= 0xfffb) || // interlinear annotation controls
    (cp >= 0xd800 && cp <= 0xdfff) // a lone surrogate (String iteration yields them unpaired)
  );
}

function escaped(cp: number): string {
  return `\\u{${cp.toString(16).toUpperCase().padStart(4, '0')}}`;
}

/**
 * The text with every control, bidi and invisible character replaced by a visible `\u{XXXX}` escape. For whole
 * messages that may already contain caller input (the HTTP error mapping applies it to every answer).
 */
export function neutraliseText(text: string): string {
  let out = '';
  let changed = false;
  for (const char of text) {
    const cp = char.codePointAt(0) as number;
    if (isUnsafeCodePoint(cp)) {
      out += escaped(cp);
      changed = true;
    } else {
      out += char;
    }
  }
  return changed ? out : text;
}

/** At most this many characters of a caller's input are quoted; the rest is cut with an ellipsis. */
export const QUOTE_MAX_CHARS = 64;

/**
 * Caller input quoted for a message: cut to `maxChars` characters, neutralised (see neutraliseText) and put in
 * double quotes, with `"` and `\` escaped so the quote cannot be closed early. The only way input should appear
 * inside a message.
 */
export function quoteInput(value: unknown, maxChars = QUOTE_MAX_CHARS): string {
  const text = typeof value === 'string' ? value : String(value);
  const chars = Array.from(text);
  const cut = chars.length > maxChars ? `${chars.slice(0, maxChars).join('')}\u2026` : text;
  return `"${neutraliseText(cut.replaceAll('\\', '\\\\').replaceAll('"', '\\"'))}"`;
}
