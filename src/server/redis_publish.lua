-- chatroom: publish one event in a room, in one atomic step (issue 19;
-- docs/cluster.md). Every key of a room carries its hash tag {room}, so
-- that the keys of one call share a Redis Cluster slot.
--
-- KEYS[1]  {room}:meta   hash; field seq = the room's last sequence number
-- KEYS[2]  {room}:log    stream; entry <seq>-0 holds the event in field e
-- KEYS[3]  {room}:idem:<sender>:<message id>   (optional) the seq given to
--          that message, kept ARGV[4] seconds, so a retried send is not
--          published twice
-- ARGV[1]  the room's channel, {room}:events
-- ARGV[2]  the event (the history file's JSON record)
-- ARGV[3]  the stream's length bound (approximate: MAXLEN ~)
-- ARGV[4]  the idempotency key's lifetime in seconds
--
-- Returns {seq, 0}, or {seq first given, 1} for a message already
-- published. The channel gets "<seq>|<event>".

if #KEYS >= 3 then
  local prev = redis.call('GET', KEYS[3])
  if prev then
    return {tonumber(prev), 1}
  end
end

local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3],
                          string.format('%d-0', seq), 'e', ARGV[2])
if type(added) == 'table' and added.err then
  -- The stream is ahead of the counter (the hash was lost, the stream
  -- kept): number on from the stream's last id, which XADD demands.
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
             string.format('%d-0', seq), 'e', ARGV[2])
end

redis.call('PUBLISH', ARGV[1], string.format('%d|', seq) .. ARGV[2])
if #KEYS >= 3 then
  redis.call('SET', KEYS[3], seq, 'EX', ARGV[4])
end
return {seq, 0}
