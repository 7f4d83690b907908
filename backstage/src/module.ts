// The backend module that adds `tenant-vending:request` to the scaffolder. In the Backstage
// backend: `backend.add(import('@tenant-vending/backstage'))`, with the API in the app config:
//
//   tenantVending:
//     endpoint: https://<api-id>.execute-api.<region>.amazonaws.com
//     region: eu-west-1   # optional: read from an execute-api host name

import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createRequestTenantAction } from './actions/request';

export const tenantVendingModule = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'tenant-vending',
  register(env) {
    env.registerInit({
      deps: {
        scaffolder: scaffolderActionsExtensionPoint,
        config: coreServices.rootConfig,
      },
      async init({ scaffolder, config }) {
        scaffolder.addActions(
          createRequestTenantAction({
            endpoint: config.getString('tenantVending.endpoint'),
            region: config.getOptionalString('tenantVending.region'),
          }),
        );
      },
    });
  },
});
