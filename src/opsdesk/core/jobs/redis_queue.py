"""The job queue on Redis, for several web and worker processes.

Keys under ``prefix``:
  ready               list, LPUSH in, BLMOVE out (FIFO)
  processing:<worker> list of the messages a worker holds; ack removes the message
  workers             set of worker ids, so the reaper finds every processing list
  alive:<worker>      expires when the worker stops calling heartbeat()
  leases              hash job id -> lease deadline (epoch seconds, by the injected clock)
  deliveries          hash job id -> delivery count
  errors              hash job id -> JSON list of its failed attempts (AttemptError), until it is acked
  delayed             sorted set of messages by due time (retries with backoff, delayed enqueues)
  dedupe:<key>        SET NX EX: the first enqueue with a key wins for the dedupe window
  dead                list of dead letters (JSON, newest first, the latest MAX_DEAD_LETTERS kept)
A message is immutable JSON carrying its id, so LREM by value moves exactly that message.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from opsdesk.core.clock import Clock
from opsdesk.core.jobs.queue import (
    DEDUPE_WINDOW,
    VISIBILITY_TIMEOUT,
    WORKER_TTL,
    AttemptError,
    DeadLetter,
    Delivery,
    normalise_payload,
    silent_worker_error,
)

MAX_DEAD_LETTERS = 10_000

_ENQUEUE = """
if ARGV[1] == '1' and not redis.call('SET', KEYS[1], ARGV[6], 'NX', 'EX', ARGV[2]) then
  return 0
end
if tonumber(ARGV[4]) > tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
else
  redis.call('LPUSH', KEYS[2], ARGV[3])
end
return 1
"""

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 500)
for _, raw in ipairs(due) do
  redis.call('ZREM', KEYS[1], raw)
  redis.call('LPUSH', KEYS[2], raw)
end
return #due
"""

# A held message goes back when its lease expired or its worker stopped beating (kill -9), with the lost
# attempt added to its error history.
_REAP = """
local alive = redis.call('EXISTS', KEYS[4])
local moved = 0
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local id = cjson.decode(raw)['id']
  local lease = redis.call('HGET', KEYS[3], id)
  if (lease and tonumber(lease) < tonumber(ARGV[1])) or alive == 0 then
    redis.call('LREM', KEYS[1], 1, raw)
    redis.call('HDEL', KEYS[3], id)
    redis.call('RPUSH', KEYS[2], raw)
    local history = cjson.decode(redis.call('HGET', KEYS[7], id) or '[]')
    local attempt = tonumber(redis.call('HGET', KEYS[6], id) or '0')
    history[#history + 1] = {attempt = attempt, at = ARGV[3], error = ARGV[4]}
    redis.call('HSET', KEYS[7], id, cjson.encode(history))
    moved = moved + 1
  end
end
if alive == 0 and redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[5], ARGV[2])
end
return moved
"""


