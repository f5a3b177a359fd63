import type { ApolloServerPlugin } from '@apollo/server';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

/** The IDE's headers until a person pastes a token: a bare `Bearer ` counts as no token, so the schema loads. */
const NO_TOKEN_HEADERS = JSON.stringify({ Authorization: 'Bearer ' }, null, 2);

/** One tab the IDE opens with. GraphiQL titles it with the name of its first operation. */
export interface ExampleTab {
  query: string;
  /** JSON text, or null for none. */
  variables: string | null;
}

const vars = (v: Record<string, unknown>) => JSON.stringify(v, null, 2);

/**
 * The example operations a person finds on opening the IDE, in the order of a first visit: see the
 * catalogue, order and pay, watch the order move, then the admin's view. Each says which token it
 * needs; `npm run seed` prints one per role.
 */
export const EXAMPLE_TABS: readonly ExampleTab[] = [
  {
    query: `# Plans on sale to you; without a token, those of the \`default\` customer group.
#
# \`npm run seed\` fills a demo catalogue and prints a token per role. Paste one in
# the Headers tab below as {"Authorization": "Bearer <token>"} to see what that
# customer sees: demo-bob is in the \`partners\` group and sees one plan more.
# Amounts are integers in minor units: 4900 USD is $49.00.
query BrowsePlans {
  plans {
    id
    name
    description
    price { amount currency }
    durationDays
    stockRemaining
    upgrades { id name price { amount currency } }
  }
}
`,
    variables: null,
  },
  {
    query: `# Order a plan and pay it from the wallet. Headers: a customer's token
# (demo-alice's from \`npm run seed\`; her wallet holds money).
#
# 1. Put a plan id from BrowsePlans in the variables and run CreateOrder: the
#    price is locked and the order waits, PENDING, for its payment.
# 2. Put the order id it answers in the variables and run PayWithWallet.
# 3. MyWallet shows what is left. (Watch it all live in the FollowOrder tab.)
mutation CreateOrder($planId: ID!, $couponCode: String) {
  createOrder(input: { planId: $planId, couponCode: $couponCode }) {
    id
    number
    status
    subtotal { amount currency }
    discount { amount }
    tax { amount }
    total { amount currency }
    expiresAt
  }
}

mutation PayWithWallet($orderId: ID!) {
  payWithWallet(orderId: $orderId) {
    id
    number
    status
    paidAt
    delivery { status }
  }
}

query MyWallet {
  wallet { balance { amount currency } }
}
`,
    variables: vars({ planId: '<id of a plan from BrowsePlans>', couponCode: 'WELCOME10', orderId: '<id that CreateOrder answered>' }),
  },
  {
    query: `# Follow an order live over graphql-ws: its state now, then every change.
# Headers: the order's customer, its plan's provider or an admin.
#
# Start it, then pay the order in the CreateOrder tab: the answer here moves from
# PENDING to PAID and, once delivered, to DELIVERED, each with a larger version.
subscription FollowOrder($orderId: ID!) {
  orderUpdated(orderId: $orderId) {
    id
    number
    status
    version
    paidAt
    deliveredAt
    delivery { status attempts }
  }
}
`,
    variables: vars({ orderId: '<id of one of your orders>' }),
  },
  {
    query: `# Admin: the latest paid orders, newest first, 20 a page.
# Headers: an admin's token (demo-admin's from \`npm run seed\`).
# For the next page, put pageInfo.endCursor in the variables as "after".
query AdminPaidOrders($after: String) {
  orders(filter: { status: PAID }, first: 20, after: $after) {
    edges {
      node {
        id
        number
        status
        plan { name }
        total { amount currency }
        paymentMethod
        paidAt
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`,
    variables: null,
  },
];

/** What a tab opened with "+" starts with. */
const NEW_TAB_QUERY = `# Write an operation here; the first tabs hold examples. Ctrl-Enter runs it.
`;

/**
 * GraphiQL cancels the drag offsets of its tabs only while they are not focused. A page that opens
 * with several tabs keeps a stale offset on them, so a tab jumps away under the pointer as the click
 * focuses it and the click is lost. Cancelled always, a tab stays where it is seen (dragging one no
 * longer shows it moving; it still reorders on drop).
 */
const TAB_STYLE = '.graphiql-tab{transform:none!important}';

type GraphiQLOptions = NonNullable<Parameters<typeof renderGraphiQL>[0]>;

/**
 * Apollo landing page serving GraphiQL as one self-contained page (no CDN), so the IDE works offline.
 * Subscriptions run over graphql-ws on the same path. It opens with {@link EXAMPLE_TABS}, unless the
 * browser kept the tabs of an earlier visit.
 */
export function graphiqlLandingPage(endpoint = '/graphql'): ApolloServerPlugin {
  const options: GraphiQLOptions & { query: string } = {
    endpoint,
    subscriptionsProtocol: 'WS',
    title: 'Plan commerce API',
    defaultQuery: NEW_TAB_QUERY,
    // Every tab starts with `headers` below. On a reload GraphiQL looks for the tab it last showed by
    // query, variables and headers; with these (and `query`, which the page reads though its type does
    // not name it) it finds the first tab again instead of adding a copy of it.
    defaultTabs: EXAMPLE_TABS.map((t) => ({ ...t, headers: null })),
    query: EXAMPLE_TABS[0].query,
    headers: NO_TOKEN_HEADERS,
    shouldPersistHeaders: true,
  };
  let html: string | undefined;
  return {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          html ??= renderGraphiQL(options).replace('</head>', `<style>${TAB_STYLE}</style></head>`);
          return { html };
        },
      };
    },
  };
}
