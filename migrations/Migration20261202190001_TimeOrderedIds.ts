import { Migration } from '@mikro-orm/migrations';

/** A payment's ledger journal, as `confirm_payment` writes it; `id` is the key expression of its entries. */
const walletPayOrder = (id: string) => `
  create or replace function wallet_pay_order(p_journal uuid, p_method text, p_payer text, p_order uuid, p_amount bigint, p_actor text)
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
    values (${id}, p_journal, case when p_method = 'WALLET' then 'WALLET' else 'GATEWAY_CLEARING' end,
            case when p_method = 'WALLET' then p_payer end, p_order, -p_amount, 'PAYMENT', left(p_actor, 80)),
           (${id}, p_journal, 'ESCROW', null, p_order, p_amount, 'PAYMENT', left(p_actor, 80));
  end;
  $$;`;

/**
 * Keys made in the database are time-ordered, as those made by the API are (`newId()`,
 * src/shared/ids.ts): `uuid_v7()` returns a UUIDv7 (RFC 9562: 48 bits of Unix time in milliseconds, the
 * version, then random bits), which PostgreSQL 15 does not have built in. Orders (createOrder) and a
 * payment's ledger entries take their keys from it, so each insert lands on the right-hand pages of the
 * indexes keyed by them rather than on a random page of the whole index.
 *
 * Written in SQL so the planner inlines it into the statements that call it: the time (the clock's, or
 * `p_at` for a row made as of another time) overlays the first 6 bytes of a random UUID, and two bits
 * turn its version 4 into 7 (the variant bits stay as gen_random_uuid() sets them).
 */
export class Migration20261202190001_TimeOrderedIds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function uuid_v7(p_at timestamptz default clock_timestamp()) returns uuid language sql volatile parallel safe as $$
        select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                 placing substring(int8send(floor(extract(epoch from p_at) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid
      $$;`);
    this.addSql(walletPayOrder('uuid_v7()'));
  }

  override async down(): Promise<void> {
    this.addSql(walletPayOrder('gen_random_uuid()'));
    this.addSql(`drop function if exists uuid_v7(timestamptz);`);
  }
}
