import { Migration } from '@mikro-orm/migrations';

/**
 * `coupon.code_key` becomes `text`. It holds the code in upper case (`couponKey`), and upper case can be
 * longer than the code: "ß" becomes "SS", "ﬃ" becomes "FFI", so a valid code of 64 characters can have
 * a key of up to three times that. In `varchar(64)` such a coupon could not be created (the insert failed
 * as an internal error). The code itself stays `varchar(64)`, the length the API checks. Changing
 * varchar to text rewrites neither the table nor `coupon_code_key_unique`'s index.
 */
export class Migration20261206141000_CouponCodeKeyText extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "coupon" alter column "code_key" type text;`);
  }

  override async down(): Promise<void> {
    // Fails while a coupon's key is over 64 characters: cutting keys could make two coupons one code.
    this.addSql(`alter table "coupon" alter column "code_key" type varchar(64);`);
  }
}
