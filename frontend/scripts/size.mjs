// Prints the gzipped size of the built bundle (every .js and .css file under
// dist/) and fails when it exceeds the budget, so the dashboard stays fast.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = Number(process.env.BUNDLE_BUDGET_KB ?? 60);
const dist = new URL('../dist/', import.meta.url).pathname;

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}

let raw = 0;
let gz = 0;
const rows = [];
for (const file of walk(dist)) {
  if (!/\.(js|css|html)$/.test(file)) continue;
  const buf = readFileSync(file);
  const z = gzipSync(buf, { level: 9 }).length;
  raw += buf.length;
  gz += z;
  rows.push(`  ${relative(dist, file).padEnd(36)} ${(buf.length / 1024).toFixed(1).padStart(7)} kB  ${(z / 1024).toFixed(1).padStart(6)} kB gzip`);
}
console.log(rows.join('\n'));
console.log(`bundle size: ${(raw / 1024).toFixed(1)} kB, ${(gz / 1024).toFixed(1)} kB gzipped (js + css + html; budget ${BUDGET_KB} kB)`);
if (gz / 1024 > BUDGET_KB) {
  console.error(`bundle exceeds its ${BUDGET_KB} kB gzip budget`);
  process.exit(1);
}
