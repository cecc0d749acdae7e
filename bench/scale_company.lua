-- The scale benchmark's helper, run by bench/bench_scale.sh through `candor run` on an empty
-- data folder:
--
--   candor run --data DIR bench/scale_company.lua setup N PASSWORD
--     fills it with a company of N people and a year of data of every module there is, the same
--     shape at any N:
--     - reporting lines eight wide;
--     - two review cycles started for everyone through the service (the first with both parts
--       answered and shared for half the reviews);
--     - praise: three messages per person; feedback: one message per person to a colleague; notes:
--       two private notes per report by their manager;
--     - 1:1s: a weekly series between every manager and each report with a year of meetings and
--       notes;
--     - 360 feedback: two cycles started through the service (self and manager requests), three to
--       five approved peers per reviewee; the spring cycle written and closed, the autumn one
--       running with 40 % written; two answers per written request;
--     - objectives: four quarterly cycles, each with three company objectives, one team objective
--       per manager and three individual objectives per person, aligned, with two or three key
--       results each, two progress updates and a comment;
--     - pulse surveys: a monthly survey of three questions and a comment, twelve rounds (the last
--       open) to everyone, 70 % answering, a fifth of them with a comment;
--     - automations: a schedule (every six months) and one after the hire date, through the
--       service;
--     - the mail outbox: 24 mails sent per person over the year, each with its event;
--     - the audit log: 20 entries per person over the year, hash-chained as the service writes them;
--     - jobs: what the services planned: the invitations the starts left to jobs run (their mails
--       marked sent), the cycles' dated steps and the automations' checks waiting.
--     Person 1 is HR Admin and Tech Admin. The person who signs in is a line manager of eight
--     (who manage nobody) and HR Admin, so that every page has the same work at any size: they get
--     PASSWORD. Prints on its last lines "email E", "cycle ID" and "review ID" (a review of one of
--     their reports), then "feedback_cycle ID", "objective_cycle ID" and "survey ID" (the running
--     ones).
local db = require "lib.db"
local crypt = require "lib.crypt"
local json = require "lib.json"
local util = require "lib.util"
local clock = require "core.clock"
local crypto = require "core.crypto"
require "services.messages"    -- registers the sealed columns
require "services.one_on_ones" -- idem
require "services.feedback"    -- idem
require "services.objectives"  -- idem
require "services.surveys"     -- idem

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

-- the next free id of a table (rows are given their ids, so a sealed column goes in one INSERT)
local function next_id(tbl) return (db.value("SELECT max(id) FROM " .. tbl) or 0) + 1 end

-- feedback messages (one per person, to a colleague) and private notes (two per report, by the manager)
local function notes(n)
  local id = next_id("messages")
  local function add(kind, author, about, to, audience, text, at)
    db.exec([[INSERT INTO messages(id, kind, author_id, about_id, audience, text_enc, created_at, updated_at)
      VALUES(?, ?, ?, ?, ?, ?, ?, ?)]], id, kind, author, about, audience, crypt.seal("messages", "text_enc", { id }, text),
      at, at)
    if to then db.exec("INSERT INTO message_recipients(message_id, user_id) VALUES(?, ?)", id, to) end
    id = id + 1
  end
  db.transaction(function()
    for i = 1, n do
      add("feedback", i, nil, (i * 7) % n + 1 == i and i % n + 1 or (i * 7) % n + 1, "recipients",
        "Your demo last week was clear; next time show the numbers first.", now - (i % 365) * 86400)
    end
    for i = 2, n do
      for k = 1, 2 do
        add("note", (i - 2) // 8 + 1, i, nil, "author", "Wants to lead the next release; check in about it.",
          now - ((i + 180 * k) % 365) * 86400)
      end
    end
  end)
end

