import { Migration } from '@mikro-orm/migrations';

/**
 * What an order took, the rates it was made under, and the wallet cap:
 *
 * - `order.holds_*`: what the order holds now (its unpaid slot, a unit of stock, a coupon use), set when
 *   it is created and cleared when given back, so nothing is given back that was never taken, or twice.
 *   Existing orders get what the code that made them took: a slot while PENDING, a unit when their plan
 *   has a stock now, their coupon use unless CANCELLED.
 * - `order.tax_rate_bps`, `platform_fee_bps`, `profit_tax_bps`: the rates in force when the order was
 *   made, used when its escrow is released. Unknown (null) for existing orders, which use the rates in
 *   force at release, as before.
 * - A wallet holds at most 2,147,483,647 minor units (GraphQL `Int`). What a full wallet cannot take of a
 *   payout or refund goes to the platform's PAYABLE account, named for the customer. A balance already
 *   past the cap is brought down to it the same way (a HOLD journal), so the constraint can be added.
 */
export class Migration20261202100000_OrderHoldsRatesWalletCap extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "order"
      add column "holds_unpaid_slot" boolean not null default false,
      add column "holds_stock" boolean not null default false,
      add column "holds_coupon_use" boolean not null default false,
      add column "tax_rate_bps" int null,
      add column "platform_fee_bps" int null,
      add column "profit_tax_bps" int null;`);
    this.addSql(`update "order" o set
        holds_unpaid_slot = (o.status = 'PENDING'),
        holds_stock = (o.status <> 'CANCELLED' and p.stock is not null),
        holds_coupon_use = (o.status <> 'CANCELLED' and o.coupon_id is not null)
      from plan p where p.id = o.plan_id;`);
    this.addSql(`alter table "order" add constraint order_rates_check check ((tax_rate_bps is null or (tax_rate_bps >= 0 and tax_rate_bps <= 10000)) and (platform_fee_bps is null or (platform_fee_bps >= 0 and platform_fee_bps <= 10000)) and (profit_tax_bps is null or (profit_tax_bps >= 0 and profit_tax_bps <= 10000)));`);

    this.addSql(`alter table "ledger_entry" drop constraint if exists "ledger_entry_account_check";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_account_check" check ("account" in ('WALLET', 'ESCROW', 'TAX', 'PROFIT', 'GATEWAY_CLEARING', 'FUNDING', 'PAYABLE'));`);
    this.addSql(`alter table "ledger_entry" drop constraint if exists "ledger_entry_kind_check";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_kind_check" check ("kind" in ('CREDIT', 'PAYMENT', 'REFUND', 'RELEASE', 'PAYOUT', 'HOLD'));`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_wallet_customer_check";`);
    this.addSql(`alter table "ledger_entry" add constraint ledger_entry_wallet_customer_check check ((account = 'WALLET' or account = 'PAYABLE') = (customer_id is not null));`);

    this.addSql(`
      with over as (
        select customer_id, balance - 2147483647 as excess, gen_random_uuid() as journal_id from wallet where balance > 2147483647
      ), moved as (
        insert into ledger_entry (id, journal_id, account, customer_id, amount, kind, actor)
        select gen_random_uuid(), journal_id, 'WALLET', customer_id, -excess, 'HOLD', 'system:migration' from over
        union all
        select gen_random_uuid(), journal_id, 'PAYABLE', customer_id, excess, 'HOLD', 'system:migration' from over
      )
      update wallet w set balance = 2147483647, updated_at = now() from over where w.customer_id = over.customer_id;`);
    this.addSql(`alter table "wallet" drop constraint "wallet_balance_check";`);
    this.addSql(`alter table "wallet" add constraint wallet_balance_check check (balance >= 0 and balance <= 2147483647);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "wallet" drop constraint "wallet_balance_check";`);
    this.addSql(`alter table "wallet" add constraint wallet_balance_check check (balance >= 0);`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_wallet_customer_check";`);
    this.addSql(`alter table "ledger_entry" add constraint ledger_entry_wallet_customer_check check ((account = 'WALLET') = (customer_id is not null));`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_kind_check";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_kind_check" check ("kind" in ('CREDIT', 'PAYMENT', 'REFUND', 'RELEASE', 'PAYOUT'));`);
    this.addSql(`alter table "ledger_entry" drop constraint "ledger_entry_account_check";`);
    this.addSql(`alter table "ledger_entry" add constraint "ledger_entry_account_check" check ("account" in ('WALLET', 'ESCROW', 'TAX', 'PROFIT', 'GATEWAY_CLEARING', 'FUNDING'));`);
    this.addSql(`alter table "order" drop constraint order_rates_check;`);
    this.addSql(`alter table "order"
      drop column "holds_unpaid_slot", drop column "holds_stock", drop column "holds_coupon_use",
      drop column "tax_rate_bps", drop column "platform_fee_bps", drop column "profit_tax_bps";`);
  }
}
