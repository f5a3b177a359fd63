import { EventEmitter } from 'node:events';
import { gracefulStop, type GracefulStopOptions } from '../../src/infra/graceful-stop';
import { until } from '../support/until';

/** A graceful stop wired to a signal emitter and an exit of the test's own, recording what happens. */
function harness(opts: Partial<GracefulStopOptions> = {}) {
  const signals = new EventEmitter();
  const events: string[] = [];
  const exits: number[] = [];
  const stopper = gracefulStop({
    timeoutMs: 10_000,
    log: (level, message, fields) => events.push(`${level}: ${message}${typeof fields?.part === 'string' ? ` (${fields.part})` : ''}`),
    onSignal: (signal, listener) => void signals.on(signal, listener),
    exit: (code) => void exits.push(code),
    ...opts,
  });
  const part = (name: string, stop: () => Promise<void> | void = () => undefined) =>
    stopper.add(name, async () => {
      events.push(`stop ${name}`);
      await stop();
    });
  return { signals, events, exits, stopper, part };
}

test('SIGTERM stops the parts in reverse order of starting, once, then exits 0', async () => {
  const h = harness();
  h.part('database');
  h.part('orm');
  h.part('job runner');
  h.stopper.ready();
  h.signals.emit('SIGTERM');
  h.signals.emit('SIGINT'); // a second signal while stopping changes nothing
  await until('the exit', () => h.exits.length > 0);
  expect(h.events).toEqual(['info: stopping', 'stop job runner', 'stop orm', 'stop database']);
  expect(h.exits).toEqual([0]);
});

test('a signal while starting is carried out once startup is over, not before', async () => {
  const h = harness();
  h.part('database');
  h.signals.emit('SIGINT');
  h.part('api'); // still starting: the database is not torn down under it
  expect(h.events).toEqual([]);
  h.stopper.ready();
  await until('the exit', () => h.exits.length > 0);
  expect(h.events).toEqual(['info: stopping', 'stop api', 'stop database']);
  expect(h.exits).toEqual([0]);
});

test('a part that fails to stop does not keep the others running; the exit code is 1', async () => {
  const h = harness();
  h.part('database');
  h.part('api', () => Promise.reject(new Error('drain failed')));
  h.stopper.ready();
  h.signals.emit('SIGTERM');
  await until('the exit', () => h.exits.length > 0);
  expect(h.events).toEqual(['info: stopping', 'stop api', 'error: error while stopping (api)', 'stop database']);
  expect(h.exits).toEqual([1]);
});

test('a stop that outlasts the timeout exits 1, naming the part it waited for', async () => {
  const fields: Array<Record<string, unknown> | undefined> = [];
  const h = harness({ timeoutMs: 50, log: (_level, message, f) => void fields.push({ message, ...f }) });
  h.part('database');
  h.part('job runner', () => new Promise<void>(() => undefined)); // a job that never ends
  h.stopper.ready();
  h.signals.emit('SIGTERM');
  await until('the exit', () => h.exits.length > 0);
  expect(h.exits).toEqual([1]);
  expect(fields).toContainEqual({ message: 'graceful stop timed out', timeoutMs: 50, waitingFor: 'job runner' });
  expect(h.events).not.toContain('stop database');
});

test('a failed start stops what had started and exits with the code given', async () => {
  const h = harness();
  h.part('database');
  await h.stopper.stop('failed to start', 1);
  expect(h.events).toEqual(['info: stopping', 'stop database']);
  expect(h.exits).toEqual([1]);
});
