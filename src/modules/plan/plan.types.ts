import { ArrayMaxSize, IsInt, IsOptional, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { ArgsType, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MULTI_LINE, MULTI_LINE_MESSAGE, ONE_LINE, ONE_LINE_MESSAGE } from '../../shared/text';
import { SaleStatus } from './plan.entity';

registerEnumType(SaleStatus, {
  name: 'SaleStatus',
  valuesConfig: {
    ON_SALE: { description: 'Listed to the customer groups it names.' },
    HIDDEN: { description: 'Not listed; existing orders keep working.' },
    RETIRED: { description: 'Withdrawn for good.' },
  },
});

/** Largest price accepted, in minor units: the contract's amounts are 32-bit `Int`s and totals add tax on top. */
export const MAX_PRICE = 100_000_000;
const GROUP = /^[A-Za-z0-9_.:-]+$/;

@ObjectType('PlanUpgrade')
export class PlanUpgradeType {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  name: string;
}

@ObjectType('Plan')
export class PlanType {
  @Field(() => ID)
  id: string;

  @Field(() => String)
  name: string;

  @Field(() => String, { nullable: true })
  description: string | null;

  @Field(() => Int, { nullable: true, description: 'Length of the service period in days; null for a one-time service.' })
  durationDays: number | null;

  @Field(() => SaleStatus)
  saleStatus: SaleStatus;

  @Field(() => Int, { nullable: true, description: 'Units left to sell; null when the plan has no capacity limit.' })
  stockRemaining: number | null;
}

@InputType()
export class PlanUpgradeInput {
  @Field(() => String)
  @Length(1, 200)
  @Matches(ONE_LINE, { message: `name ${ONE_LINE_MESSAGE}` })
  name: string;

  @Field(() => Int)
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price: number;
}

@InputType()
export class CreatePlanInput {
  @Field(() => String)
  @Length(1, 200)
  @Matches(ONE_LINE, { message: `name ${ONE_LINE_MESSAGE}` })
  name: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(0, 5000)
  @Matches(MULTI_LINE, { message: `description ${MULTI_LINE_MESSAGE}` })
  description?: string | null;

  @Field(() => Int)
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price: number;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(36500)
  durationDays?: number | null;

  @Field(() => [String], { nullable: true, description: 'Customer groups that see the plan; empty or null means every group.' })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 64, { each: true })
  @Matches(GROUP, { each: true, message: 'groups may hold letters, digits and _ . : - only' })
  groups?: string[] | null;

  @Field(() => SaleStatus, { nullable: true, description: 'Default ON_SALE.' })
  saleStatus?: SaleStatus | null;

  @Field(() => Int, { nullable: true, description: 'Capacity limit; null means unlimited.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  stock?: number | null;

  @Field(() => [PlanUpgradeInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  upgrades?: PlanUpgradeInput[] | null;

  @Field(() => ID, {
    nullable: true,
    description:
      'The customer (role provider) who delivers the plan by hand and is paid on\ncompletion. Without one, the platform delivers automatically.',
  })
  @IsOptional()
  @Length(1, 64)
  providerId?: string | null;
}

@InputType()
export class UpdatePlanInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  @Matches(ONE_LINE, { message: `name ${ONE_LINE_MESSAGE}` })
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(0, 5000)
  @Matches(MULTI_LINE, { message: `description ${MULTI_LINE_MESSAGE}` })
  description?: string | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE)
  price?: number | null;

  @Field(() => [String], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100)
  @Length(1, 64, { each: true })
  @Matches(GROUP, { each: true, message: 'groups may hold letters, digits and _ . : - only' })
  groups?: string[] | null;

  @Field(() => SaleStatus, { nullable: true })
  saleStatus?: SaleStatus | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  stock?: number | null;
}

@ArgsType()
export class PlanArgs {
  @Field(() => ID)
  id: string;
}

@ArgsType()
export class UpdatePlanArgs {
  @Field(() => ID)
  id: string;

  @Field(() => UpdatePlanInput)
  @ValidateNested()
  input: UpdatePlanInput;
}

@ArgsType()
export class AllPlansArgs {
  @Field(() => SaleStatus, { nullable: true })
  saleStatus?: SaleStatus | null;
}
