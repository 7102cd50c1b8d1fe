// Builds Cowrite's browser assets from web/src into web/dist, which the Go
// binary embeds (web/assets.go). Run it through `make assets`.
//
//   dist/assets/NAME-HASH.{js,css}  the pages' bundles and shared chunks, cached forever
//   dist/embed.js, dist/embed.css   the script embed (window.Cowrite.mount), stable names
//   dist/cowrite.mjs, cowrite.d.mts the ES module for bundlers, and its types (also as .d.ts)
//   dist/sw.js                      the service worker, with the shell to precache
//   dist/manifest.json              entry point -> bundle URLs; written last
//
// node build.mjs [--dev]   --dev skips minification.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const web = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(web, 'src');
const dist = path.join(web, 'dist');
const dev = process.argv.includes('--dev');

// The browsers the editor supports: those that quill-cursors' selection
// painting needs (CSS Custom Highlight API) or close to them.
const target = ['chrome111', 'edge111', 'firefox115', 'safari16.4'];

const common = {
  bundle: true,
  minify: !dev,
  target,
  legalComments: 'eof',
  logLevel: 'warning',
  charset: 'utf8',
  absWorkingDir: web,
  loader: { '.svg': 'text' },
};

// The pages' scripts (ES modules sharing chunks) and style sheets, hashed.
const pages = {
  home: { js: 'src/editor/home.ts', css: 'src/editor/home.css' },
  editor: { js: 'src/editor/editor.ts', css: 'src/editor/editor.css' },
  frame: { js: 'src/embed/frame.ts', css: 'src/embed/frame.css' },
  demo: { js: 'src/embed/demo.ts', css: 'src/embed/demo.css' },
};

async function clean() {
  await fs.mkdir(dist, { recursive: true });
  for (const name of await fs.readdir(dist)) {
    if (name !== '.gitkeep') await fs.rm(path.join(dist, name), { recursive: true, force: true });
  }
}

// url is the URL of an output file (a metafile's path, relative to web).
function url(out) {
  return '/' + path.relative(dist, path.join(web, out)).split(path.sep).join('/');
}

// outputsOf maps each entry point of a metafile to its output, as a URL.
function outputsOf(meta) {
  const byEntry = {};
  for (const [out, info] of Object.entries(meta.outputs)) {
    if (info.entryPoint) byEntry[info.entryPoint] = url(out);
  }
  return byEntry;
}

async function buildPages() {
  const js = await esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(Object.entries(pages).map(([n, p]) => [n, p.js])),
    outdir: path.join(dist, 'assets'),
    format: 'esm',
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    metafile: true,
  });
  const css = await esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(Object.entries(pages).map(([n, p]) => [n, p.css])),
    outdir: path.join(dist, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.svg': 'file', '.woff2': 'file' },
    metafile: true,
  });
  const jsOut = outputsOf(js.metafile);
  const cssOut = outputsOf(css.metafile);
  // The chunks an entry imports, to preload with the page.
  const chunksOf = (entryURL) => {
    const seen = new Set();
    const walk = (out) => {
      for (const imp of js.metafile.outputs[out]?.imports ?? []) {
        if (imp.kind === 'import-statement' && !seen.has(imp.path)) {
          seen.add(imp.path);
          walk(imp.path);
        }
      }
    };
    walk(Object.keys(js.metafile.outputs).find((o) => url(o) === entryURL));
    return [...seen].map(url).sort();
  };
  const entries = {};
  for (const [name, p] of Object.entries(pages)) {
    entries[name] = { js: jsOut[p.js], css: cssOut[p.css], preload: chunksOf(jsOut[p.js]) };
    if (!entries[name].js || !entries[name].css) throw new Error(`no output for page ${name}`);
  }
  return entries;
}

async function buildEmbed() {
  // The script embed: one classic script that defines window.Cowrite.
  await esbuild.build({
    ...common,
    entryPoints: ['src/embed/script.ts'],
    outfile: path.join(dist, 'embed.js'),
    format: 'iife',
  });
  await esbuild.build({
    ...common,
    entryPoints: ['src/embed/embed.css'],
    outfile: path.join(dist, 'embed.css'),
    loader: { '.svg': 'dataurl' },
  });
  // The ES module: the same mount, every dependency bundled in.
  await esbuild.build({
    ...common,
    entryPoints: ['src/embed/module.ts'],
    outfile: path.join(dist, 'cowrite.mjs'),
    format: 'esm',
  });
}

