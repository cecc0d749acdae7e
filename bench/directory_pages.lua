-- wrk script for bench/bench_directory.sh: GET /api/users?per_page=50&page=N over every page
-- of the generated company (BENCH_PAGES of them), in a scattered order, so the figure is not
-- the cost of one page the database happens to keep hot. The Authorization header comes from
-- wrk's -H flag.
-- luacheck: globals request wrk
local pages = tonumber(os.getenv("BENCH_PAGES") or "200")
local n = 0

function request()
  n = n + 1
  return wrk.format("GET", "/api/users?per_page=50&page=" .. ((n * 37) % pages + 1))
end
