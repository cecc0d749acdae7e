-- The job queue: every kind of job, each with its retry table and its lane, and the runner.
-- Jobs are rows of the `jobs` table (core/scheduler.c); they survive restarts.
--
--   jobs.define("mail.send", send_one, {
--     retry = { 60, 300, 1800, 7200, 21600 },  -- seconds to wait after the 1st, 2nd, ... failed
--                                             -- attempt; the last wait repeats
--     attempts = 6,                           -- at most this many attempts in all
--     give_up_after = 86400,                  -- and/or: no attempt later than this many seconds
--                                             -- after the job was planned
--     lane = "mail",                          -- or function(payload) -> name; default "main"
--     on_fail = function(payload, job, err, retry_at) end,
--   })
--   jobs.schedule(due, "mail.send", { outbox_id = 7 }, "mail:7")           -- key: a new plan replaces
--   jobs.schedule(due, "hook.run", { hook_id = 3 }, { coalesce = "hook:3" }) -- keep the earlier time
--
-- A handler is fn(payload, job). It returns: the job is done (removed). It raises: the attempt
-- failed; the next one is planned from the kind's table (without one: 30 s doubling to an hour,
-- 9 attempts), or the job is given up. on_fail(payload, job, err, retry_at) sees every failed
-- attempt (retry_at in seconds, nil when given up) in the transaction that plans the next, so
-- a kind keeps its own records (the outbox's history) exactly in step with the queue. A handler
-- that raises jobs.lane_down(message) says the failure is not this job's but its destination's
-- (the mail server is down): every other job of the lane due now counts the same failed attempt
-- without running (on_fail sees err.deferred).
--
-- Lanes: the jobs of one lane run one at a time in due order; lanes run at once (at most
-- MAX_LANES), each in a task of its own, so a webhook waiting on a slow server holds its own
-- lane only. A running job is claimed by this process; a process that stopped leaves claims that
-- the next one releases (the job runs again: jobs run at least once).
local json = require "lib.json"
local db = require "lib.db"
local util = require "lib.util"
local clock = require "core.clock"
local sched = require "core.sched"
local host = require "core.host"
local log = require "core.log"
local timer = require "core.timer"

local M = {}

M.MAX_LANES = 16          -- lanes running at once
M.LANE_WAIT_MS = 50       -- a due job waiting for its lane's task: look again after this
M.DEFAULT = { retry = { 30, 60, 120, 240, 480, 960, 1920, 3600 }, attempts = 9 }

local kinds = {}          -- kind -> spec
local busy = {}           -- lane -> true while a task of this process runs its jobs
local running = 0         -- such tasks

--- Registers a kind of job: fn(payload, job), opts as above (all optional).
function M.define(kind, fn, opts)
  assert(not kinds[kind], "job kind registered twice: " .. kind)
  assert(type(fn) == "function", "a job handler is a function")
  opts = opts or {}
  local spec = { fn = fn, retry = opts.retry, attempts = opts.attempts, give_up_after = opts.give_up_after,
    lane = opts.lane, on_fail = opts.on_fail }
  if not spec.retry then
    spec.retry = M.DEFAULT.retry
    if not spec.give_up_after then spec.attempts = spec.attempts or M.DEFAULT.attempts end
  end
  assert(#spec.retry > 0, kind .. ": retry lists the waits after each failed attempt")
  for _, w in ipairs(spec.retry) do assert(type(w) == "number" and w > 0, kind .. ": a retry wait is seconds > 0") end
  assert(spec.attempts or spec.give_up_after, kind .. ": say when to give up (attempts or give_up_after)")
  assert(spec.lane == nil or type(spec.lane) == "string" or type(spec.lane) == "function", kind .. ": lane")
  kinds[kind] = spec
end

--- The kind's spec (for tests and documentation), or nil.
function M.kind(kind) return kinds[kind] end

--- Plans a job: due (seconds), kind, payload table; how: a key (a new plan replaces the job with
--- that key), { key = k } the same, or { coalesce = k } (one job stays, at the earlier time).
--- Returns its id.
function M.schedule(due, kind, payload, how)
  local spec = assert(kinds[kind], "no handler for job kind " .. tostring(kind))
  local key, keep_earlier = how, false
  if type(how) == "table" then key, keep_earlier = how.coalesce or how.key, how.coalesce ~= nil end
  payload = payload or {}
  local lane = spec.lane
  if type(lane) == "function" then lane = lane(payload) end
  local id, err = sched.add(math.floor(due * 1000), kind, json.encode(payload), key,
    { lane = lane, keep_earlier = keep_earlier })
  if not id then error("cannot schedule: " .. err.message) end
  return id
end

--- Removes the jobs with this key (or every key starting with it). Returns how many.
function M.cancel(key, prefix) return sched.cancel(key, prefix) end

--- Raised by a handler: the lane's destination is down, not just this job's. extra: more fields
--- of the error (on_fail sees them).
function M.lane_down(message, extra)
  local err = {}
  for k, v in pairs(extra or {}) do err[k] = v end
  err.code, err.message = "lane_down", message
  error(err, 0)
end

local function text(err)
  if type(err) == "table" then return tostring(err.message or err.code or "failed") end
  return tostring(err)
end

local function keep(err)
  if type(err) == "table" then return err end
  return debug.traceback(tostring(err), 2)
end

-- When the attempt that just failed (job.attempts failed before it) is followed by another:
-- ms, or nil to give up.
local function retry_at(spec, job, now_ms)
  local n = job.attempts + 1
  if spec.attempts and n >= spec.attempts then return nil end
  local at = now_ms + math.floor(spec.retry[math.min(n, #spec.retry)] * 1000)
  if spec.give_up_after and at > job.created_ms + spec.give_up_after * 1000 then return nil end
  return at
end

-- Records a failed attempt of a claimed job: plans the next one or gives up.
local function failed(spec, job, payload, err)
  local at = retry_at(spec, job, clock.now_ms())
  local msg = util.truncate_bytes(text(err), 500)
  local function plan()
    if at then sched.retry(job.id, at, msg) else sched.done(job.id) end
  end
  local ok, e = pcall(db.transaction, function()
    if spec.on_fail then spec.on_fail(payload, job, err, at and at / 1000) end
    plan()
  end)
  if not ok then
    log.error(("job %d (%s): its failure could not be recorded: %s"):format(job.id, job.kind, tostring(e)))
    plan()
  end
  return at
end

-- Every other job of lane due now counts the failure of err without running.
local function defer_lane(lane, err)
  local deferred = { deferred = true }
  for k, v in pairs(err) do deferred[k] = v end
  local n = 0
  for _ = 1, 1000 do
    local list = sched.due(clock.now_ms(), 200, lane)
    if #list == 0 then break end
    db.transaction(function()
      for _, job in ipairs(list) do
        if sched.claim(job.id) then
          failed(kinds[job.kind] or M.DEFAULT, job, json.decode(job.payload) or {}, deferred)
          n = n + 1
        end
      end
    end)
  end
  if n > 0 then log.warn(("%d more job(s) of lane %s wait: %s"):format(n, lane, text(err))) end
end

-- Runs one claimed job to its end (done, retried, given up). Returns ok, err.
local function run_one(job)
  local spec = kinds[job.kind]
  local payload = json.decode(job.payload) or {}
  local ok, err
  if spec then
    ok, err = xpcall(spec.fn, keep, payload, job)
  else
    ok, err, spec = false, "no handler for job kind " .. job.kind, M.DEFAULT
  end
  if ok then
    sched.done(job.id)
    return true
  end
  if db.depth() > 0 then db.rollback_all() end
  local at = failed(spec, job, payload, err)
  if at then
    log.warn(("job %d (%s) failed, will retry: %s"):format(job.id, job.kind, text(err):match("^[^\n]*")))
  else
    log.error(("job %d (%s) failed for good: %s"):format(job.id, job.kind, text(err)))
  end
  if type(err) == "table" and err.code == "lane_down" then defer_lane(job.lane, err) end
  return false, err
end

-- A lane's task: runs its claimed first job, then each next one due, until none is.
local function drain(lane, job)
  local ok, err = xpcall(function()
    while job do
      run_one(job)
      pcall(timer.yield) -- a job's end (its commit) and the next one's start are stretches of their own
      job = nil
      local nxt = sched.due(clock.now_ms(), 1, lane)[1]
      if nxt and sched.claim(nxt.id) then job = nxt end
    end
  end, debug.traceback)
  if not ok then
    log.error(("the jobs of lane %s stopped: %s"):format(lane, tostring(err)))
    if job then sched.retry(job.id, clock.now_ms() + 60000, "the runner failed") end
  end
  busy[lane] = nil
  running = running - 1
  sched.changed()
end

--- Releases the jobs claimed by processes that are gone (they were running when Candor stopped):
--- they run again. At start, and before each run.
function M.release()
  local n = sched.release()
  if n > 0 then log.warn(("%d job(s) were running when Candor stopped; they run again"):format(n)) end
  return n
end

--- Runs the jobs that are due. The host calls it when the timer fires: each lane with a due job
--- gets a task of its own (up to MAX_LANES), and it returns at once: false when lanes had to
--- wait for a free slot (the host then waits for a lane to end before calling again);
--- M.LANE_WAIT_MS when a due job waits for its lane's task of this process, which is between two
--- jobs or whose job replanned itself (the host looks again after that many ms, or when a lane
--- ends).
--- opts.inline (tests): every due job runs here, one after the other in due order, and it
--- returns how many ran.
function M.run_due(opts)
  M.release()
  if opts and opts.inline then
    local ran = 0
    while true do
      local job = sched.due(clock.now_ms(), 1)[1]
      if not job then break end
      if sched.claim(job.id) then
        run_one(job)
        ran = ran + 1
      end
    end
    return ran
  end
  local waits, started = false, {}
  for _, job in ipairs(sched.due(clock.now_ms(), 100)) do
    if running >= M.MAX_LANES then return false end
    if busy[job.lane] then
      -- a lane started here shows as busy in the database too; one busy from before is between
      -- two jobs, or its job replanned itself: its task goes on with it, unless it ends first
      waits = waits or not started[job.lane]
    elseif sched.claim(job.id) then
      busy[job.lane], started[job.lane] = true, true
      running = running + 1
      host.spawn(drain, job.lane, job)
    end
  end
  return waits and M.LANE_WAIT_MS or true
end

--- Runs the job with this key now, in the calling task (even while its lane is busy): "send the
--- test mail now". Returns ok, err as the handler ended, or nil when there is no such job or it
--- is running already.
function M.run_now(key)
  local job = sched.find(key)
  if not job or not sched.claim(job.id) then return nil end
  return run_one(job)
end

--- Lanes running in tasks of this process (for tests and stats).
function M.running() return running end

return M
