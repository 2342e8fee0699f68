-- chatroom: publish one event in a room, in one atomic step (issue 19;
-- docs/cluster.md). Every key of a room carries its hash tag {room}, so
-- that the keys of one call share a Redis Cluster slot.
--
-- KEYS[1]  {room}:meta   hash: seq = the room's last sequence number,
--                        epoch = when that numbering began (see below)
-- KEYS[2]  {room}:log    stream; entry <seq>-0 holds the event in field e,
--                        its epoch in field x
-- KEYS[3]  {room}:idem:<sender>:<message id>   (optional) the seq given to
--          that message, kept ARGV[4] seconds, so a retried send is not
--          published twice
-- ARGV[1]  the room's channel, {room}:events
-- ARGV[2]  the event (the history file's JSON record)
-- ARGV[3]  the stream's length bound (approximate: MAXLEN ~)
-- ARGV[4]  the idempotency key's lifetime in seconds
--
-- Returns {seq, 0, epoch}, or {seq first given, 1, epoch} for a message
-- already published. The channel gets "<epoch>:<seq>|<event>".
--
-- The epoch names a numbering: Redis's time in microseconds when the
-- room's counter began. A Redis that lost its data (restarted without
-- persistence, flushed) starts the room again at 1 under a new epoch, so
-- that the servers can tell its 1, 2, 3 from the old ones.

local function number_on_from_stream(meta, log, seq)
  -- The counter was lost but the stream kept: its last entry gives the
  -- seq to follow and the epoch to keep.
  local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
  if #last == 0 then
    return seq, nil
  end
  local n = tonumber(string.match(last[1][1], '^(%d+)-')) or 0
  local epoch = nil
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'x' then
      epoch = fields[i + 1]
    end
  end
  if n >= seq then
    seq = n + 1
    redis.call('HSET', meta, 'seq', seq)
  end
  return seq, epoch
end

if #KEYS >= 3 then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    return {tonumber(prev), 1, redis.call('HGET', KEYS[1], 'epoch')}
  end
end

local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  seq, epoch = number_on_from_stream(KEYS[1], KEYS[2], seq)
  if not epoch then
    local t = redis.call('TIME')
    epoch = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  end
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end

local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3],
                          string.format('%d-0', seq), 'e', ARGV[2], 'x', epoch)
if type(added) == 'table' and added.err then
  -- The stream's last id is past the counter (entries deleted, or a
  -- counter set back by hand): number on after it, same epoch.
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  local last = 0
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = tonumber(string.match(info[i + 1], '^(%d+)-')) or 0
    end
  end
  seq = last + 1
  redis.call('HSET', KEYS[1], 'seq', seq)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3],
             string.format('%d-0', seq), 'e', ARGV[2], 'x', epoch)
end

redis.call('PUBLISH', ARGV[1], epoch .. string.format(':%d|', seq) .. ARGV[2])
if #KEYS >= 3 then
  redis.call('SET', KEYS[3], seq, 'EX', ARGV[4])
end
return {seq, 0, epoch}
