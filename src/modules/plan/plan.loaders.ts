import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import type { CallerContext } from '../../shared/caller';
import type { CataloguePlan } from './catalogue';
import { Plan, PlanUpgrade } from './plan.entity';
import type { PlanService } from './plan.service';

/**
 * Per-request batch loaders of the catalogue, so lists of plans and orders cost one query per kind at
 * most. `em` is the request's EntityManager, asked for only when a loader reads the database.
 */
export function planLoaders(em: () => EntityManager, plans: Pick<PlanService, 'plansById' | 'knownPlan'>) {
  return {
    /** A plan by id as {@link planViewById} gives it, without waiting when this instance remembers it. */
    knownPlan: (id: string): CataloguePlan | undefined => plans.knownPlan(id),
    upgradesByPlan: new DataLoader<string, PlanUpgrade[]>(async (planIds) => {
      const rows = await em().find(PlanUpgrade, { plan: { $in: [...planIds] } }, { orderBy: { position: 'asc' } });
      const byPlan = new Map<string, PlanUpgrade[]>();
      for (const r of rows) {
        const list = byPlan.get(r.plan.id) ?? [];
        list.push(r);
        byPlan.set(r.plan.id, list);
      }
      return planIds.map((id) => byPlan.get(id) ?? []);
    }),
    upgradeById: new DataLoader<string, PlanUpgrade | null>(async (ids) => {
      const rows = await em().find(PlanUpgrade, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    planById: new DataLoader<string, Plan | null>(async (ids) => {
      const rows = await em().find(Plan, { id: { $in: [...ids] } });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /**
     * Plans by id as plain catalogue data (any sale status), remembered across requests while the
     * catalogue's version holds (see `PlanService.plansById`): what an order's `plan` shows.
     */
    planViewById: new DataLoader<string, CataloguePlan | null>((ids) => plans.plansById(em, ids)),
  };
}

export type PlanLoaders = ReturnType<typeof planLoaders>;

/** A resolver context that also carries the catalogue's batch loaders (see {@link CallerContext}). */
export interface LoadingContext<S = unknown> extends CallerContext<S> {
  loaders: PlanLoaders;
}
