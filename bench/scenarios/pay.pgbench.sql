-- The SQL one payWithWallet request sends, as captured with bench/capture-sql.ts (the API's own
-- statements, in order), run by pgbench -M prepared as the ceiling of the payment scenario.
-- Only the first statement is the bench's: it takes the next pre-created PENDING order from a queue.
select order_id, customer_id, total from bench_pay_queue where n = (select nextval('bench_pay_seq')) \gset
\set debit 0 - :total
-- The caller's customer row (every authenticated request; outside the unit of work).
with ins as ( insert into customer (id, role) values (:customer_id, 'customer') on conflict (id) do update set role = excluded.role where customer.role <> excluded.role returning id, customer_group, role, unpaid_orders, created_at) select * from ins union all select id, customer_group, role, unpaid_orders, created_at from customer where id = :customer_id and not exists (select 1 from ins);
begin;
select "o0".*, "p1"."id" as "p1__id", "p1"."name" as "p1__name", "p1"."description" as "p1__description", "p1"."price" as "p1__price", "p1"."duration_days" as "p1__duration_days", "p1"."sale_status" as "p1__sale_status", "p1"."groups" as "p1__groups", "p1"."stock" as "p1__stock", "p1"."stock_used" as "p1__stock_used", "p1"."provider_id" as "p1__provider_id", "p1"."created_at" as "p1__created_at", "p1"."updated_at" as "p1__updated_at", "d2"."id" as "d2__id", "d2"."order_id" as "d2__order_id", "d2"."provider_id" as "d2__provider_id", "d2"."status" as "d2__status", "d2"."attempts" as "d2__attempts", "d2"."created_at" as "d2__created_at", "d2"."updated_at" as "d2__updated_at", "d2"."completed_at" as "d2__completed_at" from "order" as "o0" inner join "plan" as "p1" on "o0"."plan_id" = "p1"."id" left join "delivery" as "d2" on "o0"."id" = "d2"."order_id" where "o0"."id" = :order_id limit 1;
update "order" set status = 'PAID', paid_at = now(), payment_method = 'WALLET', expires_at = null, version = version + 1 where id = :order_id and status in ('PENDING') returning *;
insert into payment (id, order_id, method, amount, currency, payer_id, gateway_ref) values (gen_random_uuid(), :order_id, 'WALLET', :total, 'USD', :customer_id, null);
update wallet set balance = balance + :debit, updated_at = now() where customer_id = :customer_id and balance + :debit >= 0 returning balance;
with j as (select gen_random_uuid() as id) insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor) select gen_random_uuid(), j.id, 'WALLET', :customer_id, :order_id::uuid, :debit::bigint, 'PAYMENT', :customer_id from j union all select gen_random_uuid(), j.id, 'ESCROW', null, :order_id::uuid, :total::bigint, 'PAYMENT', :customer_id from j;
update customer set unpaid_orders = unpaid_orders - 1 where id = :customer_id and unpaid_orders > 0;
select graphile_worker.add_job('send_mail'::text, json_build_object('orderId', :order_id::text, 'kind', 'PAID'), run_at => null::timestamptz, job_key => concat_ws(':', 'mail', :order_id::text, 'PAID'), max_attempts => 10);
select graphile_worker.add_job('deliver_order'::text, json_build_object('orderId', :order_id::text), run_at => null::timestamptz, job_key => ('deliver:' || :order_id::text), max_attempts => 5);
insert into "delivery" ("id", "order_id", "provider_id", "status", "attempts", "created_at", "updated_at", "completed_at") values (gen_random_uuid(), :order_id, null, 'NEW', 0, now(), now(), null);
commit;
