/** Default and largest page of `myDeliveries` (the resolver declares the default to the complexity limit). */
export const MY_DELIVERIES_DEFAULT_PAGE = 50;
export const MY_DELIVERIES_MAX_PAGE = 100;
