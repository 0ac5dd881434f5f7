/// <reference types="vitest/config" />
// The console's build (served by `hcp up` at /) and dev server (`npm run dev`: Vite on :5173,
// proxying the API, the WebSocket and the docs to a running `hcp up`, HCP_API or :8080).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const api = process.env.HCP_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: false, // no public source maps
    assetsDir: "assets", // hashed file names: served with immutable caching
    chunkSizeWarningLimit: 800,
  },
  server: {
    port: 5173,
    proxy: {
      "/api": api,
      "/ws": { target: api.replace(/^http/, "ws"), ws: true },
      "/docs": api,
      "/openapi.json": api,
      "/health": api,
      "/metrics": api,
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
