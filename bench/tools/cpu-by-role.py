# usage: python3 bench/tools/cpu-by-role.py SECONDS OUT — every second, the CPU % of the bench process, the service (dist/src), PostgreSQL (all backends) and pgbench, and the machine idle (of 200 %)
import os, sys, time
hz = os.sysconf('SC_CLK_TCK'); dur = float(sys.argv[1]); out = open(sys.argv[2], 'w')
def snap():
  d = {}
  for pid in os.listdir('/proc'):
    if not pid.isdigit(): continue
    try:
      st = open(f'/proc/{pid}/stat').read(); cmd = open(f'/proc/{pid}/cmdline').read().replace('\0', ' ')
    except Exception: continue
    f = st[st.rfind(')') + 2:].split()
    t = int(f[11]) + int(f[12])
    if 'postgres' in cmd: role = 'postgres'
    elif 'bench/run.js' in cmd: role = 'bench'
    elif 'node' in cmd and 'dist/src' in cmd: role = 'service'
    elif 'pgbench' in cmd: role = 'pgbench'
    elif 'node' in cmd: role = 'node-other'
    else: continue
    d[pid] = (role, t)
  cpu = open('/proc/stat').readline().split()[1:]
  return d, [int(x) for x in cpu]
prev, pc = snap(); end = time.time() + dur
while time.time() < end:
  time.sleep(1); cur, cc = snap(); agg = {}
  for pid, (role, t) in cur.items():
    if pid in prev: agg[role] = agg.get(role, 0) + (t - prev[pid][1])
  tot = sum(cc) - sum(pc); idle = (cc[3] + cc[4]) - (pc[3] + pc[4])
  out.write(time.strftime('%H:%M:%S') + ' idle %3d%% ' % (100 * idle / tot * 2) + ' '.join(f'{k} {100*v/hz:.0f}%' for k, v in sorted(agg.items())) + '\n'); out.flush()
  prev, pc = cur, cc
