import { ArrayMaxSize, IsInt, IsOptional, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection, Money } from '../../shared/types';
import { MAX_PRICE } from '../plan';
import { CouponKind } from './coupon.entity';
import { CouponRejection } from './coupon.rules';

registerEnumType(CouponKind, {
  name: 'CouponKind',
  valuesConfig: {
    PERCENT: { description: 'value is a percentage, 1..100, of the subtotal.' },
    FIXED: { description: 'value is an amount in minor units taken off the subtotal.' },
  },
});

/** Longest coupon code, once surrounding spaces are dropped. */
export const MAX_CODE_LENGTH = 64;
/** Longest code argument accepted at all; anything longer is refused before any work (codes are trimmed after). */
const MAX_RAW_CODE = 256;
const MAX_COUNT = 1_000_000_000;

/** GraphQL `Coupon`, resolved from the entity. */
@ObjectType('Coupon')
export class CouponType {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  code: string;

  @Field(() => CouponKind)
  kind: CouponKind;

  @Field(() => Int)
  value: number;

  @Field(() => Date, { nullable: true })
  startsAt: Date | null;

  @Field(() => Date, { nullable: true })
  endsAt: Date | null;

  @Field(() => Int, { nullable: true })
  maxUses: number | null;

  @Field(() => Int, { nullable: true })
  maxUsesPerUser: number | null;

  @Field(() => Int, { nullable: true })
  minAmount: number | null;

  @Field(() => Int)
  usedCount: number;

  @Field(() => Boolean)
  enabled: boolean;
}

@ObjectType('CouponConnection')
export class CouponConnection extends Connection('Coupon', CouponType) {}

/** GraphQL `CouponPreview`: a priced purchase with a coupon, reserving nothing. */
@ObjectType('CouponPreview')
export class CouponPreviewType {
  @Field(() => String)
  code: string;

  @Field(() => Boolean)
  valid: boolean;

  @Field(() => CouponRejection, { nullable: true, description: 'Why the coupon cannot be used; null when valid.' })
  rejection: CouponRejection | null;

  @Field(() => String, { description: 'A sentence a person can read, for valid and invalid coupons alike.' })
  message: string;

  @Field(() => Money)
  subtotal: Money;

  @Field(() => Money)
  discount: Money;

  @Field(() => Money)
  tax: Money;

  @Field(() => Money)
  total: Money;
}

@InputType()
export class CreateCouponInput {
  /** Trimmed, then 1 to 64 characters (checked by the service); unique ignoring case. */
  @Field(() => String)
  @MaxLength(MAX_RAW_CODE)
  code: string;

  @Field(() => CouponKind)
  kind: CouponKind;

  /** PERCENT: 1..100 (checked by the service); FIXED: minor units above 0. */
  @Field(() => Int)
  @IsInt()
  @Min(1)
  @Max(MAX_PRICE)
  value: number;

  @Field(() => Date, { nullable: true })
  startsAt?: Date | null;

  @Field(() => Date, { nullable: true })
  endsAt?: Date | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_COUNT)
  maxUses?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_COUNT)
  maxUsesPerUser?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  minAmount?: number | null;

  @Field(() => [ID], { nullable: true, description: 'Plans the coupon applies to; empty or null means every plan.' })
  @IsOptional()
  @ArrayMaxSize(100)
  planIds?: string[] | null;
}

@ArgsType()
export class CouponArgs {
  @Field(() => ID)
  id: string;
}

@ArgsType()
export class SetCouponEnabledArgs {
  @Field(() => ID)
  id: string;

  @Field(() => Boolean)
  enabled: boolean;
}

@ArgsType()
export class CouponPreviewArgs {
  @Field(() => String)
  @MaxLength(MAX_RAW_CODE)
  code: string;

  @Field(() => ID)
  planId: string;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(50)
  upgradeIds?: string[] | null;
}

@ArgsType()
export class CouponsArgs {
  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  /** 1 to 100, default 20 (checked by the service, which says BAD_USER_INPUT outside that range). */
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  first?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(400)
  after?: string | null;
}
