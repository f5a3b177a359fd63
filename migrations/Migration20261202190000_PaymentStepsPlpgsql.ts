import { Migration } from '@mikro-orm/migrations';

const ENQUEUE_SIGNATURE = 'job_enqueue(p_task text, p_payload jsonb, p_job_key text, p_max_attempts int, p_run_at timestamptz default null)';
const ENQUEUE_BODY = 'insert into job_outbox (task, payload, job_key, run_at, max_attempts) values (p_task, p_payload, p_job_key, p_run_at, p_max_attempts);';
const RELEASE_BODY = 'update customer set unpaid_orders = unpaid_orders - 1 where id = p_customer and unpaid_orders > 0;';

/** The step `customer_release_unpaid_slot` as this migration made it. */
export const RELEASE_UNPAID_SLOT_PLPGSQL = `create or replace function customer_release_unpaid_slot(p_customer text) returns void language plpgsql as $$ begin ${RELEASE_BODY} end; $$;`;

/**
 * The two steps of `confirm_payment` written in SQL (`job_enqueue`, `customer_release_unpaid_slot`) become
 * PL/pgSQL, with the same signatures and effects. A SQL function called from PL/pgSQL is parsed,
 * analysed and planned again on every call (PostgreSQL 15 keeps no plan of it between calls), which a
 * profile of the payment's backend showed as SQL parsing in every payment; PL/pgSQL keeps each
 * statement's plan for the life of the connection, as it does for the other steps.
 */
export class Migration20261202190000_PaymentStepsPlpgsql extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function ${ENQUEUE_SIGNATURE} returns void language plpgsql as $$ begin ${ENQUEUE_BODY} end; $$;`);
    this.addSql(RELEASE_UNPAID_SLOT_PLPGSQL);
  }

  override async down(): Promise<void> {
    this.addSql(`create or replace function ${ENQUEUE_SIGNATURE} returns void language sql as $$ ${ENQUEUE_BODY} $$;`);
    this.addSql(`create or replace function customer_release_unpaid_slot(p_customer text) returns void language sql as $$ ${RELEASE_BODY} $$;`);
  }
}
