// Bundles the staff workspace's front-end assets into app/web/static/build/ (git-ignored), served locally:
// no CDN. Run by scripts/bootstrap.sh after `npm ci` when the lock file or a source changed.
//
// ES modules with code splitting: each page loads its entry (diagram.js: the complaint page's viewer, differ.js:
// the review desk, modeler.js: the editor) as <script type="module">, and the entry imports the chunks it needs
// from chunks/. A page that only views a diagram never loads the editor's code. The npm packages sit in chunks of
// their own (src/vendor.js), apart from our code. Chunk names carry a hash of their content, so they are kept a
// year (app/web/assets.py); the entries keep their names and are named by pages with a ?v= hash of their content
// (asset_url), which changes whenever a chunk they import does. meta.json (esbuild's metafile) tells assets.py
// which files are chunks and what each entry imports (for <link rel="modulepreload">).
import { build } from 'esbuild';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, '../app/web/static/build');

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [
    { in: resolve(here, '../app/web/static/js/diagram.js'), out: 'diagram' },
    { in: resolve(here, 'src/diagram.css'), out: 'diagram' },
    // The process owners' modeler: bpmn-js Modeler, properties panel, lint, minimap (templates/pages/modeler.html).
    { in: resolve(here, 'src/modeler/index.js'), out: 'modeler' },
    { in: resolve(here, 'src/modeler/modeler.css'), out: 'modeler' },
    { in: resolve(here, 'src/differ/index.js'), out: 'differ' },
    { in: resolve(here, 'src/differ/differ.css'), out: 'differ' },
    { in: resolve(here, 'src/vendor.js'), out: 'vendor' }, // shapes the chunks; no page loads it
  ],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  target: ['es2020'],
  nodePaths: [resolve(here, 'node_modules')], // the source lives outside frontend/
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  logLevel: 'warning',
});
// What assets.py needs of the metafile: per output (relative to the build folder), the chunks it imports and
// whether it is an entry.
const outputs = {};
for (const [path, output] of Object.entries(result.metafile.outputs)) {
  if (path.endsWith('.map')) continue;
  const name = relative(outdir, resolve(process.cwd(), path));
  outputs[name] = {
    entry: Boolean(output.entryPoint),
    imports: output.imports.filter((i) => i.kind === 'import-statement' && !i.external)
      .map((i) => relative(outdir, resolve(process.cwd(), i.path))),
  };
}
writeFileSync(resolve(outdir, 'meta.json'), `${JSON.stringify({ outputs }, null, 1)}\n`);
// bpmn-js's licence travels with the bundle (it also asks that the bpmn.io watermark stay visible).
copyFileSync(resolve(here, 'node_modules/bpmn-js/LICENSE'), resolve(outdir, 'LICENSE.bpmn-js.txt'));
// Precompressed copies, sent to browsers that accept gzip (app/web/assets.py): a bundle shrinks to about a fifth.
for (const name of readdirSync(outdir, { recursive: true }).filter((file) => /\.(js|css)$/.test(file))) {
  writeFileSync(resolve(outdir, `${name}.gz`), gzipSync(readFileSync(resolve(outdir, name)), { level: 9 }));
}
// Marks a finished build: bootstrap.sh compares its time with the sources'.
writeFileSync(resolve(outdir, '.built'), `${new Date().toISOString()}\n`);
