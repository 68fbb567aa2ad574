export * from './config.js';
export * from './errors.js';
export * from './fs-atomic.js';
export * from './http-server.js';
export * from './kafka.js';
export * from './logger.js';
export * from './retry.js';
export * from './service.js';
