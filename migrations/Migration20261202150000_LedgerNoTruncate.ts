import { Migration } from '@mikro-orm/migrations';

/**
 * The ledger refused row updates and deletes but not TRUNCATE, which empties the books in one
 * statement; the audit log already refuses all three. Refuse it for the ledger too.
 */
export class Migration20261202150000_LedgerNoTruncate extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create trigger ledger_entry_no_truncate before truncate on ledger_entry
        for each statement execute function ledger_entry_immutable();`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists ledger_entry_no_truncate on ledger_entry;`);
  }
}
