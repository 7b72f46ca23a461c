import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
const file = '/work/h-cache4/dist/cjs-proto/main.cjs';
const cacheFile = (process.env.CDIR ?? '/tmp/c4/cache') + '/main-' + process.argv[2] + '.cache';
const source = readFileSync(file, 'utf8');
let cached;
if (!process.env.NOCACHE) try { cached = readFileSync(cacheFile); } catch {}
const t0 = process.hrtime.bigint();
const wrapper = '(function (exports, require, module, __filename, __dirname) { ' + source + '\n})';
const script = new vm.Script(wrapper, { filename: file, cachedData: cached, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });
const t1 = process.hrtime.bigint();
const fn = script.runInThisContext();
const mod = { exports: {} };
fn.call(mod.exports, mod.exports, createRequire(file), mod, file, '/work/h-cache4/dist/cjs-proto');
const t2 = process.hrtime.bigint();
process.exitCode = await mod.exports.main(process.argv);
const t3 = process.hrtime.bigint();
if (process.env.TIMES) console.error('compile', Number(t1-t0)/1e6, 'load', Number(t2-t1)/1e6, 'main', Number(t3-t2)/1e6);
if (!process.env.NOCACHE && (cached === undefined || script.cachedDataRejected)) {
  try { mkdirSync(process.env.CDIR ?? '/tmp/c4/cache', { recursive: true }); const t = cacheFile + '.' + process.pid; writeFileSync(t, script.createCachedData()); renameSync(t, cacheFile); } catch {}
}
if (process.env.SHOW) console.error('cached', cached?.length, 'rejected', script.cachedDataRejected);
