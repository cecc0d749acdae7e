-- The XML export (admin.xml_export: super users only, PRODUCT.md §9): one XML document of the
-- whole company, made in the background and downloaded by the super user who started it.
--
-- One rule, every path: the export is a bulk read, and every object and every confidential text
-- goes in only when its exporter could read it through the one-by-one page or endpoint — the same
-- service functions decide (reviews.can_read, feedback.readable and feedback.groups,
-- objectives.readable, messages.openable, one_on_ones.can_read_series/can_read_item,
-- surveys.reader, the cycles' track rights). A super user is no exception to the hierarchy rule:
-- nothing of a person above them in their own reporting line that they could not open.
--
-- Made in slices: the rows are read in pages (M.PAGE rows, a constant number of queries a page,
-- never one per row), the text goes to a file in the data folder (exports/) a buffer at a time
-- (fs.append), and the loop serves others between slices (lib/pacing). The document is never
-- whole in memory while it is made. The record of the current export (exports/xml-export.json)
-- says running / ready (size, time) / failed; a new export replaces the old file.
local db = require "lib.db"
local json = require "lib.json"
local util = require "lib.util"
local errors = require "lib.errors"
local pacing = require "lib.pacing"
local crypt = require "lib.crypt"
local fs = require "core.fs"
local clock = require "core.clock"
local crypto = require "core.crypto"
local log = require "core.log"
local access = require "services.access"
local audit = require "services.audit"
local settings = require "services.settings"
local cycles = require "services.cycles"
local reviews = require "services.reviews"
local questionnaire = require "services.questionnaire"
local feedback_cycles = require "services.feedback_cycles"
local feedback = require "services.feedback"
local nominations = require "services.nominations"
local objectives = require "services.objectives"
local messages = require "services.messages"
local one_on_ones = require "services.one_on_ones"
local surveys = require "services.surveys"

local M = {}

M.JOB = "xml_export.run"
M.PAGE = 500            -- rows read at a time
M.SLICE_MS = 2.5        -- work between two pauses of the loop
M.FLUSH_BYTES = 65536   -- text kept before it goes to the file
M.LEASE = 600           -- seconds without progress after which a running export counts as stopped
M.CONTENT_TYPE = "application/xml; charset=utf-8"
M.KEEP = 24 * 3600      -- seconds a finished file is kept: it holds confidential text in clear
M.EXPIRE_JOB = "xml_export.expire"

local app
local test_folder

-- ------------------------------------------------------------------ where

--- The folder exports are written to: <data folder>/exports (tests: a folder of their own in /tmp).
function M.folder()
  local base = app and app.data_dir
  if not base then
    test_folder = test_folder or ("/tmp/candor-xml-export-test-" .. crypto.hex(crypto.random(6)))
    base = test_folder
  end
  return base .. "/exports"
end

-- The folder, created (0700) when missing: only when an export is started or made.
local function made_folder()
  local dir = M.folder()
  assert(fs.mkdir(dir, 448))
  return dir
end

local function record_path() return M.folder() .. "/xml-export.json" end

local function save(rec) assert(fs.write(record_path(), json.encode(rec))) end

-- A finished file older than M.KEEP is removed (its record says "expired"): the clear text of
-- what its maker may read does not stay on the server's disk longer than a download needs.
local function expire(rec)
  fs.remove(M.folder() .. "/" .. rec.file)
  rec.status, rec.expired_at = "expired", clock.now()
  save(rec)
end

--- The record of the current export, or nil: { id, status = "running" | "ready" | "failed" |
--- "expired", by (user id), by_name, started_at, heartbeat_at, finished_at, size, file, error,
--- section }. A ready file past M.KEEP is removed here if its job has not done it yet.
function M.current()
  local text = fs.read(record_path())
  local rec = text and json.decode(text) or nil
  if rec and rec.status == "ready" and clock.now() - (rec.finished_at or 0) >= M.KEEP then expire(rec) end
  return rec
end

local function running(rec)
  return rec and rec.status == "running" and clock.now() - (rec.heartbeat_at or rec.started_at or 0) < M.LEASE
end

-- Removes every export file but keep (a file name) from the folder.
local function remove_old(keep)
  local dir = made_folder()
  for _, name in ipairs(fs.list(dir) or {}) do
    if name:match("^candor%-export%-.*%.xml") and name ~= keep then fs.remove(dir .. "/" .. name) end
  end
end

-- ------------------------------------------------------------------ XML text

-- Characters XML 1.0 forbids (C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF)
-- become U+FFFD; the five markup characters and, in attributes, the white space a parser would
-- fold are written as references.
local REPLACEMENT = "\239\191\189"
local ESC = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&apos;",
  ["\r"] = "&#13;" }
