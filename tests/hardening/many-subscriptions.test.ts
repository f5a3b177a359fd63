import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createOrder, createPlan, newCustomer } from '../support/payments-fixtures';
import { startTestServer, type TestServer } from '../support/server';
import { until } from '../support/until';

let s: TestServer;
const clients: Client[] = [];
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await Promise.all(clients.map(async (c) => c.dispose()));
  await s.stop();
});

// Node's own leak warning (more than 10 listeners on one channel) goes to the real process, which Jest's
// sandbox does not expose; this test keeps the many-tabs case working end to end.
test('one customer following their orders from 12 tabs on one instance: every tab gets the change', async () => {
  {
    const customer = await newCustomer(s);
    const planId = await createPlan(s, 500);
    const seen: string[][] = [];
    for (let i = 0; i < 12; i++) {
      const client = createClient({ url: s.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${customer.token}` } });
      clients.push(client);
      const mine: string[] = [];
      seen.push(mine);
      client.subscribe<{ myOrdersUpdated: { id: string } }>(
        { query: 'subscription { myOrdersUpdated { id } }' },
        { next: (m) => void (m.data && mine.push(m.data.myOrdersUpdated.id)), error: () => undefined, complete: () => undefined },
      );
    }
    // A subscription is live once it has seen a change: keep making orders until every tab saw one.
    const orders: string[] = [];
    await until('every tab to see one of the customer\'s new orders', async () => {
      if (seen.every((m) => m.length > 0)) return true;
      if (orders.length < 3) orders.push((await createOrder(s, customer, planId)).id);
      return false;
    });
  }
});
