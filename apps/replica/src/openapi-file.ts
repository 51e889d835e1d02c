// The OpenAPI document served at GET /openapi.yaml. This module sits directly
// under src/, and the production bundle (scripts/build.mjs) directly under
// dist/, so `../openapi.yaml` is apps/replica/openapi.yaml from either.

export const OPENAPI_FILE = new URL('../openapi.yaml', import.meta.url);
