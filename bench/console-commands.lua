-- wrk script: a mix of `declare` (1 in 4) and `update` of an existing incident (3 in 4), as POST /api/commands.
local counter = 0
local seeded = tonumber(os.getenv("SEED_INCIDENTS") or "200")
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(tid or 1)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local body
  if counter % 4 == 0 then
    body = string.format('{"text":"declare sev3 Bench incident %d-%d","user":"alice"}', tid or 0, counter)
  else
    body = string.format('{"text":"update INC-%d load test update %d","user":"bob"}', math.random(1, seeded), counter)
  end
  return wrk.format(nil, "/api/commands", nil, body)
end
