// The bundle as a browser downloads it (minified, gzipped), with and without the
// JSON Schema validator, so the validator's share stays visible.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";

async function size(external) {
  const out = await build({
    entryPoints: ["src/index.ts"], bundle: true, format: "esm", platform: "neutral",
    target: "es2022", minify: true, write: false, external, legalComments: "none",
  });
  const code = out.outputFiles[0].contents;
  return { min: code.length, gz: gzipSync(code, { level: 9 }).length };
}

const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
for (const [label, external] of [["with validator", []],
                                 ["without validator", ["@cfworker/json-schema"]]]) {
  const { min, gz } = await size(external);
  console.log(`${label.padEnd(18)} minified ${kb(min).padStart(8)}   min+gzip ${kb(gz).padStart(7)}`);
}