# Ack, retry and bury act only if this worker still holds the message: once the reaper has handed it to
# another worker, that delivery owns it. A failure (ARGV[6], an AttemptError as JSON) joins the history.
_SETTLE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[2])
if ARGV[6] ~= '' then
  local history = cjson.decode(redis.call('HGET', KEYS[5], ARGV[2]) or '[]')
  history[#history + 1] = cjson.decode(ARGV[6])
  redis.call('HSET', KEYS[5], ARGV[2], cjson.encode(history))
end
if ARGV[3] == 'retry' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
  return 1
end
redis.call('HDEL', KEYS[3], ARGV[2])
if ARGV[3] == 'bury' then
  redis.call('LPUSH', KEYS[4], ARGV[4])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
end
redis.call('HDEL', KEYS[5], ARGV[2])
return 1
"""

_REVIVE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
"""


class RedisQueue:
    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        prefix: str = "opsdesk:jobs",
        visibility_timeout: timedelta = VISIBILITY_TIMEOUT,
        dedupe_window: timedelta = DEDUPE_WINDOW,
    ) -> None:
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.clock = clock
        self.prefix = prefix
        self.visibility_timeout = visibility_timeout
        self.dedupe_window = dedupe_window
        self._enqueue = self.redis.register_script(_ENQUEUE)
        self._promote = self.redis.register_script(_PROMOTE)
        self._reap = self.redis.register_script(_REAP)
        self._settle = self.redis.register_script(_SETTLE)
        self._revive = self.redis.register_script(_REVIVE)

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def enqueue(
        self, name: str, payload: dict[str, Any], *, key: str | None = None, run_at: datetime | None = None
    ) -> bool:
        job_id = uuid.uuid4().hex
        raw = json.dumps(
            {"id": job_id, "name": name, "payload": normalise_payload(payload), "key": key}, sort_keys=True
        )
        now = self._now()
        due = run_at.timestamp() if run_at is not None else now
        ttl = max(1, int(self.dedupe_window.total_seconds()))
        added = self._enqueue(
            keys=[self._k("dedupe", key or ""), self._k("ready"), self._k("delayed")],
            args=["1" if key is not None else "0", ttl, raw, repr(due), repr(now), job_id],
        )
        return bool(added)

    def reserve(self, worker_id: str, *, wait: float) -> Delivery | None:
        self.redis.sadd(self._k("workers"), worker_id)
        processing = self._k("processing", worker_id)
        if wait > 0:
            # Sub-second timeouts (Redis >= 6) keep shutdown prompt; redis-py's signature only admits ints.
            raw = self.redis.execute_command("BLMOVE", self._k("ready"), processing, "RIGHT", "LEFT", wait)
        else:
            raw = self.redis.lmove(self._k("ready"), processing, "RIGHT", "LEFT")
        if raw is None:
            return None
        raw = str(raw)
        message = json.loads(raw)
        lease = self._now() + self.visibility_timeout.total_seconds()
        pipe = self.redis.pipeline()
        pipe.hset(self._k("leases"), message["id"], repr(lease))
        pipe.hincrby(self._k("deliveries"), message["id"], 1)
        pipe.set(self._k("alive", worker_id), "1", ex=int(WORKER_TTL.total_seconds()))  # taking is a beat
        _, attempt, _ = pipe.execute()
        return Delivery(
            message["id"], message["name"], message["payload"], message["key"], int(attempt), worker_id, raw
        )

    def _settle_delivery(
        self, delivery: Delivery, mode: str, target: str, value: str, error: str | None = None
    ) -> None:
        failure = AttemptError(delivery.attempt, self.clock.now(), error) if error is not None else None
        self._settle(
            keys=[
                self._k("processing", delivery.worker_id),
                self._k("leases"),
                self._k("deliveries"),
                self._k(target),
                self._k("errors"),
            ],
            args=[
                delivery.handle,
                delivery.job_id,
                mode,
                value,
                MAX_DEAD_LETTERS,
                json.dumps(failure.as_json()) if failure else "",
            ],
        )

    def ack(self, delivery: Delivery) -> None:
        self._settle_delivery(delivery, "ack", "ready", "")

    def retry(self, delivery: Delivery, *, at: datetime, error: str) -> None:
        self._settle_delivery(delivery, "retry", "delayed", repr(at.timestamp()), error)

    def bury(self, delivery: Delivery, *, error: str) -> None:
        letter = {
            "id": delivery.job_id,
            "name": delivery.name,
            "payload": delivery.payload,
            "key": delivery.key,
            "attempts": delivery.attempt,
            "error": error,
            "at": self._now(),
            "message": delivery.handle,
            # The history so far plus this failure (the script appends the same to its own copy).
            "errors": [
                *json.loads(self.redis.hget(self._k("errors"), delivery.job_id) or "[]"),
                AttemptError(delivery.attempt, self.clock.now(), error).as_json(),
            ],
        }
        self._settle_delivery(delivery, "bury", "dead", json.dumps(letter), error)

    def maintain(self) -> int:
        at = self.clock.now().isoformat()
        now = repr(self._now())
        moved = int(self._promote(keys=[self._k("delayed"), self._k("ready")], args=[now]))
        for worker in map(str, self.redis.smembers(self._k("workers"))):
            moved += int(
                self._reap(
                    keys=[
                        self._k("processing", worker),
                        self._k("ready"),
                        self._k("leases"),
                        self._k("alive", worker),
                        self._k("workers"),
                        self._k("deliveries"),
                        self._k("errors"),
                    ],
                    args=[now, worker, at, silent_worker_error(worker)],
                )
            )
        return moved

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letters = [json.loads(raw) for raw in self.redis.lrange(self._k("dead"), 0, limit - 1)]
        return [
            DeadLetter(
                job_id=d["id"],
                name=d["name"],
                payload=d["payload"],
                key=d["key"],
                attempts=d["attempts"],
                error=d["error"],
                at=datetime.fromtimestamp(d["at"], UTC),
                errors=tuple(AttemptError.from_json(e) for e in d.get("errors") or []),
            )
            for d in letters
        ]

    def revive(self, job_id: str) -> bool:
        for raw in map(str, self.redis.lrange(self._k("dead"), 0, -1)):
            letter = json.loads(raw)
            if letter["id"] == job_id:
                return bool(
                    self._revive(keys=[self._k("dead"), self._k("ready")], args=[raw, letter["message"]])
                )
        return False

    def heartbeat(self, worker_id: str) -> None:
        pipe = self.redis.pipeline()
        pipe.sadd(self._k("workers"), worker_id)
        pipe.set(self._k("alive", worker_id), "1", ex=int(WORKER_TTL.total_seconds()))
        pipe.execute()

    def close(self) -> None:
        self.redis.close()
