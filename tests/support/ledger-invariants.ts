/**
 * The books' invariants, checked with SQL against a test database after any sequence of requests:
 *
 * - all ledger entries sum to zero, and so does every journal;
 * - no wallet is negative, and each wallet row's balance equals the sum of its WALLET entries;
 * - every PAID, DELIVERED or REFUNDED order has exactly one payment, and PENDING or CANCELLED orders none;
 * - every REFUNDED order has exactly one refund, and other orders none;
 * - escrow per order equals its total while PAID, and is 0 for PENDING, CANCELLED and REFUNDED orders;
 * - FUNDING has given out exactly the admin credits, and the gateway clearing account holds exactly the
 *   gateway payments not refunded and the wallet top-ups credited (charges refunded at once pass through
 *   it and net to zero).
 *
 * `violations` lists what is wrong (empty when the books are sound); `expectLedgerSound` fails a test
 * with that list.
 */
export type Sql = <T = any>(text: string, params?: unknown[]) => Promise<T[]>;

export async function ledgerViolations(sql: Sql): Promise<string[]> {
  const problems: string[] = [];
  const add = (what: string, rows: unknown[]) => {
    if (rows.length) problems.push(`${what}: ${JSON.stringify(rows.slice(0, 5))}${rows.length > 5 ? ` (+${rows.length - 5} more)` : ''}`);
  };

  add('ledger does not sum to zero', await sql(`select sum(amount)::text as total from ledger_entry having coalesce(sum(amount), 0) <> 0`));
  add('journal does not sum to zero', await sql(`select journal_id, sum(amount)::text as total from ledger_entry group by journal_id having sum(amount) <> 0`));
  add('negative wallet', await sql(`select customer_id, balance from wallet where balance < 0`));
  add(
    'wallet balance differs from its entries',
    await sql(
      `select coalesce(w.customer_id, e.customer_id) as customer_id, w.balance::text as balance, e.total::text as entries
         from wallet w
         full join (select customer_id, sum(amount) as total from ledger_entry where account = 'WALLET' group by customer_id) e
           on e.customer_id = w.customer_id
        where coalesce(w.balance, 0) <> coalesce(e.total, 0)`,
    ),
  );
  add(
    'order with a wrong number of payments',
    await sql(
      `select o.id, o.status, count(p.id)::int as payments
         from "order" o left join payment p on p.order_id = o.id
        group by o.id, o.status
       having count(p.id) <> case when o.status in ('PAID', 'DELIVERED', 'REFUNDED') then 1 else 0 end`,
    ),
  );
  add(
    'payment amount differs from the order total',
    await sql(`select o.id, o.total, p.amount from payment p join "order" o on o.id = p.order_id where p.amount <> o.total`),
  );
  add(
    'order with a wrong number of refunds',
    await sql(
      `select o.id, o.status, count(r.id)::int as refunds
         from "order" o left join refund r on r.order_id = o.id
        group by o.id, o.status
       having count(r.id) <> case when o.status = 'REFUNDED' then 1 else 0 end`,
    ),
  );
  add(
    'escrow of an order differs from what it should hold',
    await sql(
      `select o.id, o.status, o.total, coalesce(e.held, 0)::text as held
         from "order" o
         left join (select order_id, sum(amount) as held from ledger_entry where account = 'ESCROW' group by order_id) e on e.order_id = o.id
        where (o.status = 'PAID' and coalesce(e.held, 0) <> o.total)
           or (o.status in ('PENDING', 'CANCELLED', 'REFUNDED') and coalesce(e.held, 0) <> 0)`,
    ),
  );
  add(
    'escrow entries without an order',
    await sql(`select id, amount from ledger_entry where account = 'ESCROW' and (order_id is null or order_id not in (select id from "order"))`),
  );
  add(
    'FUNDING differs from the admin credits',
    await sql(
      `select f.total::text as funding, c.total::text as credits
         from (select coalesce(sum(amount), 0) as total from ledger_entry where account = 'FUNDING') f,
              (select coalesce(sum(amount), 0) as total from wallet_credit) c
        where f.total <> -c.total`,
    ),
  );
  add(
    'gateway clearing differs from the gateway payments not refunded and the top-ups credited',
    await sql(
      `select g.total::text as clearing, (p.total + t.total)::text as expected
         from (select coalesce(sum(amount), 0) as total from ledger_entry where account = 'GATEWAY_CLEARING') g,
              (select coalesce(sum(p.amount), 0) - coalesce(sum(r.amount), 0) as total
                 from payment p left join refund r on r.payment_id = p.id where p.method = 'GATEWAY') p,
              (select coalesce(sum(amount), 0) as total from wallet_top_up where status = 'CREDITED') t
        where g.total <> -(p.total + t.total)`,
    ),
  );
  return problems;
}

/** Fails with the list of broken invariants, if any. */
export async function expectLedgerSound(sql: Sql): Promise<void> {
  const problems = await ledgerViolations(sql);
  if (problems.length) throw new Error(`ledger invariants broken:\n- ${problems.join('\n- ')}`);
}
