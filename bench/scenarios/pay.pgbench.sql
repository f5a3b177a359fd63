-- The SQL one payWithWallet request sends, as captured with bench/capture-sql.ts on 2026-11-23 (the API's own
-- statements, in order), run by pgbench -M prepared as the ceiling of the payment scenario. The caller's
-- customer row is known from earlier requests, so the request writes it no more (src/modules/customer).
-- Only the first statement is the bench's: it takes the next pre-created PENDING order from a queue.
select order_id, customer_id, total, plan_id from bench_pay_queue where n = (select nextval('bench_pay_seq')) \gset
\set debit 0 - :total
begin;
update "order" set status = 'PAID', paid_at = now(), payment_method = 'WALLET', expires_at = null, version = version + 1, actor = :customer_id where id = :order_id and status in ('PENDING') and expires_at > now() and customer_id = :customer_id returning *;
select "p0".* from "plan" as "p0" where "p0"."id" in (:plan_id);
insert into payment (id, order_id, method, amount, currency, payer_id, gateway_ref, journal_id) values (gen_random_uuid(), :order_id, 'WALLET', :total, 'USD', :customer_id, null, md5(:order_id::text)::uuid);
insert into receipt (order_id, number, issued_at, currency, lines, subtotal, discount, tax, total) select :order_id, 'RCT-' || lpad(n::text, greatest(6, length(n::text)), '0'), now(), 'USD', '[{"description":"Bench plan","amount":1000}]'::jsonb, :total, 0, 0, :total from nextval('receipt_number_seq') as n;
update wallet set balance = balance + :debit, updated_at = now() where customer_id = :customer_id and balance + :debit >= 0 returning balance;
with j as (select md5(:order_id::text)::uuid as id) insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor) select gen_random_uuid(), j.id, 'WALLET', :customer_id, :order_id::uuid, :debit::bigint, 'PAYMENT', :customer_id from j union all select gen_random_uuid(), j.id, 'ESCROW', null, :order_id::uuid, :total::bigint, 'PAYMENT', :customer_id from j;
update customer set unpaid_orders = unpaid_orders - 1 where id = :customer_id and unpaid_orders > 0;
select graphile_worker.add_job('expire_checkout'::text, json_build_object('sessionId', id), max_attempts => 25, job_key => 'expire_checkout:'::text || id) from checkout_session where order_id = :order_id and status = 'OPEN';
select graphile_worker.add_job('send_mail'::text, json_build_object('orderId', :order_id::text, 'kind', 'PAID'), run_at => null::timestamptz, job_key => concat_ws(':', 'mail', :order_id::text, 'PAID'), max_attempts => 10);
select graphile_worker.add_job('deliver_order'::text, json_build_object('orderId', :order_id::text), run_at => null::timestamptz, job_key => ('deliver:' || :order_id::text), max_attempts => 5);
insert into "delivery" ("id", "order_id", "provider_id", "status", "attempts", "created_at", "updated_at", "completed_at") values (gen_random_uuid(), :order_id, null, 'NEW', 0, now(), now(), null);
commit;
