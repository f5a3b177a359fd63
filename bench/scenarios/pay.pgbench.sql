-- The SQL one payWithWallet request sends, as captured with bench/capture-sql.ts on 2026-12-02 (the API's own
-- statements, in order), run by pgbench -M prepared as the ceiling of the payment scenario: one call of the
-- database function confirm_payment (migrations/Migration20261202170000_ConfirmPayment.ts, now as in
-- Migration20261203140000_PaymentStepCalls.ts), a transaction of its own.
-- The caller's customer row is known from earlier requests, so the request writes it no more (src/modules/customer).
-- Only the first statement is the bench's: it takes the next pre-created PENDING order from a queue. The keys the API
-- makes (payment, journal, delivery: newId() in src/shared/ids.ts) are made here by uuid_v7(), the same layout.
select order_id, customer_id, total, plan_id from bench_pay_queue where n = (select nextval('bench_pay_seq')) \gset
select paid_order, paid_delivery, plan_provider_id from confirm_payment(:order_id::uuid, '{PENDING}'::text[], 'WALLET', :customer_id, null, null, :customer_id, :customer_id, uuid_v7(), uuid_v7(), uuid_v7(), 6);
