/**
 * The field extension by which a list field declares how many items it returns when `first` is not
 * given (for a list without `first`: how many at most), where that is not a default page: a resolver
 * that applies a default of its own cannot show it as the argument's default value. The complexity
 * limit counts the list's selection that many times (see `listEstimator` in http/limits.ts).
 */
export const LIST_ITEMS_EXTENSION = 'listItems';
