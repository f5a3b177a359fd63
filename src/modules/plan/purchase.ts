import type { EntityManager } from '@mikro-orm/postgresql';
import type { Viewer } from '../../shared/caller';
import { BadUserInputError, NotFoundError, PlanNotAvailableError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { MAX_ORDER_AMOUNT } from '../../shared/money';
import { Plan, PlanUpgrade } from './plan.entity';
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
  if (new Set(ids).size !== ids.length) throw BadUserInputError.field('upgradeIds', 'an upgrade may be chosen once only');
  const badId = ids.find((id) => !isUuid(id));
  if (badId !== undefined) throw BadUserInputError.field('upgradeIds', 'not an upgrade of this plan');

  const plan = isUuid(planId) ? await em.findOne(Plan, { id: planId }) : null;
  if (!plan || !plans.canSee(plan, viewer)) throw new NotFoundError('No such plan');
  if (!plan.isVisibleTo(viewer.group)) throw new PlanNotAvailableError();

  const found = ids.length ? await em.find(PlanUpgrade, { id: { $in: [...ids] }, plan: plan.id }) : [];
  const byId = new Map(found.map((u) => [u.id, u]));
  if (byId.size !== ids.length) throw BadUserInputError.field('upgradeIds', 'not an upgrade of this plan');
  const upgrades = ids.map((id) => byId.get(id)!);
  const subtotal = upgrades.reduce((sum, u) => sum + u.price, plan.price);
  if (subtotal > MAX_ORDER_AMOUNT) throw BadUserInputError.field('upgradeIds', 'the order amount is too large');
  return { plan, upgrades, subtotal };
}
