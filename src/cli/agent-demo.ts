import { parseArgs } from 'node:util';
import { AgentClient } from '../client';

const HELP = `Runs simulated agents against a registry, so that you can watch instances come and go.

Usage: npm run agent -- --key <agent key> [options]

  --key <key>          an agent (or admin) API key of the tenant (required)
  --url <url>          the agent endpoint (default ws://127.0.0.1:4000/agents)
  --tenant-id <uuid>   the key's tenant, checked by the server (optional)
  --agent-id <id>      the agent type (default ide-agent)
  --count <n>          how many instances to run (default 5)
  --churn-ms <ms>      every <ms>, one instance shuts down and a new one starts (default 0: never)
  --duration-ms <ms>   stop after <ms> (default 0: run until Ctrl-C)
  --quiet              print only registrations, config changes and failures
  --help

Each instance registers, heartbeats on the interval the server gives, now and then
reports itself degraded or busy, and deregisters on Ctrl-C.`;

function main(): void {
  const { values } = parseArgs({
    options: {
      key: { type: 'string' },
      url: { type: 'string', default: 'ws://127.0.0.1:4000/agents' },
      'tenant-id': { type: 'string' },
      'agent-id': { type: 'string', default: 'ide-agent' },
      count: { type: 'string', default: '5' },
      'churn-ms': { type: 'string', default: '0' },
      'duration-ms': { type: 'string', default: '0' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const count = Number(values.count);
  const churnMs = Number(values['churn-ms']);
  const durationMs = Number(values['duration-ms']);
  if (!values.key || !Number.isInteger(count) || count < 1 || !(churnMs >= 0) || !(durationMs >= 0)) {
    console.error(values.key ? 'invalid --count, --churn-ms or --duration-ms' : '--key is required');
    console.error(HELP);
    process.exitCode = 2;
    return;
  }

  const agents = new Set<AgentClient>();
  let serial = 0;
  const say = (who: string, text: string) => console.log(`${new Date().toISOString()} ${who.padEnd(14)} ${text}`);

  const launch = () => {
    const label = `${values['agent-id']}#${++serial}`;
    const agent = new AgentClient({
      url: values.url!,
      apiKey: values.key!,
      tenantId: values['tenant-id'],
      agentId: values['agent-id']!,
      name: `Simulated ${label}`,
      capabilities: ['simulation'],
      connectionDetails: { simulated: true, pid: process.pid },
    });
    agents.add(agent);
    agent.on('registered', (r) => say(label, `${r.is_new ? 'registered' : 'reconnected'} as ${r.instance_id}`));
    agent.on('heartbeat', (h) => {
      if (!values.quiet && h.outcome !== 'ok') say(label, `heartbeat stored a change (${h.outcome})`);
      // now and then the simulated work changes
      const roll = Math.random();
      if (roll < 0.05) agent.report('degraded', Math.floor(Math.random() * 10));
      else if (roll < 0.07) agent.report('unhealthy', 0);
      else if (roll < 0.3) agent.report('healthy', Math.floor(Math.random() * 5));
    });
    agent.on('config', (c) => say(label, `configuration changed: version ${c.version}, model ${c.model_id}`));
    agent.on('disconnected', ({ code }) => {
      if (!values.quiet) say(label, `disconnected (${code})`);
    });
    agent.on('reconnecting', ({ attempt, delayMs }) => say(label, `reconnecting in ${delayMs} ms (attempt ${attempt})`));
    agent.on('error', (error) => say(label, `problem: ${error.message}`));
    agent.start().catch((error: Error) => {
      say(label, `gave up: ${error.message}`);
      agents.delete(agent);
      if (agents.size === 0) process.exitCode = 1;
    });
  };

  for (let i = 0; i < count; i++) launch();

  const churn =
    churnMs > 0
      ? setInterval(() => {
          const victim = [...agents][Math.floor(Math.random() * agents.size)];
          if (victim) {
            agents.delete(victim);
            say('churn', `shutting down ${victim.instanceId ?? 'an instance'}`);
            void victim.close().then(launch);
          }
        }, churnMs)
      : null;

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    if (churn) clearInterval(churn);
    say('demo', `${why}: deregistering ${agents.size} instances`);
    await Promise.all([...agents].map((a) => a.close()));
    process.exit();
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  if (durationMs > 0) setTimeout(() => void stop('time is up'), durationMs);
}

main();
