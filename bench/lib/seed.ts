import type { Pool } from 'pg';
import { cleanCheckpoint, scalar } from './database';

/** What the base seed created. */
export interface BaseSeed {
  /** The plan every bench order is for: unlimited stock, no provider, automatic delivery. */
  planId: string;
  planPrice: number;
  /** Code of the popular coupon (PERCENT 10, maxUses 100,000,000, no per-customer limit). */
  couponCode: string;
}

/** Catalogue as a small shop has it: 12 plans on sale, 3 upgrades each; one popular coupon. */
export async function seedBase(pool: Pool): Promise<BaseSeed> {
  await pool.query(`
    insert into plan (id, name, description, price, duration_days, sale_status, groups, stock, created_at, updated_at)
    select uuid_v7(), 'Plan ' || g, 'A plan for benchmarks, number ' || g, 1000 + g * 100, case when g % 3 = 0 then null else 30 end,
           'ON_SALE', '{}', null, now() - (100 - g) * interval '1 minute', now()
      from generate_series(1, 12) g`);
  await pool.query(`
    insert into plan_upgrade (id, plan_id, name, price, position)
    select uuid_v7(), p.id, 'Upgrade ' || u, 200 * u, u from plan p cross join generate_series(0, 2) u`);
  const { rows } = await pool.query<{ id: string; price: number }>(`select id, price from plan order by created_at, id limit 1`);
  const couponCode = 'POPULAR10';
  await pool.query(
    `insert into coupon (id, code, code_key, kind, value, max_uses, enabled, plan_ids)
     values (uuid_v7(), $1::text, $1::text, 'PERCENT', 10, 100000000, true, '{}')`,
    [couponCode],
  );
  return { planId: rows[0].id, planPrice: rows[0].price, couponCode };
}

/** Inserts customers `${prefix}${from}` .. `${prefix}${to - 1}`, with `unpaid` PENDING orders counted. */
export async function seedCustomers(pool: Pool, prefix: string, from: number, to: number, unpaid = 0): Promise<void> {
  await pool.query(
    `insert into customer (id, role, unpaid_orders) select $1 || g, 'customer', $4 from generate_series($2::int, $3::int - 1) g on conflict (id) do nothing`,
    [prefix, from, to, unpaid],
  );
}

/**
 * Inserts `perCustomer` orders for each customer `${prefix}${from}..${to - 1}`, numbered from the
 * API's own sequence and formatted as it does (ORD- and at least six digits). Row k of customer i is created k minutes before now (distinct, newest last).
 * `status` PENDING orders expire in a day; others are DELIVERED wallet-paid orders.
 */
export async function seedOrders(
  pool: Pool,
  opts: { prefix: string; from: number; to: number; perCustomer: number; planId: string; price: number; status: 'PENDING' | 'DELIVERED' },
): Promise<void> {
  const tax = Math.round((opts.price * 1500) / 10000);
  const pending = opts.status === 'PENDING';
  await pool.query(
    `insert into "order" (id, number, customer_id, plan_id, currency, subtotal, discount, tax, total, status, created_at,
                          expires_at, paid_at, payment_method, delivered_at, version)
     select uuid_v7(now() - k * interval '1 minute'), 'ORD-' || lpad(n, greatest(6, length(n)), '0'), $1 || c, $2::uuid, 'USD', $3::int, 0, $4::int, $3::int + $4::int,
            $5, now() - k * interval '1 minute',
            case when $6 then now() + interval '1 day' end,
            case when $6 then null else now() - k * interval '1 minute' end,
            case when $6 then null else 'WALLET' end,
            case when $6 then null else now() - k * interval '1 minute' end,
            case when $6 then 1 else 3 end
       from (select nextval('order_number_seq')::text as n, c, k
               from generate_series($7::int, $8::int - 1) c cross join generate_series(1, $9::int) k) s`,
    [opts.prefix, opts.planId, opts.price, tax, opts.status, pending, opts.from, opts.to, opts.perCustomer],
  );
}

/** The customers and orders of {@link seedCustomersWithOrders}: `seedOrders`' options. */
export type CustomerOrdersSeed = Parameters<typeof seedOrders>[1];

/**
 * Customers `${prefix}${from}` .. `${prefix}${to - 1}`, each with `perCustomer` orders of `status`;
 * PENDING orders are counted in the customer's unpaid orders, as the API counts them.
 */
export async function seedCustomersWithOrders(pool: Pool, opts: CustomerOrdersSeed): Promise<void> {
  await seedCustomers(pool, opts.prefix, opts.from, opts.to, opts.status === 'PENDING' ? opts.perCustomer : 0);
  await seedOrders(pool, opts);
}

/**
 * Grows the order table to about `total` rows with DELIVERED orders of new customers `${prefix}0`, ...
 * (`perCustomer` each, created within the same minutes as the rows already there), then VACUUM ANALYZE,
 * so the next reads plan for the big table, and a clean checkpoint, so runs on the big table do not pay
 * for writing the seeded rows out. Customers go in slices of 2,000, so no statement holds a huge
 * transaction. Returns how many orders the table holds then.
 */
export async function growOrders(
  pool: Pool,
  opts: { prefix: string; total: number; perCustomer: number; planId: string; price: number },
  log: (line: string) => void,
): Promise<number> {
  const started = Date.now();
  const existing = Number(await scalar<string>(pool, `select count(*) from "order"`));
  const customers = Math.ceil((opts.total - existing) / opts.perCustomer);
  const slice = 2_000;
  for (let from = 0; from < customers; from += slice) {
    const to = Math.min(customers, from + slice);
    await seedCustomersWithOrders(pool, { prefix: opts.prefix, from, to, perCustomer: opts.perCustomer, planId: opts.planId, price: opts.price, status: 'DELIVERED' });
  }
  await pool.query('vacuum analyze "order"');
  await cleanCheckpoint(pool);
  const rows = Number(await scalar<string>(pool, `select count(*) from "order"`));
  log(`seeded ${rows} orders in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return rows;
}

/**
 * Credits each customer's wallet with `amount`, the way an admin credit books it: the wallet row and a
 * balanced ledger journal (WALLET +amount, FUNDING -amount).
 */
export async function creditWallets(pool: Pool, prefix: string, from: number, to: number, amount: number): Promise<void> {
  await pool.query(
    `insert into wallet (customer_id, balance) select $1 || g, $4 from generate_series($2::int, $3::int - 1) g
     on conflict (customer_id) do update set balance = wallet.balance + excluded.balance`,
    [prefix, from, to, amount],
  );
  await pool.query(
    `with j as (select $1 || g as customer_id, uuid_v7() as journal_id from generate_series($2::int, $3::int - 1) g)
     insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor)
     select uuid_v7(), journal_id, 'WALLET', customer_id, null::uuid, $4::bigint, 'CREDIT', 'bench' from j
     union all
     select uuid_v7(), journal_id, 'FUNDING', null, null::uuid, -$4::bigint, 'CREDIT', 'bench' from j`,
    [prefix, from, to, amount],
  );
}
