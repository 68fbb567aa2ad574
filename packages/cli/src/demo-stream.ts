import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '@pncf/runtime';
import { AuthorTagGenerator, type SyntheticStream, scaledOptions, streamEvents } from '@pncf/synthetic';
import type { Kafka } from 'kafkajs';
import { publishEvents } from './publish-events.js';

export interface DemoStreamOptions {
  kafka: Kafka;
  topic: string;
  /** Holds the cursor, so a restart continues the same stream where the last run stopped. */
  dataDir: string;
  events: number;
  seed: number;
  rate: number;
  signal?: AbortSignal;
  onProgress?: (produced: number) => void;
}

interface Cursor {
  seed: number;
  events: number;
  produced: number;
}

export class DemoStream {
  readonly stream: SyntheticStream;
  private readonly cursorFile: string;
  produced: number;

  constructor(private readonly options: DemoStreamOptions) {
    this.stream = new AuthorTagGenerator(scaledOptions(options.events, options.seed)).generate();
    this.cursorFile = path.join(options.dataDir, 'demo-stream.json');
    this.produced = 0;
    if (fs.existsSync(this.cursorFile)) {
      const cursor = JSON.parse(fs.readFileSync(this.cursorFile, 'utf8')) as Cursor;
      // Another seed or size is another stream: start it from the beginning.
      if (cursor.seed === options.seed && cursor.events === options.events) this.produced = cursor.produced;
    }
  }

  get total(): number {
    return this.options.events;
  }

  /** The most active authors of the stream, for showing example suggestions. */
  busiestAuthors(n: number): string[] {
    const counts = new Uint32Array(this.stream.authorIds.length);
    for (const author of this.stream.authors) counts[author]!++;
    return [...counts.keys()]
      .sort((a, b) => counts[b]! - counts[a]!)
      .slice(0, n)
      .map((a) => this.stream.authorIds[a]!);
  }

  /**
   * Publish the rest of the stream. The cursor is saved after every acknowledged request, so a crash can
   * re-send at most the last request's events (the source side of the demo is at-least-once).
   */
  async run(): Promise<void> {
    const from = this.produced;
    await publishEvents({
      kafka: this.options.kafka,
      topic: this.options.topic,
      events: streamEvents(this.stream, from),
      rate: this.options.rate,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
      onProgress: (sent) => {
        this.produced = from + sent;
        const cursor: Cursor = { seed: this.options.seed, events: this.options.events, produced: this.produced };
        writeFileAtomic(this.cursorFile, JSON.stringify(cursor));
        this.options.onProgress?.(this.produced);
      },
    });
  }
}
