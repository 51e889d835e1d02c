// @vcr/client-sdk: see ../README.md (being built).
export {};
