import fs from 'node:fs';
import path from 'node:path';
import { Random } from '@pncf/data';
import { parseInteractionCount, parseRecommendation, type Recommendation, toKafkaMessage } from '@pncf/events';
import { artifactTopicSpec, ModelRegistry, publishVersion } from '@pncf/registry';
import { ensureTopics } from '@pncf/runtime';
import type { InteractionStore } from '@pncf/store';
import { trainingData } from '@pncf/trainer/training-data';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produceEvents, startTestView, until } from './changelog-support.js';
import {
  countDifferences,
  createTopics,
  type InProcessIngester,
  ingesterEnv,
  pairCounts,
  startInProcessIngester,
  tearDownIngest,
  waitUntilStored,
} from './ingest-support.js';
import { publishRandomModel, scratchDir } from './scorer-support.js';
import { testKafka, uniqueName } from './support/kafka.js';
import { type ServiceProcess, spawnService, stopService, waitForHttp, waitForOutput } from './support/services.js';

/** Latest value per key of a topic as read so far (null: a tombstone), kept up to date by a consumer. */
async function followTopic(
  kafka: ReturnType<typeof testKafka>,
  topic: string,
): Promise<{ latest: Map<string, string | null>; consumer: Consumer }> {
  const latest = new Map<string, string | null>();
  const consumer = kafka.consumer({ groupId: uniqueName('erase-watch') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      latest.set(message.key!.toString(), message.value === null ? null : message.value.toString());
    },
  });
  return { latest, consumer };
}

const pairsOf = (store: InteractionStore, user: string): number => {
  const index = store.lookup('user', user);
  return index === undefined ? 0 : store.itemsOfUser(index).indices.length;
};

