import { Migration } from '@mikro-orm/migrations';

/**
 * Database objects the entity metadata cannot describe: the order number sequence, and the rule that
 * every journal transaction of the ledger sums to zero (checked at commit by a deferred trigger).
 */
export class Migration20261123111900_LedgerGuards extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create sequence if not exists "order_number_seq" start 1001;`);
    this.addSql(`
      create or replace function ledger_journal_balanced() returns trigger language plpgsql as $$
      declare s bigint;
      begin
        select coalesce(sum(amount), 0) into s from ledger_entry where journal_id = new.journal_id;
        if s <> 0 then
          raise exception 'ledger journal % does not balance (sum %)', new.journal_id, s using errcode = '23514';
        end if;
        return null;
      end $$;`);
    this.addSql(`
      create constraint trigger ledger_journal_balanced
        after insert on ledger_entry deferrable initially deferred
        for each row execute function ledger_journal_balanced();`);
    this.addSql(`
      create or replace function ledger_entry_immutable() returns trigger language plpgsql as $$
      begin
        raise exception 'ledger entries are immutable' using errcode = '55000';
      end $$;`);
    this.addSql(`
      create trigger ledger_entry_immutable before update or delete on ledger_entry
        for each row execute function ledger_entry_immutable();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists ledger_entry_immutable on ledger_entry;`);
    this.addSql(`drop function if exists ledger_entry_immutable();`);
    this.addSql(`drop trigger if exists ledger_journal_balanced on ledger_entry;`);
    this.addSql(`drop function if exists ledger_journal_balanced();`);
    this.addSql(`drop sequence if exists "order_number_seq";`);
  }
}
