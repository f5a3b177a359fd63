import { getMetadataStorage, validateOrReject, type ValidationError, type ValidatorOptions } from 'class-validator';
import { ArgumentValidationError, type ValidatorFn } from 'type-graphql';

/**
 * How arguments are checked: the options type-graphql's own class-validator call would use with
 * `validate: { forbidUnknownValues: false, stopAtFirstError: true }` (it adds `skipMissingProperties`).
 */
const OPTIONS: ValidatorOptions = { forbidUnknownValues: false, stopAtFirstError: true, skipMissingProperties: true };

/** Per argument class: whether class-validator has any rule for it (decided once per class). */
const hasRules = new WeakMap<object, boolean>();

function ruled(value: object): boolean {
  const type = value.constructor;
  let known = hasRules.get(type);
  if (known === undefined) {
    known = getMetadataStorage().getTargetValidationMetadatas(type, '', true, false).length > 0;
    hasRules.set(type, known);
  }
  return known;
}

const isObject = (v: unknown): v is object => v !== null && typeof v === 'object';

/**
 * Checks one resolver argument with class-validator and the rules declared on its class, failing with
 * type-graphql's `ArgumentValidationError` (answered as BAD_USER_INPUT naming the field), as
 * type-graphql's built-in check does. It is given to type-graphql as `validateFn` because the built-in
 * one loads class-validator with a `require` on every call, a module lookup that showed up in the
 * API's profile of every mutation; this one also skips, without calling class-validator, scalars and
 * classes without rules.
 */
export const validateArgument: ValidatorFn = async (value) => {
  const targets = Array.isArray(value) ? value.filter(isObject) : isObject(value) ? [value] : [];
  const checked = targets.filter(ruled);
  if (checked.length === 0) return;
  try {
    await Promise.all(checked.map((t) => validateOrReject(t, OPTIONS)));
  } catch (e) {
    throw new ArgumentValidationError(e as ValidationError[]);
  }
};

/** For an argument checked by its service instead (the `validateFn` of `@Arg`/`@Args`). */
export const skipValidation: ValidatorFn = () => undefined;
