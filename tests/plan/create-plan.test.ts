import { codeOf, startTestServer, token, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const CREATE = `mutation($input: CreatePlanInput!) { createPlan(input: $input) { id name price { amount currency } stockRemaining upgrades { id name price { amount } } } }`;

test('an admin creates a plan that an anonymous caller then sees', async () => {
  const admin = await token('admin-1', 'admin');
  const created = await s.gql(CREATE, { input: { name: 'Starter', price: 1999, stock: 5, upgrades: [{ name: 'Priority', price: 500 }] } }, admin);
  expect(created.errors).toBeUndefined();
  expect(created.data.createPlan).toMatchObject({ name: 'Starter', price: { amount: 1999, currency: 'USD' }, stockRemaining: 5 });
  const list = await s.gql(`{ plans { id name upgrades { name price { amount } } } }`);
  expect(list.data.plans).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Starter', upgrades: [{ name: 'Priority', price: { amount: 500 } }] })]));
});

test('a customer may not create plans', async () => {
  const r = await s.gql(CREATE, { input: { name: 'X', price: 1 } }, await token('cust-1'));
  expect(codeOf(r)).toBe('FORBIDDEN');
});
