-- Shared steps of the objective scenarios (files starting with _ are not run on their own):
--   local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")
-- The virtual clock starts on Monday 2026-01-05; H.cycle's default cycle runs the first quarter,
-- is open for editing until 31 January and for updates until 15 April.
local t = require "testing"

local H = {}

--- A client signed in as the demo person key (cached).
H.as = t.as

--- The demo person key's id.
function H.id(key) return t.demo()[key].id end

--- HR (Marcus, an HR Admin) creates an objective cycle; fields override the defaults. Returns its JSON.
function H.cycle(fields)
  local body = { name = "Q1 2026", starts_on = "2026-01-01", ends_on = "2026-03-31", edit_until = "2026-01-31",
    update_until = "2026-04-15", default_visibility = "public" }
  for k, v in pairs(fields or {}) do body[k] = v end
  return t.status(H.as(fields and fields.by or "marcus"):post("/api/objective-cycles", body), 201).json
end

--- key creates an objective in cycle (a cycle's JSON or id); fields as the API takes them.
--- Returns the objective's JSON.
function H.objective(key, cycle, fields)
  local body = { cycle_id = type(cycle) == "table" and cycle.id or cycle, title = "An objective" }
  for k, v in pairs(fields or {}) do body[k] = v end
  return t.status(H.as(key):post("/api/objectives", body), 201).json
end

--- Whether key reads objective id through the API (200) or is told it does not exist (404).
function H.reads(key, id)
  local res = H.as(key):get("/api/objectives/" .. id)
  if res.status == 200 then return true end
  t.eq(res.status, 404, "anything but reading it is a 404")
  return false
end

--- The ids of the objectives key finds in the cycle's list (the API, every page).
function H.listed(key, cycle_id, query)
  local out = {}
  local page = 1
  repeat
    local res = t.status(H.as(key):get(("/api/objective-cycles/%d/objectives?per_page=200&page=%d%s"):format(cycle_id, page,
      query or "")), 200).json
    for _, o in ipairs(res.objectives) do out[o.id] = true end
    page = page + 1
  until page > res.pages
  return out
end

--- How many statements of a look at a list (t.statements) read objectives, each checked to read
--- them by id (the page's rows), never the whole cycle.
function H.objective_reads(statements)
  local reads = 0
  for _, sql in ipairs(statements) do
    if sql:find("FROM objectives", 1, true) then
      reads = reads + 1
      t.contains(sql, "o.id IN (SELECT value FROM json_each(?))", "read by id")
    end
  end
  return reads
end

--- The texts of an .xlsx file's shared strings (every text cell), as one string to search.
function H.xlsx_text(bytes)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  local p = assert(io.popen(("unzip -p %s xl/sharedStrings.xml 2>/dev/null"):format(path)))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return (out:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&amp;", "&"))
end

return H
