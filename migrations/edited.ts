/**
 * `text` with each `[from, to]` replaced once; throws when one is not found, so a redefinition made
 * from an earlier migration's definition cannot silently drift from it. For migrations that change a
 * function an earlier one defined: the earlier migration exports its text, the later one edits it.
 */
export function edited(text: string, edits: ReadonlyArray<readonly [string, string]>): string {
  return edits.reduce((t, [from, to]) => {
    if (!t.includes(from)) throw new Error(`migration: "${from}" not found in the definition it edits`);
    return t.replace(from, () => to); // a function, so `$$` in `to` stays as written
  }, text);
}
