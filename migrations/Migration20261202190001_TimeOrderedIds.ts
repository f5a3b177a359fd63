import { Migration } from '@mikro-orm/migrations';

/**
 * Redefines `wallet_pay_order` (Migration20261202170000_ConfirmPayment) as it stands with its ledger
 * entries' key expression `from` replaced by `to`: the same function, only its keys made otherwise.
 */
const rekeyLedgerEntries = (from: string, to: string) => `
  do $$ begin
    execute replace(pg_get_functiondef('wallet_pay_order(uuid, text, text, uuid, bigint, text)'::regprocedure), '${from}', '${to}');
  end $$;`;

/**
 * Keys made in the database are time-ordered, as those made by the API are (`newId()`,
 * src/shared/ids.ts): `uuid_v7()` returns a UUIDv7 (RFC 9562: 48 bits of Unix time in milliseconds, the
 * version, then random bits), which PostgreSQL 15 does not have built in. Orders (createOrder) and a
 * payment's ledger entries take their keys from it, so each insert lands on the right-hand pages of the
 * indexes keyed by them rather than on a random page of the whole index. Keys are ordered to the
 * millisecond (within one they are random, unlike `newId()`'s, which count), which is what locality needs.
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
    this.addSql(rekeyLedgerEntries('gen_random_uuid()', 'uuid_v7()'));
  }

  override async down(): Promise<void> {
    this.addSql(rekeyLedgerEntries('uuid_v7()', 'gen_random_uuid()'));
    this.addSql(`drop function if exists uuid_v7(timestamptz);`);
  }
}
