-- Feedback requests: ask named colleagues for feedback about yourself, or as the direct manager
-- about a report (feedback_requests.create). Each one asked (askee) answers — the answer is a
-- feedback message to the one who asked, about the person — or declines. A reminder goes to
-- those still open two days before the due date (a job). The question is sealed like every text.
-- Who sees a request: the one who asked (author) and those asked (recipients), through the
-- evaluator (feedback_requests.read); the person it is about, when someone else asked, is not told.
--
-- Anonymity: the one who asked sees who of those asked answered, so an answer cannot be
-- anonymous by choice (a promise Candor could not keep). When the company makes feedback
-- anonymous (mandatory), answers are anonymous and the one who asked sees only counts.
local db = require "lib.db"
local crypt = require "lib.crypt"
local errors = require "lib.errors"
local events = require "lib.events"
local schema = require "lib.schema"
local json = require "lib.json"
local util = require "lib.util"
local dates = require "lib.dates"
local clock = require "core.clock"
local access = require "services.access"
local mail = require "services.mail"
local accounts = require "services.accounts"
local messages = require "services.messages"

local M = {}

M.ASKEES_MAX = 10
M.REMIND_DAYS_BEFORE = 2

crypt.register{ table = "feedback_requests", column = "question_enc", key = { "id" } }

local app -- set by init (the scheduler)

M.CREATE_SCHEMA = schema.record{ strict = false, fields = {
  { about_id = { type = "integer", between = { 1 }, label = "About",
    description = "Whom the feedback is about: yourself (default) or one of your reports." } },
  { askee_ids = { type = "array", elements = { type = "integer", between = { 1 } }, len_min = 1, len_max = M.ASKEES_MAX,
    required = true, label = "Colleagues to ask", description = "Whom to ask (1 to 10 colleagues)." } },
  { question = schema.text{ required = true, max = 1000, multiline = true, label = "Question",
    description = "What you would like to hear about." } },
  { due_date = schema.date{ label = "Answer by", description = "When you would like the answers (optional)." } },
} }

local function checked(s, input)
  local v, errs = schema.validate(s, input or {}, { coerce = true, messages = schema.SENTENCES })
  if not v then errors.invalid(schema.by_field(errs)) end
  return v
end

local function today() return dates.today() end

local function plan_reminder(id, due_date)
  if not due_date then return end
  local at = dates.at_send_hour(due_date, -M.REMIND_DAYS_BEFORE)
  if at <= clock.now() then return end
  app.schedule(at, "feedback_request.remind", { request_id = id }, "feedback_request:" .. id .. ":remind")
end

--- Asks colleagues for feedback. Returns the request's id.
function M.create(actor, input, req)
  access.require(actor, "messages.write")
  local v = checked(M.CREATE_SCHEMA, input)
  if not messages.defaults("feedback").enabled then
    errors.invalid({ question = "Feedback is switched off in this company." })
  end
  local about = v.about_id or actor.id
  local about_row = db.row("SELECT id, name, kind, status FROM users WHERE id = ?", about)
  if not about_row or about_row.kind ~= "employee" or about_row.status ~= "active" then
    errors.invalid({ about_id = "Pick yourself or one of your reports." })
  end
  if not access.can(actor, "feedback_requests.create", { subject = about }) then
    errors.invalid({ about_id = "You can ask for feedback about yourself or, as their manager, about a report." })
  end
  if v.due_date and v.due_date < today() then errors.invalid({ due_date = "Pick a date from today on." }) end
  local askees = messages.colleagues(actor, v.askee_ids, "askee_ids")
  for _, a in ipairs(askees) do
    if a.id == about then errors.invalid({ askee_ids = "Ask others than the person the feedback is about." }) end
  end
  local now = clock.now()
  local id = db.insert([[INSERT INTO feedback_requests(requester_id, about_id, question_enc, due_date, created_at)
    VALUES(?,?,x'',?,?)]], actor.id, about, v.due_date, now)
  db.exec("UPDATE feedback_requests SET question_enc = ? WHERE id = ?",
    crypt.seal("feedback_requests", "question_enc", { id }, v.question), id)
  local ids = {}
  for i, a in ipairs(askees) do
    ids[i] = a.id
    db.exec("INSERT INTO feedback_request_askees(request_id, user_id, status, updated_at) VALUES(?,?, 'open', ?)", id, a.id, now)
    mail.queue{ template = "feedback_request.asked", to = a,
      vars = { requester = actor.name, about = about == actor.id and "them" or about_row.name,
        due = v.due_date and util.human_date(v.due_date) or nil,
        link = accounts.base_url() .. "/requests/" .. id },
      related_type = "feedback_request", related_id = id, dedupe_key = "feedback_request:" .. id .. ":ask:" .. a.id }
  end
  plan_reminder(id, v.due_date)
  events.fire("feedback_request.created", { request_id = id, about_id = about, askee_ids = ids, actor_id = actor.id })
  return id
