export * from './decode.js';
export * from './event.js';
