import { Migration } from '@mikro-orm/migrations';

/** The step `order_pay` as this migration made it. */
export const ORDER_PAY_V1 = `
      create function order_pay(p_order uuid, p_from text[], p_method text, p_payer text, p_actor text)
      returns setof "order" language plpgsql as $$
      declare
        held boolean;
        o "order";
      begin
        select h.holds_unpaid_slot into held from "order" h
         where h.id = p_order and h.status = any(p_from) and h.expires_at > now()
           and (p_method <> 'WALLET' or h.customer_id = p_payer)
         for update;
        if not found then
          return;
        end if;
        update "order" set status = 'PAID', paid_at = now(), payment_method = p_method, expires_at = null,
               version = version + 1, actor = p_actor, holds_unpaid_slot = false
         where id = p_order returning * into o;
        if held then
          perform customer_release_unpaid_slot(o.customer_id);
        end if;
        return next o;
      end;
      $$;`;

/** The step `wallet_pay_order` as this migration made it (20261202190001 later made its keys with `uuid_v7()`). */
export const WALLET_PAY_ORDER_V1 = `
      create function wallet_pay_order(p_journal uuid, p_method text, p_payer text, p_order uuid, p_amount bigint, p_actor text)
      returns void language plpgsql as $$
      begin
        if p_amount <= 0 then
          return;
        end if;
        if p_method = 'WALLET' then
          update wallet set balance = balance - p_amount, updated_at = now() where customer_id = p_payer and balance >= p_amount;
          if not found then
            raise exception 'insufficient balance' using errcode = 'CM402';
          end if;
        end if;
        insert into ledger_entry (id, journal_id, account, customer_id, order_id, amount, kind, actor)
        values (gen_random_uuid(), p_journal, case when p_method = 'WALLET' then 'WALLET' else 'GATEWAY_CLEARING' end,
                case when p_method = 'WALLET' then p_payer end, p_order, -p_amount, 'PAYMENT', left(p_actor, 80)),
               (gen_random_uuid(), p_journal, 'ESCROW', null, p_order, p_amount, 'PAYMENT', left(p_actor, 80));
      end;
      $$;`;

/** The step `delivery_open` as this migration made it. */
export const DELIVERY_OPEN_V1 = `
      create function delivery_open(p_delivery uuid, p_order uuid, p_provider text, p_attempts int)
      returns setof delivery language plpgsql as $$
      declare
        d delivery;
      begin
        insert into delivery (id, order_id, provider_id, status, attempts, created_at, updated_at)
        values (p_delivery, p_order, p_provider, 'NEW', 0, now(), now()) returning * into d;
        perform job_enqueue('send_mail', jsonb_build_object('orderId', p_order, 'kind', 'PAID'), 'mail:' || p_order || ':PAID', 10);
        if p_provider is null then
          perform job_enqueue('deliver_order', jsonb_build_object('orderId', p_order), 'deliver:' || p_order, p_attempts);
        end if;
        return next d;
      end;
      $$;`;

/** `confirm_payment` as this migration made it. */
export const CONFIRM_PAYMENT_V1 = `
      create function confirm_payment(
        p_order uuid, p_from text[], p_method text, p_payer text, p_gateway_ref text, p_session text,
        p_actor text, p_history_actor text, p_payment uuid, p_journal uuid, p_delivery uuid, p_delivery_attempts int
      ) returns table (paid_order json, paid_delivery json, plan_provider_id text)
      language plpgsql as $$
      declare
        o "order";
        d delivery;
        v_plan_name text;
        provider text;
        upgrades_total int;
        v_lines jsonb;
      begin
        select * into o from order_pay(p_order, p_from, p_method, p_payer, p_history_actor);
        if o.id is null then
          return;
        end if;
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

        perform wallet_pay_order(p_journal, p_method, p_payer, o.id, o.total, p_actor);

        if p_session is not null then
          update checkout_session set status = 'COMPLETED' where id = p_session;
        end if;
        perform job_enqueue('expire_checkout', jsonb_build_object('sessionId', cs.id), 'expire_checkout:' || cs.id, 25)
           from checkout_session cs where cs.order_id = o.id and cs.status = 'OPEN' and cs.id is distinct from p_session;

        select * into d from delivery_open(p_delivery, o.id, provider, p_delivery_attempts);
        return query select row_to_json(o), row_to_json(d), provider;
      end;
      $$;`;

/**
 * A payment confirmed in one call: `confirm_payment(...)`, so a payment costs one statement instead of
 * eleven, and PostgreSQL keeps the plans of its steps per connection (PL/pgSQL caches them) instead of
 * parsing and planning eleven statements per payment. Each step is a function of the module that owns
 * the table it writes, called by the payment's:
 *
 * - `job_enqueue` (src/infra/jobs.ts): one row of `job_outbox`, as `enqueue()` writes it from TypeScript;
 * - `customer_release_unpaid_slot` (customer module): one fewer unpaid order counted for the customer;
 * - `order_pay` (order module, src/modules/order/order-transitions.ts names it): the guarded transition
 *   to PAID (from-states passed by the caller from the order state machine; not past `expires_at`; a
 *   wallet pays only its own customer's orders), freeing the unpaid-order slot the order held; returns
 *   nothing when it does not match, and nothing else happens;
 * - `wallet_pay_order` (wallet module): the money as one balanced journal, insert-only entries, the
 *   wallet row the only one updated, with a guarded debit that raises SQLSTATE CM402 ("insufficient
 *   balance") when the wallet cannot pay, which undoes the whole call;
 * - `delivery_open` (delivery module): the delivery, NEW, and its jobs: the confirmation mail and, for a
 *   plan without a provider, the automatic delivery;
 * - `confirm_payment` (payment module, src/modules/payment/payment-confirmation.ts): the payment row
 *   (one per order), the receipt (numbered from `receipt_number_seq`, its lines the plan and upgrades
 *   as bought and the discount), the Checkout Sessions (the paying one completed, any other open one
 *   expired at the gateway by a job), then the steps above in order.
 *
 * Jobs go to the outbox, so the transaction does not NOTIFY.
 */
export class Migration20261202170000_ConfirmPayment extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function job_enqueue(p_task text, p_payload jsonb, p_job_key text, p_max_attempts int, p_run_at timestamptz default null)
      returns void language sql as $$
        insert into job_outbox (task, payload, job_key, run_at, max_attempts) values (p_task, p_payload, p_job_key, p_run_at, p_max_attempts);
      $$;`);
    this.addSql(`
      create function customer_release_unpaid_slot(p_customer text) returns void language sql as $$
        update customer set unpaid_orders = unpaid_orders - 1 where id = p_customer and unpaid_orders > 0;
      $$;`);
    this.addSql(ORDER_PAY_V1);
    this.addSql(WALLET_PAY_ORDER_V1);
    this.addSql(DELIVERY_OPEN_V1);
    this.addSql(CONFIRM_PAYMENT_V1);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists confirm_payment(uuid, text[], text, text, text, text, text, text, uuid, uuid, uuid, int);`);
    this.addSql(`drop function if exists delivery_open(uuid, uuid, text, int);`);
    this.addSql(`drop function if exists wallet_pay_order(uuid, text, text, uuid, bigint, text);`);
    this.addSql(`drop function if exists order_pay(uuid, text[], text, text, text);`);
    this.addSql(`drop function if exists customer_release_unpaid_slot(text);`);
    this.addSql(`drop function if exists job_enqueue(text, jsonb, text, int, timestamptz);`);
  }
}