describe('erasing a user on the real broker: ingester, changelog, a view, the scorer', () => {
  const env = ingesterEnv('erase');
  const root = scratchDir('erase');
  const scorerEnv = {
    KAFKA_BROKERS: env.KAFKA_BROKERS!,
    LOG_LEVEL: 'info',
    INTERACTIONS_TOPIC: env.INTERACTIONS_TOPIC!,
    CHANGELOG_TOPIC: env.CHANGELOG_TOPIC!,
    RECOMMENDATIONS_TOPIC: uniqueName('erase-recs'),
    MODEL_UPDATES_TOPIC: uniqueName('erase-models'),
    MODEL_ARTIFACTS_TOPIC: uniqueName('erase-artifacts'),
    CONSUMER_GROUP: uniqueName('erase-scorer'),
    VIEW_PATH: path.join(root, 'scorer-view'),
    MODEL_DIR: path.join(root, 'scorer-models'),
    MODEL_POLL_MS: '1000',
    RATE_LIMIT_MAX: '0',
  };
  const victim = 'user-07';
  const kafka = testKafka('pncf-test-erase');
  let admin: Admin;
  let producer: Producer;
  let ingester: InProcessIngester | undefined;
  let view: Awaited<ReturnType<typeof startTestView>>;
  let scorer: ServiceProcess;
  let changelog: Awaited<ReturnType<typeof followTopic>>;
  let recommendations: Awaited<ReturnType<typeof followTopic>>;
  let expected: Map<string, number>;
  const trainerRegistry = new ModelRegistry(path.join(root, 'trainer-models'));

  const ask = async (user: string): Promise<{ status: number; body: Recommendation }> => {
    const response = await fetch(`${scorer.url}/recommendations/${encodeURIComponent(user)}`);
    return { status: response.status, body: (await response.json()) as Recommendation };
  };
  const erase = (user: string) =>
    producer.send({ topic: env.INTERACTIONS_TOPIC!, acks: -1, messages: [toKafkaMessage({ type: 'erase', user })] });
  const publishModel = async (seed: number) => {
    const { interactions } = ingester!.store.snapshot();
    const ids = { users: interactions.userIds, items: interactions.itemIds };
    const version = publishRandomModel(trainerRegistry, ids, seed);
    await publishVersion({ producer, topic: scorerEnv.MODEL_ARTIFACTS_TOPIC, registry: trainerRegistry, version });
    return version;
  };
  const withoutVictim = (counts: Map<string, number>) =>
    new Map([...counts].filter(([pair]) => !pair.startsWith(`${victim}\t`)));

  beforeAll(async () => {
    admin = await createTopics(env, 2);
    await ensureTopics(admin, [artifactTopicSpec(scorerEnv.MODEL_ARTIFACTS_TOPIC)]);
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    ingester = await startInProcessIngester(env);
    // 30 users, 8 events each over 40 items (repeats make counts above 1).
    const random = new Random(17);
    const events = Array.from({ length: 240 }, (_, k) => ({
      user: `user-${String(k % 30).padStart(2, '0')}`,
      item: `item-${String(random.int(40)).padStart(2, '0')}`,
      count: 1 + random.int(3),
    }));
    expected = await produceEvents(producer, env.INTERACTIONS_TOPIC!, events);
    await waitUntilStored(
      admin,
      env.INTERACTIONS_TOPIC!,
      () => ingester!.store.storedOffsets(env.INTERACTIONS_TOPIC!),
      60_000,
    );
    view = await startTestView(admin, env.CHANGELOG_TOPIC!);
    changelog = await followTopic(kafka, env.CHANGELOG_TOPIC!);

    await publishModel(1);
    scorer = await spawnService('scorer', scorerEnv);
    await waitForHttp(scorer, '/readyz', 120_000);
    // The scorer creates the recommendations topic; its whole log is read from here.
    recommendations = await followTopic(kafka, scorerEnv.RECOMMENDATIONS_TOPIC);
    // The scorer's interactions group starts at the latest offset: a probe event it answers proves it is positioned.
    await until('the scorer following the interactions topic', async () => {
      const ready = (await (await fetch(`${scorer.url}/readyz`)).json()) as { interactionsConsumer: boolean };
      return ready.interactionsConsumer;
    });
    await until(
      'the scorer republishing a probe user',
      async () => {
        await producer.send({
          topic: env.INTERACTIONS_TOPIC!,
          acks: -1,
          messages: [toKafkaMessage({ user: 'probe', item: 'item-00', count: 1 })],
        });
        expected.set('probe\titem-00', (expected.get('probe\titem-00') ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return recommendations.latest.has('probe');
      },
      60_000,
    );
  }, 300_000);

  afterAll(async () => {
    await changelog?.consumer.disconnect();
    await recommendations?.consumer.disconnect();
    if (scorer) await stopService(scorer);
    await view?.stop();
    await producer?.disconnect();
    await tearDownIngest(env, admin, ingester);
    fs.rmSync(root, { recursive: true, force: true });
    if (view) fs.rmSync(view.dir, { recursive: true, force: true });
  });

  it('removes the user from the store, the changelog, a view and the recommendations topic', async () => {
    await until(
      'the view caught up with every pair',
      () => countDifferences(pairCounts(view.store.snapshot().interactions), expected).length === 0,
    );
    const victimPairs = [...expected.keys()].filter((pair) => pair.startsWith(`${victim}\t`));
    expect(victimPairs.length).toBeGreaterThan(3);
    expect((await ask(victim)).body.source).toBe('model');
    await until(
      'a list of the victim on the recommendations topic',
      () => typeof recommendations.latest.get(victim) === 'string',
    );

    await erase(victim);
    await until('the store without the victim’s pairs', () => pairsOf(ingester!.store, victim) === 0);
    // Nothing else changed in the store.
    expect(countDifferences(pairCounts(ingester!.store.snapshot().interactions), withoutVictim(expected))).toEqual([]);
    // The changelog's newest record of each of the victim's pairs is a tombstone.
    await until('a tombstone for every pair of the victim on the changelog', () =>
      victimPairs.every((pair) => changelog.latest.get(JSON.stringify(pair.split('\t'))) === null),
    );
    for (const [key, value] of changelog.latest) {
      if (value !== null) expect(parseInteractionCount(key, value).user).not.toBe(victim);
    }
    // A view (built as the trainer's and the scorer's are) drops them, and so does what a trainer would train on.
    await until('the view without the victim', () => pairsOf(view.store, victim) === 0);
    const snapshot = view.store.snapshot();
    expect(countDifferences(pairCounts(snapshot.interactions), withoutVictim(expected))).toEqual([]);
    expect(trainingData(snapshot, 0).data.userIds).not.toContain(victim);
    // The recommendations topic's newest record of the victim is a tombstone.
    await until(
      'a tombstone for the victim on the recommendations topic',
      () => recommendations.latest.get(victim) === null,
    );

    // The API answers as for a user without interactions: the popular items, never the model's vector.
    const answer = await ask(victim);
    expect(answer.status).toBe(200);
    expect(answer.body.source).toBe('popular');
    const stranger = await ask('nobody-at-all');
    expect(answer.body.items).toEqual(stranger.body.items);
  });

  it('a duplicate erase changes nothing: no store write, no changelog record', async () => {
    await until('the outbox empty', () => ingester!.store.outboxSize() === 0);
    const stats = ingester!.store.stats();
    const changelogEnds = await admin.fetchTopicOffsets(env.CHANGELOG_TOPIC!);
    await erase(victim);
    await waitUntilStored(
      admin,
      env.INTERACTIONS_TOPIC!,
      () => ingester!.store.storedOffsets(env.INTERACTIONS_TOPIC!),
      60_000,
    );
    const after = ingester!.store.stats();
    expect({ ...after, bytes: 0 }).toEqual({ ...stats, bytes: 0 });
    expect(ingester!.store.outboxSize()).toBe(0);
    expect(await admin.fetchTopicOffsets(env.CHANGELOG_TOPIC!)).toEqual(changelogEnds);
    expect((await ask(victim)).body.source).toBe('popular');
  });

  it('a full refresh after a model swap publishes nothing for the erased user', async () => {
    const version = await publishModel(2);
    await waitForOutput(scorer, new RegExp(`"version":"${version}".*"msg":"full refresh published"`), 120_000);
    // The log line comes when the sends are acknowledged; the test's consumer may read them a little later.
    const refreshed = () => {
      const other = recommendations.latest.get('user-08');
      return other ? parseRecommendation(other).modelVersion === version : false;
    };
    const deadline = Date.now() + 30_000;
    while (!refreshed() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(refreshed()).toBe(true);
    expect(recommendations.latest.get(victim)).toBeNull();
  });

  it('an ingester rebuilding its store from the topic ends without the erased pairs too', async () => {
    const rebuilt = await startInProcessIngester({
      ...env,
      CONSUMER_GROUP: uniqueName('erase-rebuild'),
      STORE_PATH: scratchDir('erase-rebuild'),
      CHANGELOG_ENABLED: 'false',
    });
    try {
      await waitUntilStored(
        admin,
        env.INTERACTIONS_TOPIC!,
        () => rebuilt.store.storedOffsets(env.INTERACTIONS_TOPIC!),
        60_000,
      );
      expect(pairCounts(rebuilt.store.snapshot().interactions)).toEqual(
        pairCounts(ingester!.store.snapshot().interactions),
      );
    } finally {
      await rebuilt.stop();
      fs.rmSync(rebuilt.config.STORE_PATH, { recursive: true, force: true });
    }
  });

  it('a user back after the erase counts from then on, ranked without their old vector', async () => {
    await producer.send({
      topic: env.INTERACTIONS_TOPIC!,
      acks: -1,
      messages: [toKafkaMessage({ user: victim, item: 'item-03', count: 2 })],
    });
    await until('the new pair in the store', () => pairsOf(ingester!.store, victim) === 1);
    await until('a new list of the victim', () => typeof recommendations.latest.get(victim) === 'string');
    const list = parseRecommendation(recommendations.latest.get(victim)!);
    expect(list.source).not.toBe('model');
    expect(list.items.map((x) => x.item)).not.toContain('item-03');
    expect((await ask(victim)).body.source).not.toBe('model');
  });
});