end

-- Loads requests (rows with id, requester_id, about_id, question_enc, ...) with their askees.
local function load_many(rows)
  if #rows == 0 then return rows end
  local ids = {}
  for i, r in ipairs(rows) do ids[i] = r.id end
  local askees = {}
  for _, a in ipairs(db.query([[SELECT a.request_id, a.user_id, a.status, u.name FROM feedback_request_askees a
      JOIN users u ON u.id = a.user_id WHERE a.request_id IN (SELECT value FROM json_each(?)) ORDER BY u.name]],
      json.encode(ids))) do
    local l = askees[a.request_id] or {}
    l[#l + 1] = { id = a.user_id, name = a.name, status = a.status }
    askees[a.request_id] = l
  end
  for _, r in ipairs(rows) do
    r.askees = askees[r.id] or {}
    r.question = crypt.open("feedback_requests", "question_enc", { r.id }, r.question_enc)
    r.question_enc = nil
    local counts = { open = 0, answered = 0, declined = 0 }
    for _, a in ipairs(r.askees) do counts[a.status] = counts[a.status] + 1 end
    r.counts = counts
  end
  return rows
end

local SELECT = [[SELECT r.id, r.requester_id, q.name AS requester_name, r.about_id, ab.name AS about_name,
  r.question_enc, r.due_date, r.created_at FROM feedback_requests r JOIN users q ON q.id = r.requester_id
  JOIN users ab ON ab.id = r.about_id]]

-- Whether answers are anonymous (the company's feedback anonymity is mandatory).
local function anonymous_answers() return messages.defaults("feedback").anonymity == "mandatory" end
M.anonymous_answers = anonymous_answers

-- What the one who asked sees of those asked: names, and statuses unless answers are anonymous.
local function for_requester(r)
  if anonymous_answers() then
    for _, a in ipairs(r.askees) do a.status = "asked" end
  end
end

local function rel_of(viewer, r)
  local rel = {}
  if r.requester_id == viewer.id then rel.author = true end
  for _, a in ipairs(r.askees) do
    if a.id == viewer.id then rel.recipient = true; r.my_status = a.status end
  end
  return rel
end

--- Request id as viewer may see it (its one who asked or one asked), else a 404.
function M.get(viewer, id)
  local r = db.row(SELECT .. " WHERE r.id = ?", math.tointeger(tonumber(id)) or 0)
  if r then
    load_many({ r })
    if access.can(viewer, "feedback_requests.read", { rel = rel_of(viewer, r) }) then
      r.mine = r.requester_id == viewer.id
      if r.mine then for_requester(r) end
      if not r.mine then
        -- those asked see only their own line, not whom else was asked
        local own = {}
        for _, a in ipairs(r.askees) do if a.id == viewer.id then own[1] = a end end
        r.askees = own
      end
      r.answers = r.mine and M.answers(viewer, r.id) or {}
      return r
    end
  end
  errors.not_found("There is no such feedback request.")
end

--- The answers to request id that viewer may read (as messages).
function M.answers(viewer, id)
  return (messages.page_of(viewer, "m.request_id = ?", { id }, nil, 100))
end

--- Requests viewer made, and requests still open for viewer: { made = {...}, asked = {...} }.
function M.for_user(viewer)
  local made = load_many(db.query(SELECT .. " WHERE r.requester_id = ? ORDER BY r.id DESC LIMIT 50", viewer.id))
  for _, r in ipairs(made) do for_requester(r) end
  local asked = load_many(db.query(SELECT .. [[ WHERE r.id IN (SELECT request_id FROM feedback_request_askees
    WHERE user_id = ? AND status = 'open') ORDER BY r.id DESC LIMIT 50]], viewer.id))
  for _, r in ipairs(asked) do
    local own = {}
    for _, a in ipairs(r.askees) do if a.id == viewer.id then own[1] = a end end
    r.askees = own
  end
  return { made = made, asked = asked }
end

-- The request and viewer's open line in it, or 404 / 409.
local function open_for(viewer, id)
  local r = M.get(viewer, id)
  if not r.my_status then errors.forbidden("Only the colleagues asked can answer this request.") end
  if r.my_status ~= "open" then errors.conflict("You have " .. r.my_status .. " this request already.") end
  return r
end

M.ANSWER_SCHEMA = schema.record{ strict = false, fields = {
  { text = schema.text{ required = true, max = messages.TEXT_MAX, multiline = true, label = "Your feedback",
    description = "The answer." } },
} }

--- Answers a request: a feedback message to the one who asked. Returns the message's id.
function M.answer(actor, id, input, req)
  local r = open_for(actor, id)
  local v = checked(M.ANSWER_SCHEMA, input)
  local mid = messages.create(actor, { kind = "feedback", text = v.text, recipient_ids = { r.requester_id },
    anonymous = false }, req, { request_id = r.id, about_id = r.about_id, silent = true })
  db.exec("UPDATE feedback_request_askees SET status = 'answered', updated_at = ? WHERE request_id = ? AND user_id = ?",
    clock.now(), r.id, actor.id)
  local requester = db.row("SELECT id, name, email FROM users WHERE id = ? AND status = 'active'", r.requester_id)
  local anonymous = db.value("SELECT anonymous FROM messages WHERE id = ?", mid) == 1
  if requester then
    mail.queue{ template = "feedback_request.answered", to = requester,
      vars = { askee = anonymous and "Someone" or actor.name, link = accounts.base_url() .. "/messages/" .. mid },
      related_type = "feedback_request", related_id = r.id, dedupe_key = "message:" .. mid .. ":answered" }
  end
  local e = { request_id = r.id, message_id = mid }
  if not anonymous then e.actor_id = actor.id end
  events.fire("feedback_request.answered", e)
  return mid
end

--- Declines a request (the one who asked is told).
function M.decline(actor, id, req)
  local r = open_for(actor, id)
  db.exec("UPDATE feedback_request_askees SET status = 'declined', updated_at = ? WHERE request_id = ? AND user_id = ?",
    clock.now(), r.id, actor.id)
  local requester = db.row("SELECT id, name, email FROM users WHERE id = ? AND status = 'active'", r.requester_id)
  if requester then
    mail.queue{ template = "feedback_request.declined", to = requester,
      vars = { askee = anonymous_answers() and "One of the colleagues you asked" or actor.name,
        link = accounts.base_url() .. "/requests/" .. r.id },
      related_type = "feedback_request", related_id = r.id, dedupe_key = "feedback_request:" .. r.id .. ":declined:" .. actor.id }
  end
  events.fire("feedback_request.declined", { request_id = r.id, actor_id = not anonymous_answers() and actor.id or nil })
end

--- Open requests of user (home to-dos): list of { id, requester_name, about_name, due_date }.
function M.open_for_user(user_id)
  return db.query([[SELECT r.id, q.name AS requester_name, ab.name AS about_name, r.about_id, r.requester_id, r.due_date
    FROM feedback_request_askees a JOIN feedback_requests r ON r.id = a.request_id JOIN users q ON q.id = r.requester_id
    JOIN users ab ON ab.id = r.about_id WHERE a.user_id = ? AND a.status = 'open' ORDER BY r.id DESC LIMIT 20]], user_id)
end

local function remind(payload)
  local r = db.row("SELECT r.id, r.due_date, q.name AS requester_name FROM feedback_requests r JOIN users q ON q.id = r.requester_id WHERE r.id = ?",
    payload.request_id)
  if not r then return end
  db.transaction(function()
    local n = 0
    for _, a in ipairs(db.query([[SELECT u.id, u.name, u.email FROM feedback_request_askees a JOIN users u ON u.id = a.user_id
        WHERE a.request_id = ? AND a.status = 'open' AND u.status = 'active']], r.id)) do
      mail.queue{ template = "feedback_request.reminder", to = a,
        vars = { requester = r.requester_name, due = util.human_date(r.due_date),
          link = accounts.base_url() .. "/requests/" .. r.id },
        related_type = "feedback_request", related_id = r.id, dedupe_key = "feedback_request:" .. r.id .. ":remind:" .. a.id }
      n = n + 1
    end
    events.fire("feedback_request.reminded", { request_id = r.id, count = n })
  end)
end

function M.init(a)
  app = a
  app.on_job("feedback_request.remind", remind)
  -- the company's time zone or send hour changed: the reminders still to come move
  events.hook("company_time.changed", function()
    for _, r in ipairs(db.query("SELECT id, due_date FROM feedback_requests WHERE due_date >= ?",
        dates.today())) do
      plan_reminder(r.id, r.due_date)
    end
  end)
  mail.define_template("feedback_request.asked", {
    description = "Sent to each colleague asked for feedback.",
    subject = "{{requester}} asks for your feedback",
    text = "Hello {{first_name}},\n\n{{requester}} would like your feedback about {{about}}{{#due}} by {{due}}{{/due}}.\n\n"
      .. "Answer (or decline) here:\n{{link}}",
    vars = { requester = "who asked", about = "whom it is about (\"them\" when about the one who asked)",
      due = "the date they would like answers by (optional)", link = "link to the request" },
    example = { requester = "Zoe Chen", about = "them", due = "Mon 19 Jan 2026", link = "https://candor.example.com/requests/3" },
  })
  mail.define_template("feedback_request.reminder", {
    description = "Sent two days before a feedback request's due date to those who have not answered.",
    subject = "Reminder: {{requester}} asked for your feedback",
    text = "Hello {{first_name}},\n\n{{requester}} would like your feedback by {{due}}.\n\nAnswer (or decline) here:\n{{link}}",
    vars = { requester = "who asked", due = "the due date", link = "link to the request" },
    example = { requester = "Zoe Chen", due = "Mon 19 Jan 2026", link = "https://candor.example.com/requests/3" },
  })
  mail.define_template("feedback_request.answered", {
    description = "Sent to the one who asked when a colleague answers a feedback request.",
    subject = "{{askee}} answered your feedback request",
    text = "Hello {{first_name}},\n\n{{askee}} answered your feedback request.\n\nRead it here:\n{{link}}",
    vars = { askee = "who answered (\"Someone\" when anonymous)", link = "link to the answer" },
    example = { askee = "Lucas Moreau", link = "https://candor.example.com/messages/12" },
  })
  mail.define_template("feedback_request.declined", {
    description = "Sent to the one who asked when a colleague declines a feedback request.",
    subject = "{{askee}} declined your feedback request",
    text = "Hello {{first_name}},\n\n{{askee}} will not answer your feedback request. You may ask someone else.\n\n{{link}}",
    vars = { askee = "who declined (not named when answers are anonymous)", link = "link to the request" },
    example = { askee = "Lucas Moreau", link = "https://candor.example.com/requests/3" },
  })
end

return M
