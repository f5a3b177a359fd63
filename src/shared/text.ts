/**
 * What text people type into the back office may hold. Control characters (an ANSI escape in a plan's
 * name, a code no customer can type) are refused where the text is given, so nothing stored or shown
 * later carries them.
 */

/** One line of text: no control characters, and not blank. */
export const ONE_LINE = /^(?!\s*$)[^\p{Cc}]*$/u;

/** Text that may span lines: no control characters but line breaks and tabs. */
export const MULTI_LINE = /^(?:[^\p{Cc}]|[\t\n\r])*$/u;

/** What an input refused by {@link ONE_LINE} is told. */
export const ONE_LINE_MESSAGE = 'must be one line of text without control characters, not blank';

/** What an input refused by {@link MULTI_LINE} is told. */
export const MULTI_LINE_MESSAGE = 'must be text without control characters (line breaks and tabs are fine)';
