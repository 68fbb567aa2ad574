#!/usr/bin/env python3
"""Scores dumped rankings independently of the TypeScript harness (standard definitions, nothing shared with it).

  python3 bench/independent/score_rankings.py SPLIT_DIR RANK_DIR [SEED]

SPLIT_DIR holds train.seed<S>.csv / test.seed<S>.csv (`pncf experiment --dump-split`), RANK_DIR the
<model>.seed<S>.jsonl files (`--dump-rankings`). For every test user: NDCG@10 = DCG over the top 10 / the ideal DCG of
min(10, |test items|) hits, Recall@10 = hits in the top 10 / |test items|; means over users with a test item. It also
checks that no ranking contains one of the user's train items.
"""
import csv
import json
import math
import os
import sys
from collections import defaultdict


def read_pairs(path):
    pairs = defaultdict(set)
    with open(path, newline='') as f:
        for row in csv.DictReader(f):
            pairs[row['user']].add(row['item'])
    return pairs


def main():
    split_dir, rank_dir = sys.argv[1], sys.argv[2]
    seed = sys.argv[3] if len(sys.argv) > 3 else '1'
    train = read_pairs(os.path.join(split_dir, f'train.seed{seed}.csv'))
    test = read_pairs(os.path.join(split_dir, f'test.seed{seed}.csv'))
    for name in sorted(os.listdir(rank_dir)):
        if not name.endswith(f'.seed{seed}.jsonl'):
            continue
        ranked = {}
        with open(os.path.join(rank_dir, name)) as f:
            for line in f:
                row = json.loads(line)
                ranked[row['user']] = row['items']
        ndcg = recall = 0.0
        users = leaks = 0
        for user, held in test.items():
            if not held:
                continue
            items = ranked.get(user, [])[:10]
            leaks += sum(1 for i in items if i in train.get(user, ()))
            dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(items) if i in held)
            ideal = sum(1 / math.log2(r + 2) for r in range(min(10, len(held))))
            ndcg += dcg / ideal
            recall += sum(1 for i in items if i in held) / len(held)
            users += 1
        print(f'{name}: users {users}, NDCG@10 {ndcg / users:.4f}, Recall@10 {recall / users:.4f}, train items ranked {leaks}')


if __name__ == '__main__':
    main()
