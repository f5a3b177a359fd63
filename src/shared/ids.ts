import { v7 } from 'uuid';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can be one of our UUID keys; anything else names no row, and must never reach SQL as a uuid. */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);

/**
 * A new row key: a UUIDv7, whose leading 48 bits are the time in milliseconds (then random bits), so
 * rows made together sit together in every index keyed by them. Inserts then land on the right-hand
 * pages of those B-trees instead of on random pages of the whole index, which on a large table means
 * far fewer pages to keep in memory and write out. The database's own keys come from `uuid_v7()`
 * (migrations/Migration20261202190001_TimeOrderedIds.ts), the same layout.
 */
export const newId = (): string => v7();
