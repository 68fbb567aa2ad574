import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON lines on stdout, one logger per process, tagged with the service name. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