-- two 360 cycles through the service, then their peers and answers as plain rows
local function feedback(hr, n)
  local fc = require "services.feedback_cycles"
  local function cycle_360(name, start, written_share)
    local c = fc.create(hr, { name = name, start_date = day(start), nominate_due = day(start + 7),
      approve_due = day(start + 10), write_due = day(start + 24), release_date = day(start + 31) })
    fc.add_reviewees(hr, c.id, db.column("SELECT id FROM users WHERE manager_id IS NOT NULL ORDER BY id"))
    fc.start(hr, c.id)
    local at = now + start * 86400
    db.transaction(function()
      for _, s in ipairs(db.query("SELECT id, reviewee_id, manager_id FROM feedback_subjects WHERE cycle_id = ?", c.id)) do
        local r = s.reviewee_id
        for k = 1, 3 + r % 3 do
          local reviewer = (r + k * 37) % n + 1
          if reviewer ~= r and reviewer ~= s.manager_id then
            db.exec([[INSERT INTO feedback_nominations(subject_id, cycle_id, reviewer_id, relationship, proposed_by, status,
                approved_at, invited_at, created_at, updated_at) VALUES(?, ?, ?, 'peer', ?, 'approved', ?, ?, ?, ?)
              ON CONFLICT(subject_id, reviewer_id) DO NOTHING]], s.id, c.id, reviewer, r, at, at, at, at)
          end
        end
        db.exec("UPDATE feedback_subjects SET nominations_done_at = ?, approved_at = ?, approved_by = ? WHERE id = ?",
          at, at, s.manager_id, s.id)
      end
      for i, q in ipairs(db.query("SELECT id FROM feedback_nominations WHERE cycle_id = ? ORDER BY id", c.id)) do
        if i % 10 < written_share * 10 then
          for _, a in ipairs({ { "q1", "Clear writing and steady delivery." }, { "q2", "Speak up earlier in planning." } }) do
            db.exec("INSERT INTO feedback_answers(request_id, question_id, value_enc, updated_at) VALUES(?, ?, ?, ?)",
              q.id, a[1], crypt.seal("feedback_answers", "value_enc", { q.id, a[1] }, json.encode(a[2])), at)
          end
          db.exec("UPDATE feedback_nominations SET feedback_status = 'shared', shared_at = ? WHERE id = ?", at, q.id)
        end
      end
    end)
    return c.id
  end
  local spring = cycle_360("Spring 360", -200, 1)
  fc.transition(hr, spring, "closed")
  return cycle_360("Autumn 360", -10, 0.4)
end

