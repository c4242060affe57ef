package gateway

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// tokenBucketScript takes one token from a bucket stored as a hash
// {tokens, ts_ms}, refilled at rate tokens/s up to burst, atomically on the
// Redis server (so every gateway instance shares it). It uses the server's
// clock, not the gateways'. Returns {allowed, wait_ms}.
var tokenBucketScript = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(v[1])
local ts = tonumber(v[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`)

// redisLimiter keeps token buckets in Redis, shared by gateway instances.
type redisLimiter struct {
	c      *redis.Client
	prefix string
}

// NewRedisLimiter returns a limiter on the Redis server cfg names. A Redis
// error denies the call (fail closed) and is returned to the caller.
func NewRedisLimiter(cfg *RedisConfig) Limiter {
	c := redis.NewClient(&redis.Options{Addr: cfg.Addr, Password: cfg.Password.Value(), DB: cfg.DB,
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
		// A limiter that cannot reach Redis denies at once rather than
		// holding the call through retries.
		MaxRetries: 1, DialerRetries: 1})
	return &redisLimiter{c: c, prefix: cfg.Prefix}
}

func (l *redisLimiter) Allow(ctx context.Context, key string, b Bucket) (bool, time.Duration, error) {
	res, err := tokenBucketScript.Run(ctx, l.c, []string{l.prefix + key},
		strconv.FormatFloat(b.Rate, 'f', -1, 64), strconv.Itoa(b.Burst)).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redis rate limit: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redis rate limit: unexpected reply %v", res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
