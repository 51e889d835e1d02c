// The load generator's HTTP transport, the same for both systems: the SDK's
// nodeFetch (node:http with keep-alive) instead of Node's global fetch, which
// costs about 1 ms of CPU per request on the 2-core machine and made the
// load generator, not the cluster, the limit (docs/benchmark.md). One pool
// for the whole run, with a socket per concurrent client.

import { nodeFetch } from '@vcr/client-sdk/node';

export const benchFetch = nodeFetch({ socketsPerHost: 512 });
