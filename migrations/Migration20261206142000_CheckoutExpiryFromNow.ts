import { Migration } from '@mikro-orm/migrations';

/**
 * The step that asks for the expiry of an order's open Checkout Sessions when a cancel or a payment
 * timeout takes the order out of PENDING reads the sessions as they stand when it runs, not as they
 * stood when its statement began. The cancel waits for the order's row lock while a `payWithGateway`
 * holding it stores a new session; every step of one SQL statement reads from the statement's first
 * snapshot, so that session, committed while the cancel waited, was not seen: it stayed OPEN, and
 * payable at Stripe, on a cancelled order. `checkout_expiry_jobs` is a statement of its own, run once the
 * orders' change has taken their locks, so it reads what committed before.
 */
export class Migration20261206142000_CheckoutExpiryFromNow extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function checkout_expiry_jobs(p_orders uuid[], p_task text, p_max_attempts int) returns int language plpgsql as $$
      declare
        n int;
      begin
        insert into job_outbox (task, payload, job_key, max_attempts)
          select p_task, jsonb_build_object('sessionId', id), p_task || ':' || id, p_max_attempts
            from checkout_session where order_id = any(p_orders) and status = 'OPEN';
        get diagnostics n = row_count;
        return n;
      end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists checkout_expiry_jobs(uuid[], text, int);`);
  }
}
