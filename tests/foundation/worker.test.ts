import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { PAY_WALLET, createOrder, createPlan, credit, newCustomer, orderRow } from '../support/payments-fixtures';
import { createTestDatabase, startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

/**
 * `npm run worker` (`node --import tsx src/worker.ts`) as an operator runs it beside API instances that
 * run no job runner: it works the queue of their database, and SIGTERM lets the job in progress finish
 * before it exits 0.
 */
jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');

/** A provisioning system that holds every call until told to answer 204. */
function provisioning() {
  const held: http.ServerResponse[] = [];
  let answering = false;
  const server = http.createServer((_req, res) => (answering ? res.writeHead(204).end() : held.push(res)));
  return {
    server,
    held,
    answer() {
      answering = true;
      for (const res of held.splice(0)) res.writeHead(204).end();
    },
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/provision`,
  };
}

let api: TestServer;
let worker: ChildProcess | undefined;
const provider = provisioning();
afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  provider.answer();
  await api?.stop();
  await new Promise((r) => provider.server.close(r));
});

test('the standalone worker runs the jobs of the API’s database, and SIGTERM lets the running one finish, then exits 0', async () => {
  await new Promise<void>((r) => provider.server.listen(0, '127.0.0.1', r));
  const databaseUrl = await createTestDatabase();
  // The API takes orders but runs no jobs: only the worker can deliver them.
  api = await startTestServer({ RUN_WORKER: 'false' }, { databaseUrl });

  let output = '';
  worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, DELIVERY_WEBHOOK_URL: provider.url() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d) => (output += d));
  worker.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | string>((resolve) => worker!.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  await until('the worker to start', () => /"msg":"worker started"/.test(output) || worker!.exitCode !== null, 60_000);
  expect({ running: worker.exitCode === null, output: worker.exitCode === null ? '' : output }).toEqual({ running: true, output: '' });

  // An order paid from the wallet queues its automatic delivery, which the worker takes and provisions.
  const customer = await newCustomer(api);
  const order = await createOrder(api, customer, await createPlan(api, 1_000));
  await credit(api, customer.id, order.total);
  expect((await api.gql(PAY_WALLET, { orderId: order.id }, customer.token)).errors).toBeUndefined();
  await until('the worker to call the provisioning system', () => provider.held.length > 0);

  // Stopped while that job runs: the worker takes no new job, waits for this one, then exits.
  worker.kill('SIGTERM');
  await until('the worker to say it is stopping', () => /"reason":"SIGTERM","msg":"stopping"/.test(output));
  expect(worker.exitCode).toBeNull(); // the job it waits for is still held by the provisioning system
  provider.answer();

  expect(await exited).toBe(0);
  expect(await orderRow(api, order.id)).toMatchObject({ status: 'DELIVERED' });
  expect(output.split('\n').filter((l) => /"level":(50|60)|error while stopping|timed out/.test(l))).toEqual([]);
});
