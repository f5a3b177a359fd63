import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, NotFoundError } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { Customer, Role } from '../customer/customer.entity';
import { Plan, PlanUpgrade, SaleStatus } from './plan.entity';
import type { CreatePlanInput, UpdatePlanInput } from './plan.types';

/** Who is looking at the catalogue. */
export interface Viewer {
  group: string;
  role: Role | null;
  customerId: string | null;
}

/** The plan catalogue: what each customer group may buy, and its administration. */
export class PlanService {
  /** ON_SALE plans that name no group or name the viewer's group, oldest first. */
  async listVisible(em: EntityManager, group: string): Promise<Plan[]> {
    return em
      .createQueryBuilder(Plan, 'p')
      .select('*')
      .where({ saleStatus: SaleStatus.ON_SALE })
      .andWhere(`(cardinality(p.groups) = 0 or ? = any(p.groups))`, [group])
      .orderBy({ createdAt: 'asc', id: 'asc' })
      .getResultList();
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

  /** Admin: creates a plan with its upgrades in one transaction. */
  async create(em: EntityManager, input: CreatePlanInput): Promise<Plan> {
    return em.transactional(async (tx) => {
      const plan = new Plan(input.name, input.price);
      plan.description = input.description ?? null;
      plan.durationDays = input.durationDays ?? null;
      plan.saleStatus = input.saleStatus ?? SaleStatus.ON_SALE;
      plan.groups = uniq(input.groups ?? []);
      plan.stock = input.stock ?? null;
      if (input.providerId != null) plan.provider = await this.provider(tx, input.providerId);
      tx.persist(plan);
      (input.upgrades ?? []).forEach((u, i) => tx.persist(new PlanUpgrade(plan, u.name, u.price, i)));
      return plan;
    });
  }

  /** Admin: changes a plan. Existing orders keep the price they locked. */
  async update(em: EntityManager, id: string, input: UpdatePlanInput): Promise<Plan> {
    return em.transactional(async (tx) => {
      const plan = isUuid(id) ? await tx.findOne(Plan, { id }, { lockMode: undefined }) : null;
      if (!plan) throw new NotFoundError('No such plan');
      if (input.name != null) plan.name = input.name;
      if (input.description !== undefined) plan.description = input.description;
      if (input.price != null) plan.price = input.price;
      if (input.groups !== undefined) plan.groups = uniq(input.groups ?? []);
      if (input.saleStatus != null) plan.saleStatus = input.saleStatus;
      if (input.stock !== undefined) plan.stock = input.stock;
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
