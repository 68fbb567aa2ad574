export * from './generator.js';
export * from './options.js';
