import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../../shared/caller';
import { BadUserInputError, NotFoundError, PlanNotAvailableError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { MAX_ORDER_AMOUNT } from '../../shared/money';
import { query, sql, textArray, type Sql } from '../../shared/sql';
import { Plan, PlanUpgrade, SaleStatus } from './plan.entity';
import type { PlanService } from './plan.service';

/** A plan and upgrades the caller may buy, with their subtotal. */
export interface Purchase {
  plan: Plan;
  /** In the order the caller named them. */
  upgrades: PlanUpgrade[];
  /** Plan price plus upgrade prices, minor units. */
  subtotal: number;
}

/**
 * What an order of a purchase is priced and written from, as plain data (no entity), so it can be kept
 * between requests: see {@link purchaseStill}.
 */
export interface PurchaseFacts {
  planId: string;
  name: string;
  price: number;
  /** Whether the plan has a stock (an order then takes a unit of it). */
  limited: boolean;
  providerId: string | null;
  /** In the order the caller named them. */
  upgrades: ReadonlyArray<{ id: string; name: string; price: number }>;
  subtotal: number;
}

/** The {@link PurchaseFacts} of a resolved purchase. */
export function purchaseFacts({ plan, upgrades, subtotal }: Purchase): PurchaseFacts {
  return {
    planId: plan.id,
    name: plan.name,
    price: plan.price,
    limited: plan.stock !== null,
    providerId: plan.provider?.id ?? null,
    upgrades: upgrades.map((u) => ({ id: u.id, name: u.name, price: u.price })),
    subtotal,
  };
}

/**
 * A condition (for another module's statement) that holds while `facts` are still true of the plan and
 * its upgrades (name, price, stock or none, provider, each upgrade's name and price) and the plan is on
 * sale to the customer whose group `group` gives (an expression, null when the customer has no row),
 * so a statement can act on facts read earlier and refuse when they have changed since.
 */
export function purchaseStill(facts: PurchaseFacts, group: Sql): Sql {
  const ids = facts.upgrades.map((u) => u.id);
  const upgrades = ids.length
    ? sql`(select jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name, 'price', u.price) order by x.n)
             from unnest(${textArray(ids)}::uuid[]) with ordinality as x(id, n) join plan_upgrade u on u.id = x.id and u.plan_id = p.id)
          = ${JSON.stringify(facts.upgrades)}::jsonb`
    : sql`true`;
  return sql`exists (select from plan p
                      where p.id = ${facts.planId}::uuid and p.name = ${facts.name} and p.price = ${facts.price}::int
                        and (p.stock is not null) = ${facts.limited} and p.provider_id is not distinct from ${facts.providerId}::text
                        and p.sale_status = ${SaleStatus.ON_SALE} and ${group} is not null and (cardinality(p.groups) = 0 or ${group} = any(p.groups))
                        and ${upgrades})`;
}

/** What {@link purchaseRead} reads: the plan's row and the rows of the upgrades asked for, as JSON. */
export interface PurchaseRows {
  plan: Record<string, unknown>;
  upgrades: Array<Record<string, unknown>>;
}

/**
 * Checks the upgrade ids a caller names before anything is read: BAD_USER_INPUT when one is repeated
 * or is not a UUID. Returns whether the plan id can name a plan at all (a UUID).
 */
export function checkPurchaseIds(planId: string, upgradeIds: readonly string[]): boolean {
  if (new Set(upgradeIds).size !== upgradeIds.length) throw BadUserInputError.field('upgradeIds', 'an upgrade may be chosen once only');
  if (upgradeIds.some((id) => !isUuid(id))) throw BadUserInputError.field('upgradeIds', 'not an upgrade of this plan');
  return isUuid(planId);
}

/**
 * The read of a purchase as one column of another module's statement: the plan and those of
 * `upgradeIds` that are its upgrades, as one JSON value ({@link PurchaseRows}; null for an unknown plan),
 * so that making an order reads its plan, its coupon and its customer's group in one round trip. Takes
 * ids that passed {@link checkPurchaseIds}.
 */
export function purchaseRead(planId: string, upgradeIds: readonly string[]): Sql {
  const upgrades = upgradeIds.length
    ? sql`coalesce((select json_agg(u) from plan_upgrade u where u.plan_id = p.id and u.id = any(${textArray(upgradeIds)}::uuid[])), '[]'::json)`
    : sql`'[]'::json`;
  return sql`(select json_build_object('plan', row_to_json(p), 'upgrades', ${upgrades}) from plan p where p.id = ${planId}::uuid)`;
}

/**
 * Judges what {@link purchaseRead} read for `viewer` (see {@link resolvePurchase} for the answers), and
 * returns the purchase with its plan and upgrades as managed entities of `em`.
 */
export function purchaseFrom(em: EntityManager, plans: PlanService, viewer: Viewer, rows: PurchaseRows | null, upgradeIds: readonly string[]): Purchase {
  const plan = rows ? em.map(Plan, rows.plan) : null;
  if (!plan || !plans.canSee(plan, viewer)) throw new NotFoundError('No such plan');
  if (!plan.isVisibleTo(viewer.group)) throw new PlanNotAvailableError();

  const byId = new Map((rows?.upgrades ?? []).map((u) => [u.id as string, u]));
  if (byId.size !== upgradeIds.length) throw BadUserInputError.field('upgradeIds', 'not an upgrade of this plan');
  const upgrades = upgradeIds.map((id) => {
    const row = byId.get(id.toLowerCase());
    if (!row) throw BadUserInputError.field('upgradeIds', 'not an upgrade of this plan');
    return em.map(PlanUpgrade, row);
  });
  const subtotal = upgrades.reduce((sum, u) => sum + u.price, plan.price);
  if (subtotal > MAX_ORDER_AMOUNT) throw BadUserInputError.field('upgradeIds', 'the order amount is too large');
  return { plan, upgrades, subtotal };
}

/**
 * Resolves what a caller wants to buy, or says why they cannot:
 * - NOT_FOUND when the plan does not exist or the caller cannot see it at all (the answer `plan(id)`
 *   gives as null), so a customer learns nothing about plans hidden from them;
 * - PLAN_NOT_AVAILABLE when the caller can see the plan (an admin, the plan's own provider) but it is
 *   not on sale to the caller's group (HIDDEN, RETIRED, or listed to other groups only);
 * - BAD_USER_INPUT when an upgrade id is repeated, is not a UUID, or is not an upgrade of this plan.
 */
export async function resolvePurchase(
  em: EntityManager,
  plans: PlanService,
  viewer: Viewer,
  planId: string,
  upgradeIds: readonly string[] | null | undefined,
): Promise<Purchase> {
  const ids = upgradeIds ?? [];
  if (!checkPurchaseIds(planId, ids)) throw new NotFoundError('No such plan');
  const [row] = await query<{ purchase: PurchaseRows | null }>(em, sql`select ${purchaseRead(planId, ids)} as purchase`);
  return purchaseFrom(em, plans, viewer, row.purchase, ids);
}
