// The audit console. Workspace packages are TypeScript sources: Next compiles
// them (transpilePackages). Type errors are the root `npm run typecheck`'s to
// find (one strict config for the repo), so the build does not check twice.
/** @type {import('next').NextConfig} */
const config = {
  transpilePackages: ['@vcr/proofs', '@vcr/registry', '@vcr/client-sdk'],
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  reactStrictMode: true,
};
export default config;
