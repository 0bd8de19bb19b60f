// usage: node bench/tools/cpuprofile-summary.js FILE.cpuprofile [TOP] — self time by package and by function, idle excluded
const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.argv[2]));
const top = Number(process.argv[3] || 30);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas; let total = 0;
for (let i = 0; i < p.samples.length; i++) { const d = dt[i] || 0; self.set(p.samples[i], (self.get(p.samples[i]) || 0) + d); total += d; }
const pkgOf = (url) => { if (!url) return '(native)'; const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/); if (m) return m[1]; if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]; if (url.includes('/dist/src/')) return 'ours:' + url.split('/dist/src/')[1]; return url.split('/').slice(-2).join('/'); };
const byPkg = new Map(), byFn = new Map();
let idle = 0;
for (const [id, t] of self) { const n = byId.get(id); const cf = n.callFrame; if (cf.functionName === '(idle)') { idle += t; continue; } const k = pkgOf(cf.url); byPkg.set(k, (byPkg.get(k) || 0) + t); const f = `${cf.functionName || '(anon)'} ${k}:${cf.lineNumber}`; byFn.set(f, (byFn.get(f) || 0) + t); }
const busy = total - idle;
console.log(`total ${(total/1e6).toFixed(2)} s, idle ${(idle/1e6).toFixed(2)} s, busy ${(busy/1e6).toFixed(2)} s`);
const pr = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).forEach(([k, v]) => console.log(`${(100*v/busy).toFixed(1).padStart(6)} %  ${(v/1e3).toFixed(0).padStart(7)} ms  ${k}`));
console.log('--- by package'); pr(byPkg); console.log('--- by function'); pr(byFn);
