// The classic notebook's nbextension, jupyterlab_telemetry/nbextension/:
//   main.js                    src/classic/index.ts with the shared modules it imports,
//                              bundled by esbuild into an AMD module for nbclassic's require.js;
//   telemetry-core-client.js   the JS client's IIFE build (js/dist), which main.js loads.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = "jupyterlab_telemetry/nbextension";
mkdirSync(out, { recursive: true });
// nbclassic's modules come in through define(); `load` gets them, and the client's
// global, as one environment object.
const banner = `define(["base/js/namespace", "base/js/dialog", "base/js/security", "base/js/utils",
        "./telemetry-core-client"], function (Jupyter, dialog, security, utils) {`;
const footer = `return {
  load_ipython_extension: function () {
    telemetryClassic.load({
      Jupyter: Jupyter, dialog: dialog, baseUrl: utils.get_body_data("baseUrl"),
      sanitize: function (html) { return security.sanitize_html(html); },
      client: window.TelemetryCoreClient
    });
  }
};
});`;
await build({
  entryPoints: ["src/classic/index.ts"], outfile: `${out}/main.js`, bundle: true,
  format: "iife", globalName: "telemetryClassic", target: "es2018", platform: "browser",
  external: ["telemetry-core-client"], banner: { js: banner }, footer: { js: footer },
  legalComments: "inline",
});
copyFileSync("../../js/dist/telemetry-core-client.js", `${out}/telemetry-core-client.js`);
console.log(`built ${out}/main.js and ${out}/telemetry-core-client.js`);
