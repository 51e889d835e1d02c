// How often live pages ask for the newest certified head or list again
// (Blocks, Pending); the Registry follows the verified change stream instead.
export const consoleLivePollMs = 2_000;
