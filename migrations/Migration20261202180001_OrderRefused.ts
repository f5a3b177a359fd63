import { Migration } from '@mikro-orm/migrations';

/**
 * `order_refuse(reason)`: raises SQLSTATE CO409 with the reason as its detail when `reason` is not null
 * (returns true otherwise). The statement that places an order (src/modules/order/order.service.ts) runs
 * on its own, without BEGIN and COMMIT, so when one of its limits refuses it must undo itself: it ends by
 * calling this with the first limit that refused, and the error rolls back everything it wrote.
 */
export class Migration20261202180001_OrderRefused extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function order_refuse(p_reason text) returns boolean language plpgsql as $$
      begin
        if p_reason is not null then
          raise exception 'order refused: %', p_reason using errcode = 'CO409', detail = p_reason;
        end if;
        return true;
      end;
      $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists order_refuse(text);`);
  }
}
