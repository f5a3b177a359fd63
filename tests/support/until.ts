import { inspect } from 'node:util';

/** What a check may answer: anything falsy means "not yet". */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** The longest {@link until} waits unless told otherwise: below Jest's 60 s, so its message is the one shown. */
export const UNTIL_DEFAULT_TIMEOUT_MS = 20_000;

/**
 * The one way tests wait for something asynchronous: asks `check` every `everyMs` until it answers a
 * truthy value, and returns that value. A check that throws counts as "not yet" (a server still
 * starting refuses connections) and is asked again. After `timeoutMs` it throws an error naming
 * `what` it waited for, with the last value and the last error seen, so a failure says what was
 * missing instead of leaving only Jest's test timeout. A check still running at the deadline is not
 * waited for.
 *
 * Never use a fixed sleep to let something happen: wait for it with this. To show that nothing more
 * arrives, cause a later event that must come after it, wait for that, then assert on what came before.
 */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = UNTIL_DEFAULT_TIMEOUT_MS, everyMs = 100): Promise<Truthy<T>> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let checks = 0;
  let last: { value?: unknown; error?: unknown } = {};
  for (;;) {
    checks++;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.resolve()
        .then(check)
        .then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
      new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), Math.max(0, deadline - Date.now())))),
    ]);
    clearTimeout(timer);
    if (outcome === 'running') throw timedOut(what, Date.now() - started, checks, last, true);
    if (!('error' in outcome) && outcome.value) return outcome.value as Truthy<T>;
    last = outcome;
    const left = deadline - Date.now();
    if (left <= 0) throw timedOut(what, Date.now() - started, checks, last, false);
    await new Promise((resolve) => setTimeout(resolve, Math.min(everyMs, left)));
  }
}

function timedOut(what: string, ms: number, checks: number, last: { value?: unknown; error?: unknown }, running: boolean): Error {
  const show = (v: unknown) => {
    const text = inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 400 });
    return text.length > 1_000 ? `${text.slice(0, 1_000)}…` : text;
  };
  const seen =
    'error' in last
      ? `last error: ${last.error instanceof Error ? `${last.error.name}: ${last.error.message}` : show(last.error)}`
      : 'value' in last
        ? `last value: ${show(last.value)}`
        : 'no answer yet';
  const tail = running ? `; the last check was still running (${seen})` : `; ${seen}`;
  return new Error(`timed out after ${ms} ms (${checks} checks) waiting for ${what}${tail}`);
}
