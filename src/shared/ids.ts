const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can be one of our UUID keys; anything else names no row, and must never reach SQL as a uuid. */
export const isUuid = (id: unknown): id is string => typeof id === 'string' && UUID.test(id);
