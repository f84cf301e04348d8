// Copies the browser builds of the page's npm dependencies into web/vendor/,
// so that web/ served as plain static files is the whole app (no CDN).
//
//   npm --prefix web ci && node web/tools/vendor.mjs

import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));

/** [package, file inside it, name under vendor/] */
const FILES = [['chart.js', 'dist/chart.umd.min.js', 'chart.umd.min.js'], ['chart.js', 'LICENSE.md', 'chart.js.LICENSE.md']];

await mkdir(join(web, 'vendor'), { recursive: true });
for (const [pkg, file, name] of FILES) {
  const from = join(web, 'node_modules', pkg, file);
  const { version } = JSON.parse(await readFile(join(web, 'node_modules', pkg, 'package.json'), 'utf8'));
  try {
    await copyFile(from, join(web, 'vendor', name));
  } catch (e) {
    console.error(`vendor: cannot copy ${from}: ${e.message} (run \`npm --prefix web ci\` first)`);
    process.exit(1);
  }
  console.log(`vendor: ${pkg}@${version} ${file} -> web/vendor/${name}`);
}
