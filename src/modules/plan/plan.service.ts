import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import { CATALOGUE_KEY, Topic, type EventBus, type Unlisten } from '../../infra/pubsub';
import { Role, type Principal, type Viewer } from '../../shared/caller';
import { BadUserInputError, NotFoundError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { unitOfWork, type AfterCommit } from '../../shared/unit-of-work';
import { AuditTargetType, type AuditService } from '../audit';
import { Customer, DEFAULT_GROUP } from '../customer';
import { CatalogueCache, listedTo, loadCatalogue, loadPlans, type CataloguePlan } from './catalogue';
import { Plan, PlanUpgrade, SaleStatus } from './plan.entity';
import type { CreatePlanInput, UpdatePlanInput } from './plan.types';

/**
 * What the catalogue topic carries: a plan or its stock changed (every instance drops its catalogue
 * copy), or a customer's group did (every instance forgets that customer's group).
 */
export interface CatalogueTopics {
  [Topic.CATALOGUE_CHANGED]: { planId: string } | { customerId: string };
}

/**
 * How long a catalogue copy, or a customer's remembered group, may serve listings at most, unless
 * configured (CATALOGUE_MAX_AGE_SECONDS). Changes made through this API reach every instance at once
 * through the bus; this bounds a listing's staleness when such a message is lost (Redis away) or the
 * database was changed by hand.
 */
export const CATALOGUE_MAX_AGE_MS = 5_000;

/** Customers whose group each instance remembers for listings. */
const REMEMBERED_GROUPS = 50_000;
/** Customers whose groups one statement re-reads at most. */
const GROUP_REFRESH_BATCH = 1_000;
/** The share of `maxAgeMs` after which a remembered group in use is re-read. */
const GROUP_REFRESH_AT = 0.75;
/** How long remembered groups due for a re-read wait for others to join their statement. */
const GROUP_REFRESH_DELAY_MS = 20;

/** A customer's group as last read: for which token role, and when (epoch ms). */
interface RememberedGroup {
  group: string;
  role: Role;
  readAt: number;
}

/** What a customer row says of its group and role. */
interface GroupRow {
  id: string;
  customer_group: string;
  role: Role;
}
/** Plans each instance remembers by id for orders' `plan` (of any sale status). */
const REMEMBERED_PLANS = 10_000;

/** The plan catalogue: what each customer group may buy, and its administration. */
export class PlanService {
  private readonly catalogue: CatalogueCache;
  /**
   * The group of recent callers by customer id, with the role it was read for, so a listing costs no
   * SQL. An entry serves for `maxAgeMs` after its read; past three quarters of that it is re-read in a batch
   * ({@link refreshGroups}), so a steady caller's listings never wait for the database.
   */
  private readonly groups: LRUCache<string, RememberedGroup>;
  /** Customers due for a re-read of their group. */
  private readonly groupsDue = new Set<string>();
  private groupRefresh: ReturnType<typeof setTimeout> | null = null;
  /** Moves on whenever remembered groups are forgotten (a change heard), so a read begun before is not kept. */
  private groupGeneration = 0;
  /** Customer rows' groups, the reads asked for in one tick taken by one statement. */
  private readonly groupRows: DataLoader<string, GroupRow | null>;
  /** Where {@link groupRows} reads: an EntityManager of whoever asked last. */
  private groupRowsFork: (() => EntityManager) | null = null;
  /** Plans read by id, valid for the catalogue version {@link plansVersion} and `maxAgeMs` at most. */
  private readonly plans: LRUCache<string, CataloguePlan>;
  private plansVersion = -1;
  private listening: Promise<Unlisten> | null = null;
  /** Whether {@link listening} has been confirmed (what `listeningToChanges` awaits), for synchronous reads. */
  private heard = false;

  constructor(
    private readonly bus: EventBus<CatalogueTopics>,
    /** Plan changes are recorded in the audit log. */
    private readonly audits: AuditService,
    /** How long a catalogue copy, a remembered group or a cached listing may serve at most. */
    readonly maxAgeMs = CATALOGUE_MAX_AGE_MS,
  ) {
    this.catalogue = new CatalogueCache(maxAgeMs);
    this.groups = new LRUCache({ max: REMEMBERED_GROUPS });
    this.groupRows = new DataLoader(
      async (ids) => {
        const rows = await this.groupRowsFork!().execute<GroupRow[]>(
          `select id, customer_group, role from customer where id in (${ids.map(() => '?').join(', ')})`,
          [...ids],
        );
        const byId = new Map(rows.map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id) ?? null);
      },
      { cache: false, maxBatchSize: GROUP_REFRESH_BATCH },
    );
    this.plans = new LRUCache({ max: REMEMBERED_PLANS, ttl: maxAgeMs });
    // Events missed while Redis was away may have been catalogue changes.
    bus.onReconnect(() => this.forgetAll());
  }

  /**
   * ON_SALE plans that name no group or name the viewer's group, oldest first. `viewer` reads the
   * caller's customer row (creating it on first use); it is called only when the group is not known.
   */
  async listVisible(em: EntityManager, principal: Principal | null, viewer: () => Promise<Viewer>): Promise<readonly CataloguePlan[]> {
    if (!(await this.listeningToChanges())) {
      // Without the bus this instance would not hear of other instances' changes: read the database.
      const group = (await viewer()).group;
      return listedTo(await loadCatalogue(em), group);
    }
    const group = principal ? await this.groupOf(principal, viewer, () => em) : DEFAULT_GROUP;
    return this.catalogue.visibleTo(group, () => loadCatalogue(em));
  }

  /**
   * The plan of `id` as {@link plansById} remembers it, when it does and its copy is still current; no
   * promise, so a page of orders whose plans are remembered resolves `plan` without waiting.
   */
  knownPlan(id: string): CataloguePlan | undefined {
    if (!this.heard || this.catalogue.version !== this.plansVersion) return undefined;
    return this.plans.get(id);
  }

  /**
   * Plans by id (any sale status, null for an unknown id), in the catalogue's form, for the `plan` of
   * orders: a page of orders names a few plans, read again and again. They are remembered as listings
   * are, while the catalogue's version holds (every plan or stock change moves it, on every instance,
   * after its commit) and for `maxAgeMs` at most; `em` is asked for only when some are not remembered.
   * Without the bus every call reads the database.
   */
  async plansById(em: () => EntityManager, ids: readonly string[]): Promise<Array<CataloguePlan | null>> {
    if (!(await this.listeningToChanges())) {
      const read = new Map((await loadPlans(em(), ids)).map((p) => [p.id, p]));
      return ids.map((id) => read.get(id) ?? null);
    }
    const version = this.catalogue.version;
    if (version !== this.plansVersion) {
      this.plans.clear();
      this.plansVersion = version;
    }
    const found = ids.map((id) => this.plans.get(id) ?? null);
    const missing = ids.filter((_, i) => !found[i]);
    if (!missing.length) return found;
    const read = new Map((await loadPlans(em(), missing)).map((p) => [p.id, p]));
    // A change committed while reading moved the version: what was read may predate it, so it is not kept.
    if (this.catalogue.version === version && this.plansVersion === version) for (const p of read.values()) this.plans.set(p.id, p);
    return ids.map((id, i) => found[i] ?? read.get(id) ?? null);
  }

  /**
   * What a catalogue listing for this caller depends on: the caller's group, whether it is an admin (who
   * also sees each plan's groups) and the version of the catalogue copy. Null when listings are read from
   * the database (this instance does not hear of changes). `fork` gives an EntityManager for re-reading
   * remembered groups in the background.
   */
  async listingKey(
    principal: Principal | null,
    viewer: () => Promise<Viewer>,
    fork: () => EntityManager,
  ): Promise<{ group: string; admin: boolean; version: number } | null> {
    if (!(await this.listeningToChanges())) return null;
    const version = this.catalogue.version;
    const group = principal ? await this.groupOf(principal, viewer, fork) : DEFAULT_GROUP;
    return { group, admin: principal?.role === Role.ADMIN, version };
  }

  /**
   * {@link listingKey} without waiting for anything: null unless this instance hears of changes and
   * remembers the caller's group (then the next listing, through the whole pipeline, remembers it).
   */
  knownListingKey(principal: Principal | null, fork: () => EntityManager): { group: string; admin: boolean; version: number } | null {
    if (!this.heard) return null;
    const group = principal ? this.rememberedGroup(principal, fork) : DEFAULT_GROUP;
    if (group === undefined) return null;
    return { group, admin: principal?.role === Role.ADMIN, version: this.catalogue.version };
  }

  /**
   * Registers, in the unit of work that changed a plan or its stock, that every instance must drop its
   * catalogue copy once the change has committed: this one before the mutation answers, the others
   * through the bus.
   */
  catalogueChanged(after: AfterCommit, planId: string): void {
    after.add(async () => {
      this.catalogue.invalidate();
      await this.bus.publish(Topic.CATALOGUE_CHANGED, CATALOGUE_KEY, { planId });
    });
  }

  /** As {@link catalogueChanged}, for a customer moved into another group. */
  customerGroupChanged(after: AfterCommit, customerId: string): void {
    after.add(async () => {
      this.forgetGroup(customerId);
      await this.bus.publish(Topic.CATALOGUE_CHANGED, CATALOGUE_KEY, { customerId });
    });
  }

  /** The caller's remembered group while it may serve (its re-read asked for when due), else undefined. */
  private rememberedGroup(principal: Principal, fork: () => EntityManager): string | undefined {
    const known = this.groups.get(principal.sub);
    // A token with another role updates the stored role, so it goes through the customer row.
    if (!known || known.role !== principal.role) return undefined;
    const age = Date.now() - known.readAt;
    if (age >= this.maxAgeMs) return undefined;
    if (age >= this.maxAgeMs * GROUP_REFRESH_AT) this.refreshGroupSoon(principal.sub, fork);
    return known.group;
  }

  private async groupOf(principal: Principal, viewer: () => Promise<Viewer>, fork: () => EntityManager): Promise<string> {
    const known = this.rememberedGroup(principal, fork);
    if (known !== undefined) return known;
    const generation = this.groupGeneration;
    const readAt = Date.now();
    if (this.groups.get(principal.sub)?.role === principal.role) {
      // Past its age, but this instance has seen the row with this role: it is read again with the other
      // callers' rows asked for at the same moment, one statement for all (no upsert of the row).
      const [row] = await this.readGroupRows([principal.sub], fork);
      if (row?.role === principal.role) {
        if (generation === this.groupGeneration) this.groups.set(principal.sub, { group: row.customer_group, role: row.role, readAt });
        return row.customer_group;
      }
    }
    const { group } = await viewer();
    if (generation === this.groupGeneration) this.groups.set(principal.sub, { group, role: principal.role, readAt });
    return group;
  }

  /** The rows of `ids` (null for a missing row), read in one batch with whatever else is asked for now. */
  private readGroupRows(ids: readonly string[], fork: () => EntityManager): Promise<Array<GroupRow | null>> {
    this.groupRowsFork = fork;
    return Promise.all(ids.map((id) => this.groupRows.load(id)));
  }

  private forgetGroup(customerId: string): void {
    this.groups.delete(customerId);
    this.groupGeneration++;
  }

  /** Puts a remembered group in the next batch re-read, which starts after a short wait for others. */
  private refreshGroupSoon(customerId: string, fork: () => EntityManager): void {
    this.groupsDue.add(customerId);
    this.scheduleGroupRefresh(fork);
  }

  private scheduleGroupRefresh(fork: () => EntityManager): void {
    if (this.groupRefresh || !this.groupsDue.size) return;
    this.groupRefresh = setTimeout(() => void this.refreshGroups(fork), GROUP_REFRESH_DELAY_MS);
    this.groupRefresh.unref();
  }

  /**
   * Re-reads the groups due, a batch per statement (their roles with them): each entry gets its new group
   * and read time, or is forgotten when the row is gone or has another role (the caller's next listing
   * then reads it through its customer row). Nothing is kept from a read that a heard change overtook; a
   * failed read leaves the entries to expire.
   */
  private async refreshGroups(fork: () => EntityManager): Promise<void> {
    const ids = [...this.groupsDue].slice(0, GROUP_REFRESH_BATCH);
    for (const id of ids) this.groupsDue.delete(id);
    const generation = this.groupGeneration;
    const readAt = Date.now();
    try {
      const rows = await this.readGroupRows(ids, fork);
      if (generation !== this.groupGeneration) return;
      for (const [i, id] of ids.entries()) {
        const known = this.groups.get(id);
        const row = rows[i];
        if (!known) continue;
        if (row && row.role === known.role) this.groups.set(id, { group: row.customer_group, role: known.role, readAt });
        else this.groups.delete(id);
      }
    } catch {
      // The entries expire at their age; the next listing of each reads its customer row.
    } finally {
      this.groupRefresh = null;
      this.scheduleGroupRefresh(fork);
    }
  }

  private forgetAll(): void {
    this.catalogue.invalidate();
    this.groups.clear();
    this.groupGeneration++;
    this.plans.clear();
  }

  /** Whether this instance hears of catalogue changes; subscribes on first use, and again after a failure. */
  private async listeningToChanges(): Promise<boolean> {
    if (!this.listening) {
      if (!this.bus.healthy()) return false;
      this.listening = this.bus.listen(Topic.CATALOGUE_CHANGED, CATALOGUE_KEY, (change) => {
        if ('planId' in change) this.catalogue.invalidate();
        else this.forgetGroup(change.customerId);
      });
      this.listening.then(
        () => (this.heard = true),
        () => (this.listening = null),
      );
    }
    try {
      await this.listening;
      return true;
    } catch {
      return false;
    }
  }

  /** A plan the viewer may see: listed to them, or any plan for admins and the plan's own provider. */
  async findVisible(em: EntityManager, id: string, viewer: Viewer): Promise<Plan | null> {
    if (!isUuid(id)) return null;
    const plan = await em.findOne(Plan, { id });
    if (!plan) return null;
    return this.canSee(plan, viewer) ? plan : null;
  }

  canSee(plan: Plan, viewer: Viewer): boolean {
    if (viewer.role === Role.ADMIN) return true;
    if (viewer.customerId && plan.provider?.id === viewer.customerId) return true;
    return plan.isVisibleTo(viewer.group);
  }

  /** Admin: every plan (of one sale status, when given), whatever its groups, oldest first. */
  async listAll(em: EntityManager, saleStatus: SaleStatus | null): Promise<Plan[]> {
    return em.find(Plan, saleStatus ? { saleStatus } : {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** Admin: creates a plan with its upgrades in one transaction, recorded in the audit log as made by `actor`. */
  async create(em: EntityManager, input: CreatePlanInput, actor: string): Promise<Plan> {
    return unitOfWork(em, async (tx, after) => {
      const plan = new Plan(input.name, input.price);
      plan.description = input.description ?? null;
      plan.durationDays = input.durationDays ?? null;
      plan.saleStatus = input.saleStatus ?? SaleStatus.ON_SALE;
      plan.groups = uniq(input.groups ?? []);
      plan.stock = input.stock ?? null;
      if (input.providerId != null) plan.provider = await this.provider(tx, input.providerId);
      tx.persist(plan);
      (input.upgrades ?? []).forEach((u, i) => tx.persist(new PlanUpgrade(plan, u.name, u.price, i)));
      await this.audits.record(tx, { actor, action: 'createPlan', targetType: AuditTargetType.PLAN, targetId: plan.id, details: { ...input } });
      this.catalogueChanged(after, plan.id);
      return plan;
    });
  }

  /**
   * Admin: changes a plan. Existing orders keep the price they locked. A RETIRED plan is withdrawn for
   * good: any other `saleStatus` for it is BAD_USER_INPUT (`saleStatus`), and nothing changes. Recorded
   * in the audit log as made by `actor`, with the fields given and what they held before.
   */
  async update(em: EntityManager, id: string, input: UpdatePlanInput, actor: string): Promise<Plan> {
    const mayUnretire = input.saleStatus != null && input.saleStatus !== SaleStatus.RETIRED;
    return unitOfWork(em, async (tx, after) => {
      // Locked when the status could leave RETIRED: a retirement committed after an unlocked read would
      // not be seen, and this update would put the plan back on sale.
      const plan = isUuid(id) ? await tx.findOne(Plan, { id }, { lockMode: mayUnretire ? LockMode.PESSIMISTIC_WRITE : undefined }) : null;
      if (!plan) throw new NotFoundError('No such plan');
      if (mayUnretire && plan.saleStatus === SaleStatus.RETIRED) {
        throw BadUserInputError.field('saleStatus', `the plan is RETIRED (withdrawn for good), so it cannot become ${input.saleStatus}`);
      }
      const before = Object.fromEntries(Object.keys(input).map((k) => [k, plan[k as keyof UpdatePlanInput] ?? null]));
      if (input.name != null) plan.name = input.name;
      if (input.description !== undefined) plan.description = input.description;
      if (input.price != null) plan.price = input.price;
      if (input.groups !== undefined) plan.groups = uniq(input.groups ?? []);
      if (input.saleStatus != null) plan.saleStatus = input.saleStatus;
      if (input.stock !== undefined) plan.stock = input.stock;
      await this.audits.record(tx, { actor, action: 'updatePlan', targetType: AuditTargetType.PLAN, targetId: plan.id, details: { ...input, before } });
      this.catalogueChanged(after, plan.id);
      return plan;
    });
  }

  private async provider(em: EntityManager, providerId: string): Promise<Customer> {
    const provider = await em.findOne(Customer, { id: providerId });
    if (!provider || provider.role !== Role.PROVIDER) {
      throw BadUserInputError.field('providerId', 'must name an existing customer with role provider');
    }
    return provider;
  }
}

const uniq = (xs: string[]): string[] => [...new Set(xs)];
