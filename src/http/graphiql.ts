import type { ApolloServerPlugin } from '@apollo/server';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

const DEFAULT_QUERY = `# Plans on sale to you. Add a header {"Authorization": "Bearer <token>"}
# (npm run token -- --sub alice --role admin) to try every operation.
query Plans {
  plans { id name price { amount currency } stockRemaining upgrades { id name price { amount } } }
}
`;

/**
 * Apollo landing page serving GraphiQL as one self-contained page (no CDN), so the IDE works offline.
 * Subscriptions run over graphql-ws on the same path.
 */
export function graphiqlLandingPage(endpoint = '/graphql'): ApolloServerPlugin {
  let html: string | undefined;
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          html ??= renderGraphiQL({
            endpoint,
            subscriptionsProtocol: 'WS',
            title: 'Plan commerce API',
            defaultQuery: DEFAULT_QUERY,
            headers: JSON.stringify({ Authorization: 'Bearer ' }),
            shouldPersistHeaders: true,
          });
          return { html };
        },
      };
    },
  };
}
