import type { EntityManager } from '@mikro-orm/postgresql';

/** Work to run only once the transaction has committed: publishing events, and nothing that must not be lost. */
export class AfterCommit {
  private readonly tasks: Array<() => unknown> = [];
  add(task: () => unknown): void {
    this.tasks.push(task);
  }
  /** Runs every task; a failing one is reported, never undoes the commit or stops the others. */
  async run(onError: (e: unknown) => void): Promise<void> {
    for (const task of this.tasks) {
      try {
        await task();
      } catch (e) {
        onError(e);
      }
    }
  }
}

/**
 * Runs `work` as one transaction (all or nothing) on a fork of `em`, then the after-commit tasks it
 * registered. A rolled-back unit of work runs none of them, so no subscriber sees a state that was undone.
 */
export async function unitOfWork<T>(
  em: EntityManager,
  work: (tx: EntityManager, afterCommit: AfterCommit) => Promise<T>,
  onError: (e: unknown) => void = () => undefined,
): Promise<T> {
  const after = new AfterCommit();
  const result = await em.transactional((tx) => work(tx, after));
  await after.run(onError);
  return result;
}
