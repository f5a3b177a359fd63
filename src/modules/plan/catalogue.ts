import type { EntityManager } from '@mikro-orm/postgresql';
import { remainingStock, SaleStatus, shownToGroup } from './plan.entity';

/** An upgrade as the catalogue lists it. */
export interface CatalogueUpgrade {
  readonly id: string;
  readonly name: string;
  /** Minor units. */
  readonly price: number;
}

/** A plan on sale as the catalogue lists it: plain, frozen data shared by every request that reads it. */
export interface CataloguePlan {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  /** Minor units. */
  readonly price: number;
  readonly durationDays: number | null;
  readonly saleStatus: SaleStatus;
  readonly stockRemaining: number | null;
  /** Customer groups that see the plan; empty means every group. */
  readonly groups: readonly string[];
  readonly upgrades: readonly CatalogueUpgrade[];
}

/** The plans of `plans` that name no group or name `group`. */
export function listedTo(plans: readonly CataloguePlan[], group: string): readonly CataloguePlan[] {
  return plans.filter((p) => shownToGroup(p.groups, group));
}

interface Entry {
  loadedAt: number;
  plans: Promise<readonly CataloguePlan[]>;
  byGroup: Map<string, Promise<readonly CataloguePlan[]>>;
}

/**
 * The plans on sale, held in memory: the catalogue is read on every visit and changes rarely, so a
 * listing costs no SQL. Whoever changes a plan or its stock calls {@link invalidate} after the commit
 * (and tells the other instances through the bus); `maxAgeMs` bounds how stale a listing can be when
 * such a message is lost. Buying never trusts this copy: prices, visibility and stock are re-read
 * inside the order's transaction.
 */
export class CatalogueCache {
  private entry: Entry | null = null;
  private generation = 0;

  constructor(
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The plans on sale to `group`, oldest first; `load` reads them all when the copy is missing or too old. */
  visibleTo(group: string, load: () => Promise<readonly CataloguePlan[]>): Promise<readonly CataloguePlan[]> {
    const entry = this.current(load);
    let list = entry.byGroup.get(group);
    if (!list) {
      list = entry.plans.then((plans) => listedTo(plans, group));
      entry.byGroup.set(group, list);
    }
    return list;
  }

  /** Drops the copy: the next listing reads the database. A read already under way is not kept. */
  invalidate(): void {
    this.generation++;
    this.entry = null;
  }

  /**
   * Names the current copy: it changes with every {@link invalidate} and when the copy grows too old, so
   * answers built from the catalogue can be keyed by it and none outlives the copy it was built from.
   */
  get version(): number {
    this.dropIfOld();
    return this.generation;
  }

  private current(load: () => Promise<readonly CataloguePlan[]>): Entry {
    this.dropIfOld();
    if (this.entry) return this.entry;
    // Concurrent misses share one read.
    const entry: Entry = { loadedAt: this.clock(), plans: load(), byGroup: new Map() };
    this.entry = entry;
    entry.plans.catch(() => {
      if (this.entry === entry) this.invalidate();
    });
    return entry;
  }

  private dropIfOld(): void {
    if (this.entry && this.clock() - this.entry.loadedAt >= this.maxAgeMs) this.invalidate();
  }
}

interface CatalogueRow {
  id: string;
  name: string;
  description: string | null;
  price: number;
  duration_days: number | null;
  sale_status: SaleStatus;
  groups: string[];
  stock: number | null;
  stock_used: number;
  upgrades: CatalogueUpgrade[];
}

/** A plan's columns and its upgrades (as JSON, in list order) as {@link CatalogueRow} reads them, from `plan p`. */
const PLAN_COLUMNS = `p.id, p.name, p.description, p.price, p.duration_days, p.sale_status, p.groups, p.stock, p.stock_used,
            coalesce((select json_agg(json_build_object('id', u.id, 'name', u.name, 'price', u.price) order by u.position, u.id)
                        from plan_upgrade u where u.plan_id = p.id), '[]') as upgrades`;

/** A plan row as the catalogue shows it: plain, frozen data. */
function planOf(r: CatalogueRow): CataloguePlan {
  return Object.freeze<CataloguePlan>({
    id: r.id,
    name: r.name,
    description: r.description,
    price: r.price,
    durationDays: r.duration_days,
    saleStatus: r.sale_status,
    stockRemaining: remainingStock(r.stock, r.stock_used),
    groups: Object.freeze([...r.groups]),
    upgrades: Object.freeze(r.upgrades.map((u) => Object.freeze({ ...u }))),
  });
}

/** Reads every plan on sale with its upgrades in one statement. */
export async function loadCatalogue(em: EntityManager): Promise<readonly CataloguePlan[]> {
  const rows = await em.execute<CatalogueRow[]>(
    `select ${PLAN_COLUMNS}
       from plan p
      where p.sale_status = ?
      order by p.created_at, p.id`,
    [SaleStatus.ON_SALE],
  );
  return Object.freeze(rows.map(planOf));
}

/**
 * Reads the plans of `ids` (UUIDs), whatever their sale status, in the catalogue's form, in one
 * statement; unknown ids are left out.
 */
export async function loadPlans(em: EntityManager, ids: readonly string[]): Promise<CataloguePlan[]> {
  if (!ids.length) return [];
  const rows = await em.execute<CatalogueRow[]>(`select ${PLAN_COLUMNS} from plan p where p.id in (${ids.map(() => '?::uuid').join(', ')})`, [...ids]);
  return rows.map(planOf);
}
