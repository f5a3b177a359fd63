/**
 * A lifecycle's transition table. Services change a status only through {@link StateMachine.from},
 * which names the states a guarded `update ... where status = any(from)` may start from, so the
 * table and the database agree on every change even under races.
 */
export class StateMachine<S extends string> {
  constructor(
    readonly name: string,
    private readonly table: Readonly<Record<S, readonly S[]>>,
  ) {}

  /** Whether `from → to` is allowed. */
  can(from: S, to: S): boolean {
    return this.table[from].includes(to);
  }

  /** The states from which `to` may be reached. */
  from(to: S): S[] {
    return (Object.keys(this.table) as S[]).filter((s) => this.table[s].includes(to));
  }

  /** The states that can still change (have a way out). */
  open(): S[] {
    return (Object.keys(this.table) as S[]).filter((s) => this.table[s].length > 0);
  }

  /** Throws `error()` unless `from → to` is allowed. */
  assert(from: S, to: S, error: () => Error): void {
    if (!this.can(from, to)) throw error();
  }
}
