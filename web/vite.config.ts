/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// No React plugin: Vite's own transform compiles TSX with the automatic JSX runtime (tsconfig "jsx"), and the
// console needs no fast refresh to be built and served. `npm run dev` proxies the API to a running gateway.
export default defineConfig({
  base: "/",
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": process.env.CLINICFLOW_GATEWAY ?? "http://127.0.0.1:8000" } },
  test: {
    environment: "happy-dom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
