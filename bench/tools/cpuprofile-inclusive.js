// usage: node bench/tools/cpuprofile-inclusive.js FILE.cpuprofile [REGEX] [TOP] — inclusive time per function whose label matches
const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.argv[2]));
const re = new RegExp(process.argv[3] || '.');
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const label = (n) => { const cf = n.callFrame; const u = cf.url || ''; const m = u.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const where = m ? m[1] : u.includes('/dist/') ? u.split('/dist/')[1] : u.split('/').pop(); return `${cf.functionName || '(anon)'}@${where}:${cf.lineNumber}`; };
const incl = new Map(); let total = 0;
for (let i = 0; i < p.samples.length; i++) { const d = p.timeDeltas[i] || 0; total += d; const seen = new Set(); let id = p.samples[i]; while (id !== undefined) { const l = label(byId.get(id)); if (!seen.has(l)) { seen.add(l); incl.set(l, (incl.get(l) || 0) + d); } id = parent.get(id); } }
[...incl].filter(([l]) => re.test(l)).sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[4] || 40)).forEach(([l, v]) => console.log(`${(v / 1e3).toFixed(0).padStart(6)} ms  ${l}`));
