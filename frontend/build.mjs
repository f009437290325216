// Bundles the staff workspace's front-end assets into app/web/static/build/ (git-ignored), served locally:
// no CDN. Run by scripts/bootstrap.sh after `npm ci` when the lock file or a source changed.
import { build } from 'esbuild';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, '../app/web/static/build');

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [
    { in: resolve(here, '../app/web/static/js/diagram.js'), out: 'diagram' },
    { in: resolve(here, 'src/diagram.css'), out: 'diagram' },
    // The process owners' modeler: bpmn-js Modeler, properties panel, lint, minimap (templates/pages/modeler.html).
    { in: resolve(here, 'src/modeler/index.js'), out: 'modeler' },
    { in: resolve(here, 'src/modeler/modeler.css'), out: 'modeler' },
    { in: resolve(here, 'src/differ/index.js'), out: 'differ' },
    { in: resolve(here, 'src/differ/differ.css'), out: 'differ' },
  ],
  outdir,
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  format: 'iife',
  target: ['es2020'],
  nodePaths: [resolve(here, 'node_modules')], // the source lives outside frontend/
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  logLevel: 'warning',
});
// bpmn-js's licence travels with the bundle (it also asks that the bpmn.io watermark stay visible).
copyFileSync(resolve(here, 'node_modules/bpmn-js/LICENSE'), resolve(outdir, 'LICENSE.bpmn-js.txt'));
// Precompressed copies, sent to browsers that accept gzip (app/web/assets.py): modeler.js shrinks to about a fifth.
for (const name of readdirSync(outdir).filter((file) => /\.(js|css)$/.test(file))) {
  writeFileSync(resolve(outdir, `${name}.gz`), gzipSync(readFileSync(resolve(outdir, name)), { level: 9 }));
}
// Marks a finished build: bootstrap.sh compares its time with the sources'.
writeFileSync(resolve(outdir, '.built'), `${new Date().toISOString()}\n`);
