"""gensim's side of the word2vec anchor (bench/anchors/word2vec.ts).

Trains one Word2Vec model per corpus file (one bag per line, tokens separated by spaces), with the settings
passed as JSON on the command line, and prints one JSON line: seconds spent in build_vocab and train (process
start, imports and reading the corpus are not timed, as on our side the corpus is already in memory).

    python word2vec_gensim.py '{"corpora": [...], "input": "sentences", "sg": 0, ...}'
"""

import json
import sys
import time

import gensim
from gensim.models import Word2Vec
from gensim.models.word2vec_inner import FAST_VERSION


def read_bags(path):
    with open(path, encoding="ascii") as f:
        return [line.split() for line in f]


def train_one(path, p):
    kwargs = dict(
        vector_size=p["dim"],
        window=p["window"],
        negative=p["negative"],
        ns_exponent=p["noiseExponent"],
        sg=p["sg"],
        hs=0,
        cbow_mean=1,
        alpha=p["alpha"],
        min_alpha=p["minAlpha"],
        sample=p["sample"],
        epochs=p["epochs"],
        workers=p["workers"],
        min_count=1,
        seed=p["seed"],
    )
    if p["input"] == "corpus_file":
        started = time.perf_counter()
        model = Word2Vec(**kwargs)
        model.build_vocab(corpus_file=path)
        vocab_done = time.perf_counter()
        effective, raw = model.train(
            corpus_file=path,
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=model.epochs,
        )
    else:
        bags = read_bags(path)
        started = time.perf_counter()
        model = Word2Vec(**kwargs)
        model.build_vocab(bags)
        vocab_done = time.perf_counter()
        effective, raw = model.train(bags, total_examples=model.corpus_count, epochs=model.epochs)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "trainSeconds": done - vocab_done,
        "rawWords": raw,
        "effectiveWords": effective,
        "vocab": len(model.wv),
    }


def main():
    p = json.loads(sys.argv[1])
    runs = [train_one(path, p) for path in p["corpora"]]
    print(
        json.dumps(
            {
                "gensim": gensim.__version__,
                "fastVersion": FAST_VERSION,
                "input": p["input"],
                "seconds": sum(r["seconds"] for r in runs),
                "trainSeconds": sum(r["trainSeconds"] for r in runs),
                "rawWords": sum(r["rawWords"] for r in runs),
                "effectiveWords": sum(r["effectiveWords"] for r in runs),
                "corpora": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
