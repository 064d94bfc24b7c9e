#!/usr/bin/env python3
"""Fetches every key of a running `rdbkit serve` with redis-py and compares it with a corpus expected.json.

usage: serve-check-redis-py.py PORT EXPECTED_JSON[.gz] [--protocol 2|3] [--password P]

Checks, per database: SCAN (COUNT 7) returns every key exactly once and nothing else; per key: TYPE, PEXPIRETIME and
the value (GET, LRANGE, SMEMBERS, ZRANGE WITHSCORES, HGETALL, XRANGE). Module values are checked by TYPE only.
Prints one line per problem and a summary; exits 1 when anything differs.
"""
import base64
import gzip
import json
import sys

import redis


def raw(v):
    if isinstance(v, dict):
        return base64.b64decode(v["b64"])
    return v.encode("utf-8")


def main():
    port = int(sys.argv[1])
    path = sys.argv[2]
    protocol = 2
    password = None
    args = sys.argv[3:]
    while args:
        if args[0] == "--protocol":
            protocol = int(args[1])
        elif args[0] == "--password":
            password = args[1]
        args = args[2:]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        expected = json.load(f)
    problems = []
    checked = 0
    for db_name, keys in expected["databases"].items():
        r = redis.Redis(host="127.0.0.1", port=port, db=int(db_name), protocol=protocol, password=password)
        # Raw XRANGE replies: redis-py's callback folds fields into a dict, losing repeated field names.
        r.set_response_callback("XRANGE", lambda response, **options: response)
        want = {base64.b64decode(e["key_b64"]): e for e in keys.values()}
        seen = []
        for k in r.scan_iter(count=7):
            seen.append(k)
        if len(seen) != len(set(seen)):
            problems.append(f"db{db_name}: SCAN returned {len(seen) - len(set(seen))} keys twice")
        if set(seen) != set(want):
            problems.append(f"db{db_name}: SCAN keys differ: missing {set(want) - set(seen)!r:.200}, extra {set(seen) - set(want)!r:.200}")
        for key, e in want.items():
            checked += 1
            t = r.type(key).decode()
            if t != e["type"]:
                problems.append(f"db{db_name} {key!r}: TYPE {t} want {e['type']}")
                continue
            pexp = r.execute_command("PEXPIRETIME", key)
            if e.get("expire_ms") is not None and e.get("expire_exact", True) and pexp != e["expire_ms"]:
                problems.append(f"db{db_name} {key!r}: PEXPIRETIME {pexp} want {e['expire_ms']}")
            if e.get("expire_ms") is None and pexp != -1:
                problems.append(f"db{db_name} {key!r}: PEXPIRETIME {pexp} want -1")
            v = e["value"]
            if t == "string":
                got, wantv = r.get(key), raw(v)
            elif t == "list":
                got, wantv = r.lrange(key, 0, -1), [raw(x) for x in v]
            elif t == "set":
                got, wantv = sorted(r.smembers(key)), sorted(raw(x) for x in v)
            elif t == "zset":
                got = [(m, float(s)) for m, s in r.zrange(key, 0, -1, withscores=True)]
                wantv = [(raw(m), float(s)) for m, s in v]
            elif t == "hash":
                got, wantv = sorted(r.hgetall(key).items()), sorted((raw(f), raw(x)) for f, x in v)
            elif t == "stream":
                entries = r.execute_command("XRANGE", key, "-", "+")
                got = [(eid.decode(), [(fv[j], fv[j + 1]) for j in range(0, len(fv), 2)]) for eid, fv in entries]
                wantv = [(eid, [(raw(a), raw(b)) for a, b in fields]) for eid, fields in v["entries"]]
                if r.xlen(key) != v["length"]:
                    problems.append(f"db{db_name} {key!r}: XLEN {r.xlen(key)} want {v['length']}")
            else:
                continue
            if got != wantv:
                problems.append(f"db{db_name} {key!r} ({t}): value differs: {got!r:.200} want {wantv!r:.200}")
    for p in problems:
        print(p)
    print(f"redis-py {redis.__version__} protocol {protocol}: {checked} keys checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
