-- wrk script for bench/bench_scale.sh: the pages people open most, in turns: home, team, a
-- review, the directory, the cycle overview (BENCH_REVIEW and BENCH_CYCLE name the last two).
-- The cookie and browser come from wrk's -H flags.
-- luacheck: globals request wrk
local paths = { "/home", "/team", "/reviews/" .. os.getenv("BENCH_REVIEW"), "/people",
  "/cycles/" .. os.getenv("BENCH_CYCLE") }
local n = 0

function request()
  n = n + 1
  wrk.headers["Accept"] = "text/html" -- the -H headers are in wrk.headers: a table given here would drop them
  return wrk.format("GET", paths[n % #paths + 1])
end
