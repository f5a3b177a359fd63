import { until } from './until';

/** The error `p` rejects with (the test fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${String(v)}`);
    },
    (e: Error) => e,
  );
}

describe('until', () => {
  test('returns the first truthy answer, asking again after falsy answers and errors', async () => {
    const answers: Array<() => unknown> = [
      () => false,
      () => {
        throw new Error('not listening yet');
      },
      () => null,
      () => ({ id: 'found' }),
    ];
    let asked = 0;
    const got = await until('the fourth answer', async () => answers[asked++](), 5_000, 1);
    expect(got).toEqual({ id: 'found' });
    expect(asked).toBe(4);
  });

  test('on timeout it names what it waited for and the last value seen', async () => {
    const mails: string[] = [];
    const e = await rejection(until('three mails', () => mails.length >= 3, 50, 5));
    expect(e.message).toMatch(/^timed out after \d+ ms \(\d+ checks\) waiting for three mails; last value: false$/);

    const counted = await rejection(until('a mail', () => mails.length, 30, 5));
    expect(counted.message).toMatch(/waiting for a mail; last value: 0$/);
  });

  test('on timeout after errors it shows the last error', async () => {
    let n = 0;
    const e = await rejection(
      until(
        '/readyz to answer 200',
        async () => {
          throw new Error(`connect ECONNREFUSED (try ${++n})`);
        },
        40,
        5,
      ),
    );
    expect(e.message).toContain('waiting for /readyz to answer 200; last error: Error: connect ECONNREFUSED (try ');
    expect(e.message).toContain(`(try ${n})`);
  });

  test('a check that never answers does not hold it past its timeout', async () => {
    const e = await rejection(until('an answer that never comes', () => new Promise<boolean>(() => undefined), 50));
    expect(e.message).toMatch(/waiting for an answer that never comes; the last check was still running \(no answer yet\)$/);
  });
});
