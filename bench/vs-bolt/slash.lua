-- wrk script for bench/vs-bolt: sends the pre-signed slash commands in $REQUESTS (written by sign.py) and
-- counts goodput in response().
--
--   REQUESTS=file  the requests of this round, `<length>\n<bytes>` each
--   SIDE=klaxon    goodput = a 200 whose body says the command took effect (EXPECT, below);
--                  refused = a body that asks to try again
--   SIDE=bolt      goodput = HTTP 200 (Bolt's ack)
--   RATE=n         optional: at most n requests/s in all (a due-time schedule in delay()); unset = flat out
--
-- Thread t of T sends requests t, t+T, t+2T, … so each request of the file goes out once per round; a
-- thread that runs out starts over and counts the repeats as `reused` (Klaxon answers those as already
-- done, not as goodput), which means the round needed more requests than sign.py wrote.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  thread:set("nthreads", tonumber(os.getenv("THREADS") or "2"))
  table.insert(threads, thread)
end

-- What Klaxon answers when a command took effect (Sources/IncidentCore/Engine/IncidentEngine.swift).
local expect = { "Noted in the timeline of INC-", "Declared INC-", "Update posted to INC-" }
local side = os.getenv("SIDE") or "klaxon"

local requests = {}
local next_index = 1
good, refused, other, reused = 0, 0, 0, 0
sample_other, sample_refused = "", ""

function init(args)
  local file = assert(io.open(os.getenv("REQUESTS"), "rb"))
  local index = 0
  while true do
    local length = file:read("*n")
    if not length then break end
    file:read(1) -- the newline after the length
    local request = file:read(length)
    if index % nthreads == tid then table.insert(requests, request) end
    index = index + 1
  end
  file:close()
  assert(#requests > 0, "no requests for this thread in " .. os.getenv("REQUESTS"))
end

local wrapped = false

function request()
  local r = requests[next_index]
  if wrapped then reused = reused + 1 end
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
    wrapped = true
  end
  return r
end

function response(status, headers, body)
  if side == "bolt" then
    if status == 200 then good = good + 1 else other = other + 1 end
    return
  end
  body = body or ""
  if status == 200 then
    for _, prefix in ipairs(expect) do
      if string.find(body, prefix, 1, true) then
        good = good + 1
        return
      end
    end
  end
  if string.find(string.lower(body), "try again", 1, true) then
    refused = refused + 1
    if sample_refused == "" then sample_refused = body end
  else
    other = other + 1
    if sample_other == "" then sample_other = status .. " " .. body end
  end
end

-- Rate limiting for the "50 % of the saturated rate" rounds: each thread sends its share of RATE on a
-- schedule of due times; a send is delayed until its due time (never later: a late one goes at once).
local rate = tonumber(os.getenv("RATE") or "") or 0
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } vsbolt_timespec;
    int clock_gettime(int clock, vsbolt_timespec *out);
  ]]
  local now = ffi.new("vsbolt_timespec")
  local function milliseconds()
    ffi.C.clock_gettime(1, now) -- CLOCK_MONOTONIC
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local due = nil
  function delay()
    local t = milliseconds()
    local interval = 1000 * nthreads / rate
    due = (due or t) + interval
    if due < t then return 0 end
    return math.floor(due - t)
  end
end

function done(summary, latency, requests_done)
  local g, r, o, u = 0, 0, 0, 0
  local so, sr = "", ""
  for _, thread in ipairs(threads) do
    g = g + thread:get("good")
    r = r + thread:get("refused")
    o = o + thread:get("other")
    u = u + thread:get("reused")
    if so == "" then so = thread:get("sample_other") end
    if sr == "" then sr = thread:get("sample_refused") end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f good=%d goodput=%.1f refused=%d other=%d reused=%d errors=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, g, g / seconds, r, o, u,
    e.connect + e.read + e.write + e.timeout))
  if sr ~= "" then io.write("SAMPLE refused: " .. string.gsub(sr, "\n", " ") .. "\n") end
  if so ~= "" then io.write("SAMPLE other: " .. string.gsub(so, "\n", " ") .. "\n") end
end