-- four quarterly objective cycles: company, team (one per manager) and individual objectives,
-- aligned, with key results, progress updates and a comment
local function objectives(n)
  local oid, kid, cid = next_id("objectives"), next_id("objective_key_results"), next_id("objective_comments")
  local vis = { "public", "public", "public", "public", "public", "public", "protected", "protected", "protected", "private" }
  local statuses = { "on_track", "on_track", "at_risk", "off_track", "done" }
  local current
  local function add(oc, owner, level, parent, i, from, to)
    local id, done = oid, to < now
    oid = oid + 1
    local progress = done and (i * 37) % 101 or (i * 37) % 71
    db.exec([[INSERT INTO objectives(id, cycle_id, owner_id, level, parent_id, visibility, title_enc, status, progress,
        due_on, created_by, created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]],
      id, oc, owner, level, parent, vis[i % 10 + 1],
      crypt.seal("objectives", "title_enc", { id }, ("Ship the %s goal %d"):format(level, i)),
      done and (progress == 100 and "done" or "missed") or statuses[i % 5 + 1], progress,
      util.format_date(to), owner, from, from)
    for k = 1, 2 + i % 2 do
      local number = k == 1
      db.exec([[INSERT INTO objective_key_results(id, objective_id, position, kind, title_enc, start_value, target_value,
          current_value, done, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)]], kid, id, k, number and "number" or "check",
        crypt.seal("objective_key_results", "title_enc", { kid }, ("Key result %d"):format(k)),
        number and 0 or nil, number and 100 or nil, number and progress or nil, (not number and i % 2 == 0) and 1 or 0, from)
      kid = kid + 1
    end
    for k, kind in ipairs({ "update", "update", "comment" }) do
      local at = from + k * (to - from) // 4
      db.exec([[INSERT INTO objective_comments(id, objective_id, author_id, kind, body_enc, status, progress, changes,
          created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)]], cid, id, owner, kind,
        crypt.seal("objective_comments", "body_enc", { cid }, kind == "update" and "On the way." or "Good progress."),
        kind == "update" and "on_track" or nil, kind == "update" and progress * k // 2 or nil,
        kind == "update" and json.encode({ progress = progress * k // 2 }) or nil, at)
      cid = cid + 1
    end
    return id
  end
  db.transaction(function()
    for q = 3, 0, -1 do
      local from = now - (q * 91 + 45) * 86400
      local to = from + 90 * 86400
      local oc = db.insert([[INSERT INTO objective_cycles(name, starts_on, ends_on, edit_until, update_until,
          created_by, created_at, updated_at) VALUES(?, ?, ?, ?, ?, 1, ?, ?)]], ("Quarter %d"):format(4 - q),
        util.format_date(from), util.format_date(to), util.format_date(from + 14 * 86400), util.format_date(to + 14 * 86400),
        from, from)
      local company, team = {}, {}
      for i = 1, 3 do company[i] = add(oc, 1, "company", nil, i, from, to) end
      for m = 1, (n - 2) // 8 + 1 do team[m] = add(oc, m, "team", company[m % 3 + 1], m, from, to) end
      for i = 1, n do
        for k = 1, 3 do
          local parent = i > 1 and team[(i - 2) // 8 + 1] or company[k]
          add(oc, i, "individual", parent, i * 3 + k, from, to)
        end
      end
      current = oc
    end
  end)
  return current
end

-- a monthly pulse survey to everyone: twelve rounds, the last one open, 70 % answering
local function survey(n)
  local first = now - 334 * 86400
  local id = db.insert([[INSERT INTO surveys(creator_id, title, participants, starts_on, frequency, round_days, questions,
      comment_question, threshold, phase, next_opens_on, created_at, updated_at)
      VALUES(1, 'Monthly pulse', 'everyone', ?, 'monthly', 5, ?, 'Anything else?', 5, 'running', ?, ?, ?)]],
    util.format_date(first), json.encode({ { text = "I would recommend working here.", scale = 10 },
      { text = "I know what is expected of me.", scale = 5 }, { text = "My workload is manageable.", scale = 5 } }),
    day(28), first, first)
  local chains = {}
  for i = 1, n do
    local up, m = {}, i > 1 and (i - 2) // 8 + 1 or nil
    while m do
      up[#up + 1] = m
      m = m > 1 and (m - 2) // 8 + 1 or nil
    end
    chains[i] = json.encode(json.array(up))
  end
  db.transaction(function()
    for r = 1, 12 do
      local opens = first + (r - 1) * 30 * 86400
      local open = r == 12
      local round = db.insert([[INSERT INTO survey_rounds(survey_id, seq, opens_on, closes_on, status)
        VALUES(?, ?, ?, ?, ?)]], id, r, util.format_date(opens), util.format_date(opens + 4 * 86400),
        open and "open" or "closed")
      for i = 1, n do
        local answered = (i * 7 + r) % 10 < 7 and not (open and i == persona(n))
        db.exec("INSERT INTO survey_invitations(round_id, user_id, responded) VALUES(?, ?, ?)", round, i, answered and 1 or 0)
        if answered then
          local rid = (string.unpack("<I7", crypto.random(7)) >> 3) + 1
          db.exec([[INSERT INTO survey_responses(id, round_id, answers, comment_enc, department, location, manager_ids)
              VALUES(?, ?, ?, ?, ?, ?, ?)]], rid, round, json.encode({ (i + r) % 10 + 1, i % 5 + 1, (i * r) % 5 + 1 }),
            i % 5 == 0 and crypt.seal("survey_responses", "comment_enc", { rid }, "More time for focused work, please.") or nil,
            ({ "Engineering", "Sales", "Product", "Operations", "People" })[i % 5 + 1],
            ({ "Berlin", "London", "New York", "Remote" })[i % 4 + 1], chains[i])
        end
      end
    end
  end)
  return id
end

-- two automations through the service: every six months from the first cycle, and 90 days after the hire date
local function automations(hr, template)
  local a = require "services.automations"
  a.create(hr, { name = "Half-year reviews", kind = "schedule", template_cycle_id = template, first_start = day(60),
    repeat_months = 6, audience = { everyone = true } })
  a.create(hr, { name = "End of probation", kind = "after_hire_date", template_cycle_id = template, offset_amount = 90,
    offset_unit = "days", audience = { everyone = true } })
end

-- a year of sent mail (24 per person, each with its event) and of audit entries (20 per person)
local function mail_and_audit(n)
  local templates = { "review.invite", "review.reminder", "feedback.invite", "feedback.reminder", "survey.invite",
    "survey.reminder", "objective.reminder", "one_on_one.reminder", "praise.received", "review.shared" }
  local mails = 24 * n
  local oid = next_id("outbox")
  db.transaction(function()
    for k = 1, mails do
      local to, at = k % n + 1, now - (mails - k) * (365 * 86400 // mails) - 86400
      local template = templates[k % #templates + 1]
      db.exec([[INSERT INTO outbox(id, created_at, template, to_email, to_name, to_user_id, subject, body_text, status,
          attempts, sent_at, smtp_response, message_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'sent', 1, ?, '250 OK', ?)]],
        oid, at, template, ("person%05d@scale.example"):format(to), ("Person %05d"):format(to), to,
        "Something waits for you in Candor", ("Hello Person %05d,\n\nsomething waits for you in Candor (%s).\n\n"
        .. "Open it: https://candor.scale.example/home\n"):format(to, template), at + 5, ("<%d@candor>"):format(oid))
      db.exec("INSERT INTO outbox_events(outbox_id, at, status, detail) VALUES(?, ?, 'sent', '250 OK')", oid, at + 5)
      oid = oid + 1
    end
  end)
  local audit = require "services.audit"
  local actions = { "session.signin", "session.signin", "session.signin", "objective.update", "review.answer",
    "feedback.share", "user.update", "session.signout" }
  local entries = 20 * n
  local real_now = clock.now
  db.transaction(function()
    for k = 1, entries do
      local actor = (k * 7919) % n + 1
      clock.now = function() return now - (entries - k) * (365 * 86400 // entries) - 86400 end
      audit.record{ action = actions[k % #actions + 1], actor_id = actor, actor_label = ("person%05d@scale.example")
        :format(actor), target_type = "user", target_id = actor, ip = "10.0." .. k % 250 .. ".1" }
    end
  end)
  clock.now = real_now
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
  notes(n)
  one_on_ones()
  local feedback_cycle = feedback(hr, n)
  local objective_cycle = objectives(n)
  local survey_id = survey(n)
  automations(hr, first)
  mail_and_audit(n)
  -- what the starts left to their jobs (about 3.2 invitations per person) is done and sent, as it
  -- would be after a year, so the server serves pages rather than rendering invitations
  require("lib.jobs").run_due({ inline = true })
  db.exec("UPDATE outbox SET status = 'sent', attempts = 1, sent_at = created_at WHERE status = 'queued'")
  local review = db.value("SELECT id FROM reviews WHERE cycle_id = ? AND reviewee_id = ?", first, 8 * me)
  io.stderr:write(("scale bench: %d people, a year of data in %d ms\n"):format(n, clock.mono_ms() - t0))
  print(("email person%05d@scale.example"):format(me))
  print("cycle " .. first)
  print("review " .. review)
  print("feedback_cycle " .. feedback_cycle)
  print("objective_cycle " .. objective_cycle)
  print("survey " .. survey_id)
end

if mode == "setup" then setup(count, password) else error("usage: scale_company.lua setup N PASSWORD") end
