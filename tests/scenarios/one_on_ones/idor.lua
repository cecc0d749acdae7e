-- Every 1:1 route that takes an id, tried by people who have no part in the series (a colleague,
-- an HR Admin, a super user, the participants' managers): each gets 404, exactly as for an id that
-- does not exist, and nothing changes. Ids of one series do not reach into another through a
-- participant's own meeting either.
local t = require "testing"
local db = require "lib.db"
local app = require "app"
local H = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "_helpers.lua")

local P = t.demo()
local s = H.start("ravi", "mia", { date = "2026-01-07" })
local mid = s.meeting_id
local item = H.add("mia", mid, { kind = "action", text = "Ship the migration" })
local other = H.start("lucas", "zoe", { date = "2026-01-08" }) -- Lucas's own series
local others_item = H.add("zoe", other.meeting_id, { kind = "point", text = "Zoe's point" })

-- One request per route with an id; {sid}, {mid}, {iid} stand for the series, meeting and item.
local REQUESTS = {
  { "GET", "/api/meeting-series/{sid}" },
  { "PATCH", "/api/meeting-series/{sid}", { title = "taken over" } },
  { "POST", "/api/meeting-series/{sid}/end" },
  { "POST", "/api/meeting-series/{sid}/meetings", { date = "2026-03-01" } },
  { "GET", "/api/meetings/{mid}" },
  { "PATCH", "/api/meetings/{mid}", { date = "2026-02-01" } },
  { "POST", "/api/meetings/{mid}/done" },
  { "POST", "/api/meetings/{mid}/skip" },
  { "POST", "/api/meetings/{mid}/items", { kind = "point", text = "planted" } },
  { "PATCH", "/api/meetings/{mid}/items/{iid}", { text = "changed" } },
  { "DELETE", "/api/meetings/{mid}/items/{iid}" },
  { "POST", "/api/meetings/{mid}/items/{iid}/done", { done = true } },
  { "GET", "/meetings/{mid}" },
  { "GET", "/meetings/series/{sid}" },
  { "FORM", "/meetings/{mid}/points", { text = "planted" } },
  { "FORM", "/meetings/{mid}/notes", { text = "planted" } },
  { "FORM", "/meetings/{mid}/actions", { text = "planted" } },
  { "FORM", "/meetings/{mid}/items/{iid}", { text = "changed" } },
  { "FORM", "/meetings/{mid}/items/{iid}/privacy", { private = "on" } },
  { "FORM", "/meetings/{mid}/items/{iid}/delete" },
  { "FORM", "/meetings/{mid}/items/{iid}/tick", { done = "on" } },
  { "FORM", "/meetings/{mid}/reschedule", { date = "2026-02-01" } },
  { "FORM", "/meetings/{mid}/done" },
  { "FORM", "/meetings/{mid}/skip" },
  { "FORM", "/meetings/series/{sid}", { title = "taken over", cadence = "monthly" } },
  { "FORM", "/meetings/series/{sid}/end" },
  { "FORM", "/meetings/series/{sid}/schedule", { date = "2026-03-01" } },
}

local function fill(path, ids)
  return (path:gsub("{sid}", tostring(ids.sid)):gsub("{mid}", tostring(ids.mid)):gsub("{iid}", tostring(ids.iid)))
end

local function send(c, r, ids)
  local method, path, body = r[1], fill(r[2], ids), r[3]
  if method == "FORM" then return c:form(path, body or {}) end
  if method == "GET" then return c:get(path) end
  return c:request(method, path, { body = body or {} })
end

-- What a refused request must leave as it was.
local function state()
  return db.query([[SELECT 'i' AS t, id, kind, private, done_at, updated_at, length(text_enc) AS n FROM meeting_items
    UNION ALL SELECT 'm', id, status, date, closed_at, updated_at, seq FROM meetings
    UNION ALL SELECT 's', id, cadence, phase, next_date, updated_at, length(title_enc) FROM meeting_series ORDER BY 1, 2]])
end