// buildTypes emits cowrite.d.ts with tsc: the declarations of the public
// types (src/embed/types.ts) and of module.ts, joined into one file that
// needs nothing else.
async function buildTypes() {
  const tmp = path.join(web, 'node_modules', '.cache', 'cowrite-types');
  await fs.rm(tmp, { recursive: true, force: true });
  execFileSync(process.execPath, [
    path.join(web, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p', path.join(src, 'embed', 'tsconfig.types.json'),
    '--outDir', tmp,
  ], { stdio: 'inherit' });
  const find = async (name) => {
    for (const candidate of [path.join(tmp, name), path.join(tmp, 'embed', name)]) {
      if (existsSync(candidate)) return fs.readFile(candidate, 'utf8');
    }
    throw new Error(`tsc emitted no ${name} under ${tmp}`);
  };
  const types = await find('types.d.ts');
  const mod = await find('module.d.ts');
  // module.d.ts imports and re-exports types.d.ts: inline that.
  const rest = mod
    .split('\n')
    .filter((line) => !/from ['"]\.\/types(\.js)?['"];?\s*$/.test(line))
    .join('\n');
  if (/from ['"]/.test(rest)) throw new Error('cowrite.d.ts would import other files:\n' + rest);
  const header = '// Types of cowrite.mjs, Cowrite\'s embeddable editor. Generated by web/build.mjs.\n';
  const dts = header + types.trim() + '\n' + rest.trim() + '\n';
  // TypeScript looks for cowrite.d.mts beside cowrite.mjs; cowrite.d.ts is
  // the same, for projects that name the module themselves.
  await fs.writeFile(path.join(dist, 'cowrite.d.ts'), dts);
  await fs.writeFile(path.join(dist, 'cowrite.d.mts'), dts);

  // Check the declarations as a consumer sees them.
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  await fs.copyFile(path.join(dist, 'cowrite.d.mts'), path.join(tmp, 'cowrite.d.mts'));
  await fs.writeFile(path.join(tmp, 'cowrite.mjs'), '');
  await fs.writeFile(path.join(tmp, 'consumer.ts'), [
    "import { mount, type ChangeEvent, type CowriteHandle } from './cowrite.mjs';",
    "const h: CowriteHandle = mount(document.body, { doc: 'a', user: { name: 'Ann' } });",
    "h.on('change', (e: ChangeEvent) => e.delta.ops.length);",
    "h.on('status', (s) => s.pending + (s.state === 'saved' ? 1 : 0));",
    '// @ts-expect-error: no such event',
    "h.on('nope', () => {});",
    'h.destroy();',
  ].join('\n'));
  await fs.writeFile(path.join(tmp, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], strict: true, noEmit: true, types: [] },
    files: ['consumer.ts'],
  }));
  execFileSync(process.execPath, [path.join(web, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tmp], { stdio: 'inherit' });
  await fs.rm(tmp, { recursive: true, force: true });
}

async function buildServiceWorker(version) {
  const assets = (await fs.readdir(path.join(dist, 'assets')))
    .filter((n) => !n.endsWith('.LEGAL.txt'))
    .map((n) => '/assets/' + n);
  const shellPages = ['/', '/app-shell'];
  await esbuild.build({
    ...common,
    entryPoints: ['src/sw.ts'],
    outfile: path.join(dist, 'sw.js'),
    format: 'iife',
    define: {
      __PRECACHE__: JSON.stringify([...shellPages, ...assets.sort()]),
      __VERSION__: JSON.stringify(version),
    },
  });
}

async function hashTree(dir) {
  const h = createHash('sha256');
  const walk = async (d) => {
    for (const name of (await fs.readdir(d)).sort()) {
      const p = path.join(d, name);
      if ((await fs.stat(p)).isDirectory()) await walk(p);
      else if (name !== '.gitkeep') h.update(name).update(await fs.readFile(p));
    }
  };
  await walk(dir);
  return h.digest('hex').slice(0, 16);
}

const started = Date.now();
await clean();
const entries = await buildPages();
await buildEmbed();
await buildTypes();
const version = await hashTree(dist);
await buildServiceWorker(version);
await fs.writeFile(path.join(dist, 'manifest.json'), JSON.stringify({ version, entries }, null, 2) + '\n');
console.log(`web assets built in ${Date.now() - started} ms (version ${version})`);
