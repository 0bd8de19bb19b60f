// usage: [FROM=seconds] node bench/tools/cpuprofile-stalls.js FILE.cpuprofile [MIN_MS] [COUNT] — busy stretches (no idle sample) of at least MIN_MS, longest first, with the functions on the stack
const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.argv[2]));
const minMs = Number(process.argv[3] || 20);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const label = (n) => { const cf = n.callFrame; const u = cf.url || ''; const m = u.match(/node_modules\/((@[^/]+\/)?[^/]+)/); const where = m ? m[1] : u.includes('/dist/') ? u.split('/dist/')[1] : u.split('/').pop(); return `${cf.functionName || '(anon)'}@${where}:${cf.lineNumber}`; };
let t = p.startTime; const times = []; for (let i = 0; i < p.samples.length; i++) { t += p.timeDeltas[i]; times.push(t); }
const isIdle = (id) => { const f = byId.get(id).callFrame.functionName; return f === '(idle)'; };
let start = -1; const stretches = [];
for (let i = 0; i < p.samples.length; i++) {
  if (!isIdle(p.samples[i])) { if (start < 0) start = i; }
  else if (start >= 0) { const ms = (times[i] - times[start]) / 1000; if (ms >= minMs) stretches.push([start, i, ms]); start = -1; }
}
console.log(`${stretches.length} busy stretches >= ${minMs} ms over ${((times.at(-1) - times[0]) / 1e6).toFixed(1)} s`);
const from = Number(process.env.FROM || 0); for (const [a, b, ms] of stretches.filter(([a]) => (times[a] - times[0]) / 1e6 >= from).sort((x, y) => y[2] - x[2]).slice(0, Number(process.argv[4] || 10))) {
  const incl = new Map();
  for (let i = a; i < b; i++) { const seen = new Set(); let id = p.samples[i]; while (id !== undefined) { const l = label(byId.get(id)); if (!seen.has(l)) { seen.add(l); incl.set(l, (incl.get(l) || 0) + 1); } id = parent.get(id); } }
  const n = b - a;
  console.log(`\n== ${ms.toFixed(1)} ms at +${((times[a] - times[0]) / 1e6).toFixed(2)} s (${n} samples)`);
  [...incl].filter(([l]) => !/^\(root\)|^\(program\)/.test(l)).sort((x, y) => y[1] - x[1]).slice(0, 18).forEach(([l, c]) => console.log(`  ${(100 * c / n).toFixed(0).padStart(3)}%  ${l}`));
}