t.test("the list of requests covers every 1:1 route that takes an id", function()
  local covered = {}
  for _, r in ipairs(REQUESTS) do
    local m = r[1] == "FORM" and "POST" or r[1]
    covered[m .. " " .. r[2]:gsub("{sid}", "{id}"):gsub("{mid}", "{id}"):gsub("{iid}", "{item}")] = true
  end
  local missing = {}
  for _, route in ipairs(app.router:routes()) do
    local path = route.path:gsub("{([%w_]+):%a+}", "{%1}")
    if path:find("meeting", 1, true) and path:find("{", 1, true) and not covered[route.method .. " " .. path] then
      missing[#missing + 1] = route.method .. " " .. path
    end
  end
  t.same(missing, {})
end)

t.test("outsiders get 404 on every id route, as for ids that do not exist, and nothing changes", function()
  local before = state()
  local ids = { sid = s.id, mid = mid, iid = item.id }
  local none = { sid = 999999, mid = 999999, iid = 999999 }
  for _, key in ipairs({ "lucas", "marcus", "priya", "daniel", "olivia" }) do
    local c = H.as(key)
    for _, r in ipairs(REQUESTS) do
      local res = send(c, r, ids)
      local missing = send(c, r, none)
      local what = ("%s: %s %s"):format(key, r[1], r[2])
      if r[1] == "FORM" then
        -- a page form answers with a redirect and the message in the flash; it must not be the
        -- success page of the meeting, and the result equals the one for an unknown id
        t.eq(res.status, missing.status, what)
        if res.status == 303 then
          t.eq(c:follow(res).status, 404, what .. ": the page it goes back to is not theirs either")
        else
          t.eq(res.status, 404, what)
        end
      else
        t.eq(res.status, 404, what)
        t.eq(missing.status, 404, what .. " (unknown id)")
        if res.json and res.json.error then t.eq(res.json.error.message, missing.json.error.message, what .. ": same words") end
      end
    end
  end
  t.same(state(), before, "nothing changed")
end)

t.test("an item of another series cannot be reached through a participant's own meeting", function()
  local before = state()
  local ids = { sid = s.id, mid = mid, iid = others_item.id }
  for _, r in ipairs(REQUESTS) do
    if r[2]:find("{iid}", 1, true) and r[1] ~= "FORM" then
      t.eq(send(H.as("mia"), r, ids).status, 404, r[1] .. " " .. r[2])
    end
  end
  for _, r in ipairs(REQUESTS) do
    if r[2]:find("{iid}", 1, true) and r[1] == "FORM" then send(H.as("mia"), r, ids) end
  end
  t.same(state(), before, "nothing changed in either series")
  t.eq(db.value("SELECT done_at FROM meeting_items WHERE id = ?", others_item.id), nil)
end)

t.test("guests cannot use 1:1s at all", function()
  local guest = t.login("alex.morgan@clientcorp.example")
  t.status(guest:get("/api/meeting-series"), 403)
  t.status(guest:post("/api/meeting-series", { with_id = P.mia.id, date = "2026-02-01" }), 403)
  t.status(guest:get("/api/meetings/" .. mid), 403)
  t.not_contains(guest:get("/home").body, "1:1")
end)

t.test("nobody starts a series with a guest, themselves, or someone deactivated; nothing is created", function()
  local before = db.value("SELECT count(*) FROM meeting_series")
  local guest_id = db.value("SELECT id FROM users WHERE kind = 'guest'")
  local res = t.status(H.as("mia"):post("/api/meeting-series", { with_id = guest_id, date = "2026-02-01" }), 422)
  t.contains(res.json.error.fields.with_id, "Pick a colleague")
  res = t.status(H.as("mia"):post("/api/meeting-series", { with_id = P.mia.id, date = "2026-02-01" }), 422)
  t.contains(res.json.error.fields.with_id, "someone else")
  db.transaction(function() db.exec("UPDATE users SET status = 'deactivated' WHERE id = ?", P.leo.id) end)
  t.status(H.as("mia"):post("/api/meeting-series", { with_id = P.leo.id, date = "2026-02-01" }), 422)
  res = t.status(H.as("mia"):post("/api/meeting-series", { with_id = P.omar.id, date = "tomorrow", cadence = "daily" }), 422)
  t.ok(res.json.error.fields.date and res.json.error.fields.cadence, "every problem at once")
  t.eq(db.value("SELECT count(*) FROM meeting_series"), before)
  t.eq(#t.outbox({ template = "one_on_one.invite", to = require("demo").email("omar") }), 0, "no mail either")
end)
