-- Choosing 360 reviewers by typing: colleagues by their name whatever its case or accents, guests
-- only by the first letters of their email (at least three), so the company's outside contacts
-- cannot be listed a letter at a time.
local t = require "testing"
local demo = require "demo"
local db = require "lib.db"

local P = t.demo()
local function login(key) return t.login(demo.email(key)) end
local sid

local function found(q)
  local res = login("tyler"):get("/api/feedback/360/" .. sid .. "/candidates?q=" .. q:gsub(" ", "+"))
  t.status(res, 200)
  local names = {}
  for _, p in ipairs(res.json.people) do names[#names + 1] = p.email end
  return table.concat(names, " ")
end

t.test("setup: Zoë Ångström joins, a guest exists, Tyler chooses his reviewers in a running 360", function()
  local priya = login("priya")
  t.status(priya:put("/api/settings/users", { guest_policy = "everyone" }), 200)
  t.status(priya:post("/api/users", { email = "zoe.angstrom@northwind.example", name = "Zoë Ångström" }), 201)
  t.status(priya:post("/api/users", { email = "quinn.buyer@acme.example", name = "Quinn Buyer", kind = "guest" }), 201)
  local hr = login("marcus")
  local c = t.status(hr:post("/api/feedback/cycles", { name = "Typing 360", start_date = "2026-01-05",
    rules = { min = 0, max = 5, suggested = 2 } }), 201).json
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/reviewees", { user_ids = { P.tyler.id } }), 200)
  t.status(hr:post("/api/feedback/cycles/" .. c.id .. "/start"), 200)
  sid = db.value("SELECT id FROM feedback_subjects WHERE cycle_id = ?", c.id)
end)

t.test("a colleague is found by her name in any case, with or without its accents", function()
  for _, q in ipairs({ "Ångström", "ÅNGSTRÖM", "ångs", "angstrom", "zoë å" }) do
    t.contains(found(q), "zoe.angstrom@northwind.example", q)
  end
end)

t.test("a guest is found by the first three letters of their email, not by one or two", function()
  t.not_contains(found("q"), "quinn.buyer@acme.example")
  t.not_contains(found("qu"), "quinn.buyer@acme.example")
  t.contains(found("qui"), "quinn.buyer@acme.example")
  t.not_contains(found("uin"), "quinn.buyer@acme.example", "the first letters, not any part")
end)

t.test("a long search is cut at a character, never inside one", function()
  -- 99 letters and then 'é' (two bytes): cutting 100 bytes would split it
  local res = login("tyler"):get("/api/feedback/360/" .. sid .. "/candidates?q=" .. ("a"):rep(99) .. "%C3%A9xyz")
  t.status(res, 200)
  t.eq(#res.json.people, 0)
end)
