import { defineConfig } from "vitest/config";
import { resolve } from "node:path";

export default defineConfig({
  // Relative asset paths: the app serves dist/ from its own protocol.
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    rollupOptions: {
      input: { index: resolve(__dirname, "index.html"), settings: resolve(__dirname, "settings.html") },
    },
  },
  test: { environment: "jsdom" },
});
