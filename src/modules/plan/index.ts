/** The catalogue: plans and their upgrades, who sees them, what a caller may buy. */
import { Plan, PlanUpgrade } from './plan.entity';
import { PlanResolver, PlanUpgradeResolver } from './plan.resolver';

export { Plan, PlanUpgrade, SaleStatus } from './plan.entity';
export type { CataloguePlan, CatalogueUpgrade } from './catalogue';
export { planLoaders, type LoadingContext, type PlanLoaders } from './plan.loaders';
export { PlanService, type CatalogueTopics } from './plan.service';
export { MAX_PRICE, PlanType, PlanUpgradeType } from './plan.types';
export {
  checkPurchaseIds,
  purchaseFacts,
  purchaseFrom,
  purchaseRead,
  purchaseStill,
  resolvePurchase,
  type Purchase,
  type PurchaseFacts,
  type PurchaseRows,
} from './purchase';
export { giveBackStockUnits, takeStockUnit } from './stock';
export { PlanResolver, PlanUpgradeResolver };

/** The module's entities, for the ORM. */
export const entities = [Plan, PlanUpgrade];
/** The module's resolvers, for the schema. */
export const resolvers = [PlanResolver, PlanUpgradeResolver] as const;
