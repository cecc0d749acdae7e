-- The scale benchmark's helper, run by bench/bench_scale.sh through `candor run` on an empty
-- data folder:
--
--   candor run --data DIR bench/scale_company.lua setup N PASSWORD
--     fills it with a company of N people and a year of data of every module there is: reporting
--     lines eight wide, two review cycles started for everyone through the service (the first
--     with both parts answered and shared for half the reviews), three praise messages per person,
--     a weekly 1:1 series between every manager and each report with a year of meetings and notes.
--     Person 1 is HR Admin and Tech Admin. The person who signs in is a line manager of eight
--     (who manage nobody) and HR Admin, so that every page has the same work at any size: they get
--     PASSWORD. Prints on its last lines "email E", "cycle ID" and "review ID" (a review of one of
--     their reports).
local db = require "lib.db"
local crypt = require "lib.crypt"
local json = require "lib.json"
local util = require "lib.util"
local clock = require "core.clock"
require "services.messages"    -- registers the sealed columns
require "services.one_on_ones" -- idem

local mode, count, password = ...

local now = clock.now()
local function day(n) return util.format_date(now + n * 86400) end

-- the one who signs in: the second to last manager, whose eight reports manage nobody
local function persona(n) return (n - 2) // 8 end

local function people(n)
  db.transaction(function()
    for i = 1, n do
      db.exec([[INSERT INTO users(id, email, name, job_title, department, location, hire_date, manager_id, status,
          kind, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?, 'active', 'employee', ?, ?)]],
        i, ("person%05d@scale.example"):format(i), ("Person %05d"):format(i), "Engineer",
        ({ "Engineering", "Sales", "Product", "Operations", "People" })[i % 5 + 1],
        ({ "Berlin", "London", "New York", "Remote" })[i % 4 + 1], ("20%02d-%02d-01"):format(10 + i % 15, i % 12 + 1),
        i > 1 and (i - 2) // 8 + 1 or nil, now - 400 * 86400, now - 400 * 86400)
    end
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(1, 'hr_admin', ?), (1, 'tech_admin', ?)", now, now)
    db.exec("INSERT INTO user_roles(user_id, role, granted_at) VALUES(?, 'hr_admin', ?)", persona(n), now)
  end)
  require("services.access").reload()
end

local function cycle(hr, name, answered)
  local cycles = require "services.cycles"
  local c = cycles.create(hr, { name = name, start_date = day(0), self_due = day(14), manager_due = day(28),
    sign_due = day(42) })
  cycles.add_reviewees(hr, c.id, db.column("SELECT id FROM users WHERE manager_id IS NOT NULL ORDER BY id"))
  cycles.start(hr, c.id)
  if answered then
    db.transaction(function()
      for i, r in ipairs(db.query("SELECT id FROM reviews WHERE cycle_id = ? ORDER BY id", c.id)) do
        if i % 2 == 0 then
          for _, a in ipairs({ { "self", "q1", "I shipped the release on time." }, { "manager", "q4", i % 5 + 1 },
            { "manager", "q1", "A steady year: the release went out on time." } }) do
            db.exec("INSERT INTO answers(review_id, author, question_id, value_enc, updated_at) VALUES(?,?,?,?,?)",
              r.id, a[1], a[2], crypt.seal("answers", "value_enc", { r.id, a[1], a[2] }, json.encode(a[3])), now)
          end
          db.exec([[UPDATE reviews SET self_status = 'submitted', manager_status = 'shared', shared_at = ?
            WHERE id = ?]], now, r.id)
        end
      end
    end)
  end
  return c.id
end

local function praise(n)
  local total = db.value("SELECT count(*) FROM users")
  db.transaction(function()
    for i = 1, n do
      local author, to = (i * 7919) % total + 1, (i * 104729) % total + 1
      if to == author then to = to % total + 1 end
      local at = now - (n - i) * (365 * 86400 // n)
      local id = db.insert([[INSERT INTO messages(kind, author_id, audience, anonymous, badge_id, text_enc, like_count,
          created_at, updated_at) VALUES('praise', ?, 'everyone', 0, NULL, x'', 0, ?, ?)]], author, at, at)
      db.exec("UPDATE messages SET text_enc = ? WHERE id = ?", crypt.seal("messages", "text_enc", { id },
        ("Thank you for the help with release %d."):format(i)), id)
      db.exec("INSERT INTO message_recipients(message_id, user_id) VALUES(?, ?)", id, to)
    end
  end)
end

local function one_on_ones()
  db.transaction(function()
    for _, p in ipairs(db.query("SELECT id, manager_id FROM users WHERE manager_id IS NOT NULL ORDER BY id")) do
      local s = db.insert([[INSERT INTO meeting_series(organizer_id, attendee_id, title_enc, cadence, next_date,
          created_at, updated_at, started_at) VALUES(?, ?, x'', 'weekly', ?, ?, ?, ?)]], p.manager_id, p.id, day(3),
        now - 365 * 86400, now, now - 365 * 86400)
      db.exec("UPDATE meeting_series SET title_enc = ? WHERE id = ?",
        crypt.seal("meeting_series", "title_enc", { s }, "Weekly 1:1"), s)
      for w = 1, 53 do
        db.exec([[INSERT INTO meetings(series_id, seq, date, status, created_at, updated_at)
          VALUES(?, ?, ?, ?, ?, ?)]], s, w, day((w - 52) * 7 + 3), w == 53 and "upcoming" or "done", now, now)
      end
      for w = 50, 52 do
        local item = db.insert([[INSERT INTO meeting_items(series_id, from_seq, kind, author_id, private, text_enc,
            created_at, updated_at) VALUES(?, ?, 'note', ?, 0, x'', ?, ?)]], s, w, p.manager_id, now, now)
        db.exec("UPDATE meeting_items SET text_enc = ? WHERE id = ?",
          crypt.seal("meeting_items", "text_enc", { item }, "Talked about the roadmap."), item)
      end
    end
  end)
end

local function setup(n, pw)
  n = assert(math.tointeger(tonumber(n)), "setup needs the number of people")
  assert(pw, "setup needs a password for person 1")
  assert(db.value("SELECT count(*) FROM users") == 0, "the data folder already has people")
  local t0 = clock.mono_ms()
  people(n)
  local me = persona(n)
  require("services.accounts").set_password(me, pw)
  local hr = require("services.sessions").load_user(1)
  local first = cycle(hr, "Mid-year review", true)
  cycle(hr, "Year-end review", false)
  praise(3 * n)
  one_on_ones()
  local review = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", first, 8 * me)
  io.stderr:write(("scale bench: %d people, a year of data in %d ms\n"):format(n, clock.mono_ms() - t0))
  print(("email person%05d@scale.example"):format(me))
  print("cycle " .. first)
  print("review " .. review)
end

if mode == "setup" then setup(count, password) else error("usage: scale_company.lua setup N PASSWORD") end
