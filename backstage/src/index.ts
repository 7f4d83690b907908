// The tenant-vending scaffolder module: the signing action and the module that registers it.

export { createRequestTenantAction, isLoopback, regionOf, signedHeaders } from './actions/request';
export type { RequestTenantOptions } from './actions/request';
export { tenantVendingModule as default } from './module';
