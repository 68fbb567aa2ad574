export * from './decode.js';
export * from './event.js';
export * from './interaction-count.js';
export * from './model-updated.js';
export * from './recommendation.js';
