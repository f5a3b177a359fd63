import { Migration } from '@mikro-orm/migrations';

/**
 * `confirm_payment(...)`: the whole confirmation of an order's payment (wallet or gateway) as one call,
 * so a payment costs one statement between BEGIN and COMMIT instead of eleven, and PostgreSQL keeps
 * the plans of its steps per connection (PL/pgSQL caches them) instead of parsing and planning eleven
 * statements per payment. Called by src/modules/payment/payment-confirmation.ts, which documents it;
 * the steps and their guards are those the TypeScript took one statement at a time:
 *
 * 1. the guarded transition to PAID (allowed from-states passed by the caller from the order state
 *    machine; not past `expires_at`; a wallet pays only its own customer's orders), freeing the
 *    unpaid-order slot in the same update; nothing else happens, and nothing is returned, when it does
 *    not match;
 * 2. the payment row (one per order: unique `payment.order_id`) and the receipt, numbered from
 *    `receipt_number_seq`, its lines the plan and upgrades as bought and the discount;
 * 3. the money as one balanced journal (insert-only entries; the wallet row is the only one updated,
 *    with a guarded debit: raises SQLSTATE CM402 "insufficient balance" when the wallet cannot pay, which
 *    undoes the whole call);
 * 4. the customer's unpaid-order count, the completed Checkout Session, the expiry of any other open
 *    one (a job), the delivery (NEW) and the confirmation mail and automatic delivery (jobs, in
 *    `job_outbox`, so the transaction does not NOTIFY).
 */
export class Migration20261202170000_ConfirmPayment extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function confirm_payment(
        p_order uuid, p_from text[], p_method text, p_payer text, p_gateway_ref text, p_session text,
        p_actor text, p_history_actor text, p_payment uuid, p_journal uuid, p_delivery uuid, p_delivery_attempts int
      ) returns table (paid_order json, paid_delivery json, plan_provider_id text)
      language plpgsql as $$
      declare
        o "order";
        freed boolean;
        v_plan_name text;
        provider text;
        d delivery;
        upgrades_total int;
        v_lines jsonb;
      begin
        select h.holds_unpaid_slot into freed from "order" h
         where h.id = p_order and h.status = any(p_from) and h.expires_at > now()
           and (p_method <> 'WALLET' or h.customer_id = p_payer)
         for update;
        if not found then
          return;
        end if;
        update "order" set status = 'PAID', paid_at = now(), payment_method = p_method, expires_at = null,
               version = version + 1, actor = p_history_actor, holds_unpaid_slot = false
         where id = p_order returning * into o;

        select p.name, p.provider_id into v_plan_name, provider from plan p where p.id = o.plan_id;

        insert into payment (id, order_id, method, amount, currency, payer_id, gateway_ref, journal_id)
        values (p_payment, o.id, p_method, o.total, o.currency, p_payer, p_gateway_ref, case when p_method = 'WALLET' and o.total > 0 then p_journal end);

        select coalesce(sum((u ->> 'price')::int), 0) into upgrades_total from jsonb_array_elements(o.upgrades) u;
        v_lines := jsonb_build_array(jsonb_build_object(
                   'description', coalesce(o.plan_name, v_plan_name),
                   'amount', coalesce(o.plan_price, greatest(0, o.subtotal - upgrades_total))))
              || coalesce((select jsonb_agg(jsonb_build_object('description', u ->> 'name', 'amount', (u ->> 'price')::int) order by n)
                             from jsonb_array_elements(o.upgrades) with ordinality as x(u, n)), '[]'::jsonb)
              || case when o.discount > 0
                   then jsonb_build_array(jsonb_build_object(
                          'description', case when o.coupon_code is null then 'Discount' else 'Discount (' || o.coupon_code || ')' end,
                          'amount', -o.discount))
                   else '[]'::jsonb end;
        insert into receipt (order_id, number, issued_at, currency, lines, subtotal, discount, tax, total)
        select o.id, 'RCT-' || lpad(n::text, greatest(6, length(n::text)), '0'), now(), o.currency, v_lines, o.subtotal, o.discount, o.tax, o.total
          from nextval('receipt_number_seq') as n;

        if o.total > 0 then
          if p_method = 'WALLET' then
            update wallet set balance = balance - o.total, updated_at = now() where customer_id = p_payer and balance >= o.total;
            if not found then
              raise exception 'insufficient balance' using errcode = 'CM402';
            end if;
          end if;
          insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor)
          values (gen_random_uuid(), p_journal, case when p_method = 'WALLET' then 'WALLET' else 'GATEWAY_CLEARING' end,
                  case when p_method = 'WALLET' then p_payer end, o.id, -o.total, 'PAYMENT', left(p_actor, 80)),
                 (gen_random_uuid(), p_journal, 'ESCROW', null, o.id, o.total, 'PAYMENT', left(p_actor, 80));
        end if;

        if freed then
          update customer set unpaid_orders = unpaid_orders - 1 where id = o.customer_id and unpaid_orders > 0;
        end if;
        if p_session is not null then
          update checkout_session set status = 'COMPLETED' where id = p_session;
        end if;
        insert into job_outbox (task, payload, job_key, max_attempts)
        select 'expire_checkout', jsonb_build_object('sessionId', cs.id), 'expire_checkout:' || cs.id, 25
          from checkout_session cs where cs.order_id = o.id and cs.status = 'OPEN';

        insert into delivery (id, order_id, provider_id, status, attempts, created_at, updated_at)
        values (p_delivery, o.id, provider, 'NEW', 0, now(), now()) returning * into d;
        insert into job_outbox (task, payload, job_key, max_attempts)
        values ('send_mail', jsonb_build_object('orderId', o.id, 'kind', 'PAID'), 'mail:' || o.id || ':PAID', 10);
        if provider is null then
          insert into job_outbox (task, payload, job_key, max_attempts)
          values ('deliver_order', jsonb_build_object('orderId', o.id), 'deliver:' || o.id, p_delivery_attempts);
        end if;

        return query select row_to_json(o), row_to_json(d), provider::text;
      end;
      $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists confirm_payment(uuid, text[], text, text, text, text, text, text, uuid, uuid, uuid, int);`);
  }
}
