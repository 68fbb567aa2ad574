export * from './assembly.js';
export * from './publish.js';
export * from './receiver.js';
export * from './records.js';
