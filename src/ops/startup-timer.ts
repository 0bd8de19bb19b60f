/**
 * Where start-up time goes: for each named step, the milliseconds it took and the CPU
 * milliseconds the process used meanwhile (all threads; on a busy machine the CPU figure
 * moves far less than the wall-clock one). Logged once at `debug`
 * (`LOG_LEVEL=debug npm start`) when the app starts listening. The first step, `process`,
 * runs from the process' start to the timer's creation (Node's own start-up and loading
 * the modules), so the steps add up to the time until the port is open.
 */
export class StartupTimer {
  private last = performance.now();
  private lastCpu = cpuMs();
  private readonly steps: Record<string, { ms: number; cpuMs: number }> = {
    process: { ms: Math.round(this.last), cpuMs: Math.round(this.lastCpu) },
  };

  /** Ends the current step, naming it. */
  mark(step: string): void {
    const now = performance.now();
    const cpu = cpuMs();
    this.steps[step] = { ms: Math.round(now - this.last), cpuMs: Math.round(cpu - this.lastCpu) };
    this.last = now;
    this.lastCpu = cpu;
  }

  /** The steps so far and their totals. */
  summary(): { steps: Record<string, { ms: number; cpuMs: number }>; totalMs: number; totalCpuMs: number } {
    return { steps: structuredClone(this.steps), totalMs: Math.round(this.last), totalCpuMs: Math.round(this.lastCpu) };
  }
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
