import { ArrayMaxSize, IsInt, IsOptional, Length, MaxLength } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { OrderStatus } from './order.entity';

@InputType()
export class CreateOrderInput {
  @Field(() => ID)
  planId: string;

  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(50)
  upgradeIds?: string[] | null;

  /** Trimmed, then 1 to 64 characters (checked by the service). */
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(256)
  couponCode?: string | null;

  @Field(() => String, { nullable: true, description: 'A client-chosen key: the same key from the same customer returns the same order.' })
  @IsOptional()
  @Length(1, 200)
  idempotencyKey?: string | null;
}

@ArgsType()
export class OrderArgs {
  @Field(() => ID)
  id: string;
}

@ArgsType()
export class CancelOrderArgs {
  @Field(() => ID)
  orderId: string;
}

@ArgsType()
export class MyOrdersArgs {
  /** 1 to 100, default 20 (checked by the service, which says BAD_USER_INPUT outside that range). */
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  first?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(200)
  after?: string | null;

  @Field(() => OrderStatus, { nullable: true })
  status?: OrderStatus | null;
}
