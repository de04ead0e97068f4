import { resolve } from "node:path";
import { defineConfig } from "vite";

// The patient pages (docs/patient-pages.md): plain TypeScript, no framework, one small entry per page, built
// apart from the staff console into dist-patient. The gateway serves each page at its patient link's own URL
// (a browser's GET that accepts HTML) and the hashed assets under /p/.
const pages = ["pay", "book", "confirm", "reschedule", "anamnesis", "lead-form", "quote", "photos"];

export default defineConfig({
  root: resolve(import.meta.dirname, "patient"),
  base: "/p/",
  build: {
    outDir: resolve(import.meta.dirname, "dist-patient"),
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: Object.fromEntries(pages.map((p) => [p, resolve(import.meta.dirname, "patient", `${p}.html`)])),
    },
  },
});
