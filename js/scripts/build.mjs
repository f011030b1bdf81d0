// Two bundles of the same source, src/index.ts, with their dependencies bundled in:
//   dist/index.js                   an ES module, for <script type="module"> and Node >= 20;
//   dist/telemetry-core-client.js   an IIFE for a classic <script> (and require.js pages
//                                   such as the classic notebook): window.TelemetryCoreClient.
// Then the .d.ts files from tsc.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
const common = {
  entryPoints: ["src/index.ts"], bundle: true, target: "es2022", sourcemap: true,
  legalComments: "inline",
};
await build({ ...common, outfile: "dist/index.js", format: "esm", platform: "neutral" });
// No AMD define(): require.js loads it as a plain script, and a page that has require.js
// and also adds it with a <script> tag gets no "mismatched anonymous define" error.
await build({ ...common, outfile: "dist/telemetry-core-client.js", format: "iife",
              globalName: "TelemetryCoreClient", platform: "browser" });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], { stdio: "inherit" });
console.log("built dist/index.js, dist/telemetry-core-client.js and dist/*.d.ts");
