import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';

/**
 * A batch loader per EntityManager fork: `loaderOf(em)` answers the fork's own loader, made on first use
 * with `batch`. Keyed by the fork, not the request: a subscription's events each start a new fork
 * (`CallerContext.freshReads`), so no event is answered from what an earlier one read.
 */
export function forkLoader<K, V>(batch: (em: EntityManager, keys: readonly K[]) => Promise<V[]>): (em: EntityManager) => DataLoader<K, V> {
  const loaders = new WeakMap<EntityManager, DataLoader<K, V>>();
  return (em) => {
    let loader = loaders.get(em);
    if (!loader) loaders.set(em, (loader = new DataLoader<K, V>((keys) => batch(em, keys))));
    return loader;
  };
}
