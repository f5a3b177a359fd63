import { PAY_WALLET, createOrder, createProviderPlan, credit, newCustomer } from '../support/payments-fixtures';
import { codeOf, startTestServer, type TestServer } from '../support/server';

/** `myDeliveries(status, first)`: a provider's deliveries, oldest payment first, at most `first` (1 to 100, default 50). */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.stop());

const MY_DELIVERIES = `query($first: Int, $status: DeliveryStatus) { myDeliveries(first: $first, status: $status) { id paidAt delivery { status } } }`;

test('51 paid orders: 50 by default, `first` of them when asked, oldest payment first; BAD_USER_INPUT outside 1..100', async () => {
  const { planId, provider } = await createProviderPlan(s, 1000);
  const payer = await newCustomer(s);
  await credit(s, payer.id, 51 * 1150);
  const paid: string[] = [];
  for (let i = 0; i < 51; i++) {
    const order = await createOrder(s, payer, planId);
    expect((await s.gql(PAY_WALLET, { orderId: order.id }, payer.token)).errors).toBeUndefined();
    paid.push(order.id);
  }

  const ids = async (vars: Record<string, unknown>) => {
    const r = await s.gql(MY_DELIVERIES, vars, provider.token);
    expect(r.errors).toBeUndefined();
    return (r.data.myDeliveries as Array<{ id: string }>).map((o) => o.id);
  };
  expect(await ids({})).toEqual(paid.slice(0, 50));
  expect(await ids({ first: 3 })).toEqual(paid.slice(0, 3));
  expect(await ids({ first: 100 })).toEqual(paid);
  expect(await ids({ first: 1, status: 'NEW' })).toEqual(paid.slice(0, 1));
  expect(await ids({ first: 5, status: 'COMPLETED' })).toEqual([]);

  for (const first of [0, -1, 101, 2_147_483_647]) {
    const r = await s.gql(MY_DELIVERIES, { first }, provider.token);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions!.field).toBe('first');
  }
});