local ATTR_ESC = setmetatable({ ["\n"] = "&#10;", ["\t"] = "&#9;" }, { __index = ESC })

--- text as XML character data (attr: for an attribute value): valid UTF-8 (bad bytes replaced),
--- no character XML 1.0 forbids, markup escaped.
function M.escape(text, attr)
  local s = tostring(text)
  if not s:find("[%c&<>\"'\128-\255]") then return s end
  s = util.utf8_clean(s)
  s = s:gsub("[%z\1-\8\11\12\14-\31]", REPLACEMENT):gsub("\239\191[\190\191]", REPLACEMENT)
  return (s:gsub(attr and "[&<>\"'\r\n\t]" or "[&<>\"'\r]", attr and ATTR_ESC or ESC))
end
local esc = M.escape

-- attributes from a list of name, value pairs (nil values left out)
local function attrs(list)
  local out = {}
  for i = 1, #list, 2 do
    local v = list[i + 1]
    if v ~= nil and v ~= false and v ~= "" then
      if v == true then v = "true" end
      out[#out + 1] = " " .. list[i] .. '="' .. esc(v, true) .. '"'
    end
  end
  return table.concat(out)
end

local function when(ts) return ts and util.format_time(ts) or nil end

-- ------------------------------------------------------------------ the writer

-- A writer appends text to path in buffers of M.FLUSH_BYTES; w:put(...) adds text,
-- w:el(name, attr_list, text) one element, w:pace() lets the loop serve others when the slice is over
-- (called after each object written: a slice never holds more than one object past its time; the
-- rows of the page being written are what is in memory meanwhile).
local Writer = {}
Writer.__index = Writer

local function writer(path, on_pause)
  return setmetatable({ path = path, buf = {}, n = 0, size = 0, over = pacing.slice(M.SLICE_MS), on_pause = on_pause },
    Writer)
end

function Writer:put(...)
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    self.buf[#self.buf + 1] = s
    self.n = self.n + #s
  end
  if self.n >= M.FLUSH_BYTES then self:flush() end
end

function Writer:flush()
  if self.n == 0 then return end
  local text = table.concat(self.buf)
  assert(fs.append(self.path, text))
  self.size = self.size + #text
  self.buf, self.n = {}, 0
end

function Writer:el(name, list, text)
  if text == nil or text == "" then
    self:put("<", name, attrs(list or {}), "/>")
  else
    self:put("<", name, attrs(list or {}), ">", esc(text), "</", name, ">")
  end
end

function Writer:pace()
  if self.over() then
    self:flush()
    if self.on_pause then self.on_pause() end
    pacing.pause()
    self.over = pacing.slice(M.SLICE_MS)
  end
end

-- Pages of rows: sql (with "?" for the last id and "?" for the limit, after args) by id.
local function pages(w, sql, args, fn)
  local last = 0
  while true do
    local a = { table.unpack(args or {}) }
    a[#a + 1] = last
    a[#a + 1] = M.PAGE
    local rows = db.query(sql, table.unpack(a))
    if #rows == 0 then return end
    fn(rows)
    last = rows[#rows].id
    w:pace()
    if #rows < M.PAGE then return end
  end
end

local function ids_of(rows, field)
  local out = {}
  for i, r in ipairs(rows) do out[i] = r[field or "id"] end
  return json.encode(out)
end

-- An answer's value: text as character data, numbers and lists as attributes.
local function answer(w, question, value, by)
  local v = value
  if type(v) == "table" then
    if v.x ~= nil or v.y ~= nil then
      w:el("answer", { "question", question, "by", by, "x", v.x, "y", v.y })
      return
    end
    local parts = {}
    for i, x in ipairs(v) do parts[i] = tostring(x) end
    v = table.concat(parts, " ")
    w:el("answer", { "question", question, "by", by, "choices", v })
  elseif type(v) == "number" or type(v) == "boolean" then
    w:el("answer", { "question", question, "by", by, "value", tostring(v) })
  else
    w:el("answer", { "question", question, "by", by }, v)
  end
end

local function questions_el(w, q)
  w:put("<questions>")
  for _, x in ipairs(questionnaire.questions(q)) do
    w:el("question", { "id", x.id, "type", x.type, "audience", x.audience, "scale", x.scale }, x.text)
  end
  w:put("</questions>")
end

-- ------------------------------------------------------------------ the sections

local function people(w, actor)
  local all = access.can(actor, "users.view_all")
  w:put("<people>")
  pages(w, [[SELECT id, email, name, job_title, department, location, hire_date, manager_id, status, kind, created_at
      FROM users WHERE id > ? ]] .. (all and "" or "AND status = 'active' ") .. "ORDER BY id LIMIT ?", {}, function(rows)
    local roles = {}
    for _, r in ipairs(db.query("SELECT user_id, role FROM user_roles WHERE user_id IN (SELECT value FROM json_each(?)) "
        .. "ORDER BY user_id, role", ids_of(rows))) do
      local l = roles[r.user_id] or {}
      l[#l + 1] = r.role
      roles[r.user_id] = l
    end
    for _, u in ipairs(rows) do
      w:put("<person", attrs{ "id", u.id, "status", u.status, "kind", u.kind, "manager", u.manager_id }, ">")
      w:el("name", nil, u.name)
      w:el("email", nil, u.email)
      w:el("job-title", nil, u.job_title)
      w:el("department", nil, u.department)
      w:el("location", nil, u.location)
      w:el("hire-date", nil, u.hire_date)
      w:put("<roles>")
      for _, r in ipairs(roles[u.id] or {}) do w:el("role", nil, r) end
      w:put("</roles></person>")
      w:pace()
    end
  end)
  w:put("</people>")
end

local function review_cycles(w, actor)
  w:put("<review-cycles>")
  for _, id in ipairs(db.column("SELECT id FROM cycles ORDER BY id")) do
    local c = cycles.get(id)
    local role = cycles.cycle_role(actor.id, c.id) or false
    local track = cycles.can(actor, "review_cycles.track", c, role)
    local opened = false
    local function open()
      if opened then return end
      opened = true
      w:put("<review-cycle", attrs{ "id", c.id, "phase", c.phase, "start-date", c.start_date, "self-due", c.self_due,
        "manager-due", c.manager_due, "sign-due", c.sign_due }, ">")
      w:el("name", nil, c.name)
      questions_el(w, c.questionnaire)
      w:put("<reviews>")
    end
    if track then open() end
    local private = {}
    for _, q in ipairs(questionnaire.questions(c.questionnaire)) do
      if q.audience == "manager_private" then private[q.id] = true end
    end
    pages(w, "SELECT * FROM reviews WHERE cycle_id = ? AND id > ? ORDER BY id LIMIT ?", { c.id }, function(rows)
      local shown, read = {}, {}
      for _, r in ipairs(rows) do
        local d = { self = c.self_assessment and reviews.can_read(actor, r, c, "self", role) or false,
          manager = reviews.can_read(actor, r, c, "manager", role) }
        if track or d.self or d.manager or actor.id == r.reviewee_id or actor.id == r.manager_id then
          shown[#shown + 1] = r
          read[r.id] = d
        end
      end
      if #shown == 0 then return end
      open()
      local answers = {}
      for _, a in ipairs(db.query([[SELECT review_id, author, question_id, value_enc FROM answers
          WHERE review_id IN (SELECT value FROM json_each(?)) ORDER BY review_id, author, question_id]], ids_of(shown))) do
        local d = read[a.review_id]
        if d[a.author] then
          local t = answers[a.review_id] or { self = {}, manager = {} }
          answers[a.review_id] = t
          t[a.author][#t[a.author] + 1] = a
        end
      end
      for _, r in ipairs(shown) do
        w:put("<review", attrs{ "id", r.id, "reviewee", r.reviewee_id, "manager", r.manager_id,
          "self-status", r.self_status, "manager-status", r.manager_status,
          "self-submitted-at", when(r.self_submitted_at), "manager-submitted-at", when(r.manager_submitted_at),
          "shared-at", when(r.shared_at), "reviewee-signed-at", when(r.reviewee_signed_at),
          "manager-signed-at", when(r.manager_signed_at), "closed-at", when(r.closed_at) }, ">")
        local t = answers[r.id]
        for _, part in ipairs({ "self", "manager" }) do
          if t and #t[part] > 0 then
            w:put(part == "self" and "<self-assessment>" or "<manager-review>")
            for _, a in ipairs(t[part]) do
              -- the reviewee never reads the manager's private questions (the review page's rule)
              if not (part == "manager" and private[a.question_id] and actor.id == r.reviewee_id) then
                answer(w, a.question_id, reviews.decrypt_value(r.id, part, a.question_id, a.value_enc))
              end
            end
            w:put(part == "self" and "</self-assessment>" or "</manager-review>")
          end
        end
        w:put("</review>")
        w:pace()
      end
    end)
    if opened then w:put("</reviews></review-cycle>") end
    w:pace()
  end
  w:put("</review-cycles>")
end

local function feedback_cycles_el(w, actor)
  w:put("<feedback-cycles>")
  local now = clock.now()
  for _, id in ipairs(db.column("SELECT id FROM feedback_cycles ORDER BY id")) do
    local c = feedback_cycles.get(id)
    local role = feedback_cycles.cycle_role(actor.id, c.id) or false
    local track = feedback_cycles.can(actor, "feedback_cycles.track", c, role)
    local opened = false
    local function open()
      if opened then return end
      opened = true
      w:put("<feedback-cycle", attrs{ "id", c.id, "phase", c.phase, "start-date", c.start_date,
        "write-due", c.write_due, "release-date", c.release_date, "anonymous", c.visibility.anonymous == true }, ">")
      w:el("name", nil, c.name)
      questions_el(w, c.questionnaire)
      w:put("<subjects>")
    end
    if track then open() end
    pages(w, "SELECT * FROM feedback_subjects WHERE cycle_id = ? AND id > ? ORDER BY id LIMIT ?", { c.id }, function(rows)
      local reqs = {}
      for _, r in ipairs(db.query([[SELECT r.*, u.name AS reviewer_name FROM feedback_nominations r
          JOIN users u ON u.id = r.reviewer_id WHERE r.subject_id IN (SELECT value FROM json_each(?)) ORDER BY r.id]],
          ids_of(rows))) do
        local l = reqs[r.subject_id] or {}
        l[#l + 1] = r
        reqs[r.subject_id] = l
      end
      local shown, readable, read_ids = {}, {}, {}
      for _, s in ipairs(rows) do
        local all = reqs[s.id] or {}
        local list = nominations.list_right(actor, c, s, role)
        local ok = feedback.readable(actor, c, s, all, role, now)
        if track or list or #ok > 0 then
          shown[#shown + 1] = { s = s, all = all, list = list }
          readable[s.id] = ok
          for _, r in ipairs(ok) do read_ids[#read_ids + 1] = r.id end
        end
      end
      if #shown == 0 then return end
      open()
      local answers = feedback.answers_of_many(read_ids)
      for _, x in ipairs(shown) do
        local s = x.s
        w:put("<subject", attrs{ "id", s.id, "reviewee", s.reviewee_id, "manager", s.manager_id,
          "approved-at", when(s.approved_at), "released-at", when(s.released_at) }, ">")
        if x.list then
          w:put("<requests>")
          for _, r in ipairs(x.all) do
            if x.list == "all" or r.proposed_by == actor.id or r.relationship == "self" then
              w:el("request", { "id", r.id, "reviewer", r.reviewer_id, "relationship", r.relationship,
                "status", r.status, "feedback-status", r.feedback_status, "shared-at", when(r.shared_at) })
            end
          end
          w:put("</requests>")
        end
        local groups = feedback.groups(c, s, readable[s.id], answers)
        if #groups > 0 then
          w:put("<feedback>")
          for _, g in ipairs(groups) do
            w:put("<group", attrs{ "relationship", g.key, "anonymous", g.anonymous, "count", g.count,
              "hidden", g.hidden }, ">")
            if g.hidden then
              w:el("reason", nil, g.reason)
            else
              for _, q in ipairs(g.questions) do
                w:put("<question", attrs{ "id", q.question.id }, ">")
                for _, a in ipairs(q.answers) do answer(w, q.question.id, a.text or a.value, a.by) end
                w:put("</question>")
              end
            end
            w:put("</group>")
          end
          w:put("</feedback>")
        end
        w:put("</subject>")
        w:pace()
      end
    end)
    if opened then w:put("</subjects></feedback-cycle>") end
    w:pace()
  end
  w:put("</feedback-cycles>")
end

local function objectives_el(w, actor)
  w:put("<objective-cycles>")
  for _, c in ipairs(db.query("SELECT id, name, starts_on, ends_on FROM objective_cycles ORDER BY id")) do
    w:put("<objective-cycle", attrs{ "id", c.id, "starts-on", c.starts_on, "ends-on", c.ends_on }, ">")
    w:el("name", nil, c.name)
    w:put("</objective-cycle>")
  end
  w:put("</objective-cycles><objectives>")
  pages(w, [[SELECT o.id, o.cycle_id, o.owner_id, o.level, o.parent_id, o.visibility, o.title_enc, o.description_enc,
      o.category, o.due_on, o.status, o.progress, o.rating, ]] .. objectives.PART_SQL .. [[ AS part
      FROM objectives o WHERE o.id > ? ORDER BY o.id LIMIT ?]], { actor.id }, function(rows)
    local ok = objectives.readable(actor, rows)
    if #ok == 0 then return end
    local krs = {}
    for _, k in ipairs(db.query([[SELECT id, objective_id, kind, title_enc, start_value, target_value, current_value, done
        FROM objective_key_results WHERE objective_id IN (SELECT value FROM json_each(?)) ORDER BY objective_id, position]],
        ids_of(ok))) do
      local l = krs[k.objective_id] or {}
      l[#l + 1] = k
      krs[k.objective_id] = l
    end
    for _, o in ipairs(ok) do
      w:put("<objective", attrs{ "id", o.id, "cycle", o.cycle_id, "owner", o.owner_id, "level", o.level,
        "parent", o.parent_id, "visibility", o.visibility, "status", o.status, "progress", o.progress,
        "rating", o.rating, "due-on", o.due_on }, ">")
      w:el("title", nil, crypt.open("objectives", "title_enc", { o.id }, o.title_enc))
      if o.description_enc then
        w:el("description", nil, crypt.open("objectives", "description_enc", { o.id }, o.description_enc))
      end
      w:el("category", nil, o.category)
      for _, k in ipairs(krs[o.id] or {}) do
        w:el("key-result", { "id", k.id, "kind", k.kind, "start", k.start_value, "target", k.target_value,
          "current", k.current_value, "done", k.done == 1 },
          crypt.open("objective_key_results", "title_enc", { k.id }, k.title_enc))
      end
      w:put("</objective>")
      w:pace()
    end
  end)
  w:put("</objectives>")
end

local function messages_el(w, actor)
  w:put("<messages>")
  pages(w, messages.SELECT .. " WHERE m.id > ? ORDER BY m.id LIMIT ?", {}, function(rows)
    for _, m in ipairs(messages.openable(actor, rows)) do
      w:put("<message", attrs{ "id", m.id, "kind", m.kind, "audience", m.audience, "author", m.author and m.author.id,
        "anonymous", m.anonymous, "about", m.about_id, "badge", m.badge and m.badge.title,
        "created-at", when(m.created_at) }, ">")
      for _, p in ipairs(m.recipients) do w:el("recipient", { "person", p.id }) end
      w:el("text", nil, m.text)
      w:put("</message>")
      w:pace()
    end
  end)
  w:put("</messages>")
end

local function one_on_ones_el(w, actor)
  w:put("<one-on-ones>")
  pages(w, [[SELECT id, organizer_id, attendee_id, title_enc, cadence, phase, next_date, created_at
      FROM meeting_series WHERE id > ? ORDER BY id LIMIT ?]], {}, function(rows)
    local ok = {}
    for _, s in ipairs(rows) do
      if one_on_ones.can_read_series(actor, s) then ok[#ok + 1] = s end
    end
    if #ok == 0 then return end
    local idj = ids_of(ok)
    local meetings, items = {}, {}
    for _, m in ipairs(db.query([[SELECT id, series_id, seq, date, status FROM meetings
        WHERE series_id IN (SELECT value FROM json_each(?)) ORDER BY series_id, seq]], idj)) do
      local l = meetings[m.series_id] or {}
      l[#l + 1] = m
      meetings[m.series_id] = l
    end
    for _, i in ipairs(db.query([[SELECT id, series_id, from_seq, kind, author_id, private, text_enc, assignee_id,
        due_date, done_seq FROM meeting_items WHERE series_id IN (SELECT value FROM json_each(?))
        AND (private = 0 OR author_id = ?) ORDER BY series_id, from_seq, id]], idj, actor.id)) do
      if one_on_ones.can_read_item(actor, i) then
        local l = items[i.series_id] or {}
        l[#l + 1] = i
        items[i.series_id] = l
      end
    end
    for _, s in ipairs(ok) do
      w:put("<series", attrs{ "id", s.id, "organizer", s.organizer_id, "attendee", s.attendee_id, "cadence", s.cadence,
        "phase", s.phase, "next-date", s.next_date }, ">")
      w:el("title", nil, crypt.open("meeting_series", "title_enc", { s.id }, s.title_enc))
      for _, m in ipairs(meetings[s.id] or {}) do
        w:el("meeting", { "id", m.id, "seq", m.seq, "date", m.date, "status", m.status })
      end
      for _, i in ipairs(items[s.id] or {}) do
        w:el("item", { "id", i.id, "kind", i.kind, "meeting-seq", i.from_seq, "author", i.author_id,
          "private", i.private == 1, "assignee", i.assignee_id, "due-date", i.due_date, "done-seq", i.done_seq },
          crypt.open("meeting_items", "text_enc", { i.id }, i.text_enc))
      end
      w:put("</series>")
      w:pace()
    end
  end)
  w:put("</one-on-ones>")
end

local function surveys_el(w, actor)
  w:put("<surveys>")
  -- surveys are few (a handful a year, whatever the size of the company): the reader rule of the
  -- survey page (surveys.reader) is asked for each
  for _, s in ipairs(db.query([[SELECT id, creator_id, title, participants, starts_on, frequency, round_days, questions,
      comment_question, threshold, share_managers, phase FROM surveys ORDER BY id]])) do
    if surveys.reader(actor, s) then
      w:put("<survey", attrs{ "id", s.id, "phase", s.phase, "participants", s.participants, "starts-on", s.starts_on,
        "frequency", s.frequency, "threshold", s.threshold }, ">")
      w:el("title", nil, s.title)
      w:put("<questions>")
      for i, q in ipairs(json.decode(s.questions) or {}) do
        w:el("question", { "number", i, "scale", q.scale }, q.text)
      end
      if s.comment_question then w:el("comment-question", nil, s.comment_question) end
      w:put("</questions></survey>")
    end
    w:pace()
  end
  w:put("</surveys>")
end

M.SECTIONS = {
  { "people", people }, { "review cycles", review_cycles }, { "360 feedback", feedback_cycles_el },
  { "objectives", objectives_el }, { "praise, feedback and notes", messages_el }, { "1:1 meetings", one_on_ones_el },
  { "surveys", surveys_el },
}

--- Writes the whole document for actor to path (appending; path should not exist). Must run
--- outside any transaction; pauses between slices when it runs in a task. progress(section) is
--- called as each section starts and at every pause. Returns the size in bytes.
function M.write(actor, path, progress)
  local section
  local w = writer(path, function() if progress then progress(section) end end)
  local company = settings.get("company.name")
  w:put('<?xml version="1.0" encoding="UTF-8"?>\n')
  w:put("<candor-export", attrs{ "format", "1", "exported-at", util.format_time(clock.now()), "exported-by", actor.id },
    ">")
  w:put("<company>")
  w:el("name", nil, company)
  w:put("</company>")
  for _, s in ipairs(M.SECTIONS) do
    section = s[1]
    if progress then progress(section) end
    s[2](w, actor)
  end
  w:put("</candor-export>\n")
  w:flush()
  return w.size
end

-- ------------------------------------------------------------------ starting, running, reading

--- A size in bytes as people read it: "812 bytes", "14.2 kB", "3.1 MB".
function M.size_text(n)
  if n < 1000 then return util.plural(n, "byte") end
  if n < 1000000 then return ("%.1f kB"):format(n / 1000) end
  if n < 1000000000 then return ("%.1f MB"):format(n / 1000000) end
  return ("%.2f GB"):format(n / 1000000000)
end

local function impersonating(req) return req and req.session and req.session.impersonator end

--- The export as actor may see it: nil, or { status, by_name, mine (true when actor started it
--- and may download it), started_at, finished_at, size, error, section }.
function M.status(actor)
  access.require(actor, "admin.xml_export")
  local rec = M.current()
  if not rec then return nil end
  if rec.status == "running" and not running(rec) then
    rec.status, rec.error = "failed", "The export stopped (the server was restarted or it failed); start it again."
  end
  return { status = rec.status, by = rec.by, by_name = rec.by_name, mine = rec.by == actor.id,
    started_at = rec.started_at, finished_at = rec.finished_at, size = rec.size, error = rec.error,
    section = rec.section, size_text = rec.size and M.size_text(rec.size),
    kept_until = rec.status == "ready" and rec.finished_at and rec.finished_at + M.KEEP or nil }
end

--- Starts an export for actor (a super user): refused while one runs; the file of the last one
--- is replaced when the new one is made. Call in the request's transaction: the job and the audit
--- entry commit with it, the record is written once it committed.
function M.start(actor, req)
  access.require(actor, "admin.xml_export")
  if impersonating(req) then
    errors.forbidden("The XML export cannot be started while you impersonate someone.")
  end
  if running(M.current()) then
    errors.conflict("An XML export is being made. Wait until it is ready, then start another if you need one.")
  end
  local id = crypto.hex(crypto.random(16))
  local now = clock.now()
  local rec = { id = id, status = "running", by = actor.id, by_name = actor.name, started_at = now, heartbeat_at = now,
    file = "candor-export-" .. id .. ".xml" }
  audit.record{ action = "xml_export.start", actor = actor, req = req, target_type = "export", target_label = "XML export",
    details = { export = id } }
  app.schedule(now, M.JOB, { id = id }, "xml_export")
  made_folder()
  db.after_commit(function() save(rec) end)
  return rec
end

-- The job: makes the file of export payload.id (if it is still the current one) as its starter.
local function run(payload)
  local rec = M.current()
  if not rec or rec.id ~= payload.id or rec.status ~= "running" then return end
  local actor = db.row("SELECT id, email, name, kind, status FROM users WHERE id = ?", rec.by)
  local dir = made_folder()
  local part = dir .. "/" .. rec.file .. ".part"
  remove_old(nil)
  local function fail(message)
    fs.remove(part)
    rec.status, rec.error, rec.finished_at = "failed", message, clock.now()
    save(rec)
  end
  if not actor or actor.status ~= "active" or not access.can(actor, "admin.xml_export") then
    return fail("The person who started the export may no longer make one.")
  end
  local last = 0
  local ok, size = pcall(pacing.long, M.write, actor, part, function(section)
    if section ~= rec.section or clock.now() - last >= 5 then
      -- the record shows how far it got (and that it is alive) without a write at every pause
      rec.section, rec.heartbeat_at, last = section, clock.now(), clock.now()
      local cur = M.current()
      if not cur or cur.id ~= rec.id then error("superseded", 0) end
      save(rec)
    end
  end)
  if not ok then
    if size == "superseded" then return fs.remove(part) end
    log.error("XML export failed: " .. tostring(errors.is(size) and size.message or size))
    return fail("The export failed (the error is in the server log); start it again.")
  end
  assert(fs.rename(part, dir .. "/" .. rec.file))
  rec.status, rec.size, rec.finished_at, rec.section = "ready", size, clock.now(), nil
  save(rec)
  db.transaction(function()
    app.schedule(rec.finished_at + M.KEEP, M.EXPIRE_JOB, { id = rec.id }, "xml_export:expire")
  end)
end

--- The finished file for actor: path, download name, record. 403 for anyone but the super user
--- who made it (its content is what they may read), 404 when there is none ready.
function M.download(actor, req)
  access.require(actor, "admin.xml_export")
  local rec = M.current()
  if not rec or rec.status ~= "ready" then errors.not_found("There is no finished XML export. Start one first.") end
  if rec.by ~= actor.id or impersonating(req) then
    errors.forbidden("Only the person who made this export may download it: it holds what they may read. "
      .. "Start an export of your own.")
  end
  local path = M.folder() .. "/" .. rec.file
  if not fs.stat(path) then errors.not_found("The export file is gone. Start a new export.") end
  audit.record{ action = "xml_export.download", actor = actor, req = req, target_type = "export",
    target_label = "XML export", details = { export = rec.id, size = rec.size } }
  local name = "candor-export-" .. os.date("!%Y-%m-%d", rec.finished_at) .. ".xml"
  return path, name, rec
end

function M.init(a)
  app = a
  app.on_job(M.JOB, run, { attempts = 1 })
  app.on_job(M.EXPIRE_JOB, function(payload)
    local rec = M.current()
    if rec and rec.id == payload.id and rec.status == "ready" then expire(rec) end
  end)
end

return M
