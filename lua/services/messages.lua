-- Messages: praise, feedback to a colleague and private notes, one model (PRODUCT §4-5). The
-- rules of who reads what are the evaluator's (policies/roles.lua, messages.read_*): this
-- module states the facts — the actor's part in the message (author, recipient, named in its
-- audience) and, for an audience with managers, each recipient as the subject — and asks
-- services/access.lua. A message the viewer may not read does not exist for them (404).
--
-- Texts (messages and comments) are sealed with lib/crypt, bound to their row. The writer of an
-- anonymous message is never given to anyone but themselves: not in pages, JSON, events or mail.
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
local settings = require "services.settings"
local audit = require "services.audit"
local reasons = require "services.reasons"
local mail = require "services.mail"
local accounts = require "services.accounts"

local M = {}

M.KINDS = { "praise", "feedback", "note" }
M.AUDIENCES = { "author", "recipients", "managers", "everyone" }
M.ANONYMITY = { "impossible", "possible", "mandatory" }
M.TEXT_MAX = 5000      -- characters of a message
M.COMMENT_MAX = 1000   -- characters of a comment
M.RECIPIENTS_MAX = 20

-- Who reads a message of each audience: the evaluator's action for it.
M.READ_ACTION = {
  author = "messages.read_private",
  recipients = "messages.read_recipients",
  managers = "messages.read_managers",
  everyone = "messages.read_everyone",
}

-- The audiences a writer may pick per kind (a note starts private; it is shared by name later).
M.KIND_AUDIENCES = {
  praise = { "everyone", "managers", "recipients" },
  feedback = { "recipients", "managers" },
  note = { "author" },
}

M.AUDIENCE_LABELS = {
  author = "Just me", recipients = "Recipients only", managers = "Recipients and their managers",
  everyone = "Everyone in the company",
}
M.KIND_LABELS = { praise = "Praise", feedback = "Feedback", note = "Private note" }

crypt.register{ table = "messages", column = "text_enc", key = { "id" } }
crypt.register{ table = "message_comments", column = "text_enc", key = { "id" } }

-- ---------------------------------------------------------------- defaults per kind

--- The message defaults of kind: { enabled =, audience =, anonymity = }.
function M.defaults(kind)
  return {
    enabled = settings.get("messages." .. kind .. ".enabled"),
    audience = settings.get("messages." .. kind .. ".audience"),
    anonymity = settings.get("messages." .. kind .. ".anonymity"),
  }
end

--- The defaults of every kind: { praise = { enabled, audience, anonymity }, ... }.
function M.all_defaults()
  local out = {}
  for _, k in ipairs(M.KINDS) do out[k] = M.defaults(k) end
  return out
end

--- Writes the defaults of input { praise = { enabled, audience, anonymity }, ... } (praise.platforms;
--- 422 per field, named kind_field). Call inside a transaction.
function M.save_defaults(actor, input, req)
  access.require(actor, "praise.platforms")
  local problems = {}
  for _, k in ipairs(M.KINDS) do
    local d = type(input[k]) == "table" and input[k] or {}
    for _, f in ipairs({ "enabled", "audience", "anonymity" }) do
      if d[f] ~= nil then
        local ok, err = pcall(settings.set, "messages." .. k .. "." .. f, d[f], actor.id)
        if not ok then problems[k .. "_" .. f] = errors.is(err) and (err.fields and select(2, next(err.fields)) or err.message)
          or tostring(err) end
      end
    end
  end
  if next(problems) then errors.invalid(problems) end
  audit.record{ action = "messages.defaults_changed", actor = actor, req = req, details = M.all_defaults() }
end

-- ---------------------------------------------------------------- reading

local function set_of(list)
  local s = {}
  for _, v in ipairs(list or {}) do s[v] = true end
  return s
end

--- The ctx.rel of user in message m (loaded: m.recipient_ids, m.share_ids).
local function parts(user, m)
  local rel = {}
  if m.author_id == user.id then rel.author = true end
  if set_of(m.recipient_ids)[user.id] then rel.recipient = true end
  if set_of(m.share_ids)[user.id] then rel.named = true end
  return rel
end

--- Whether user may read message m (loaded with load_many), and the rule that decided.
function M.can_read(user, m)
  if not user then return false end
  local action = M.READ_ACTION[m.audience]
  local rel = parts(user, m)
  if m.audience == "managers" then
    local rule
    for _, rid in ipairs(m.recipient_ids) do
      local ok, r = access.can(user, action, { subject = rid, rel = rel })
      if ok then return true, r end
      rule = r
    end
    if #m.recipient_ids == 0 then return access.can(user, action, { rel = rel }) end
    return false, rule
  end
  return access.can(user, action, { rel = rel })
end

--- Whether user may change or delete m: its writer, or an HR Admin for praise (praise.moderate).
function M.can_edit(user, m)
  if not user then return false end
  if access.can(user, "messages.edit_own", { rel = parts(user, m) }) then return true, "author" end
  if m.kind == "praise" and access.can(user, "praise.moderate") then return true, "moderator" end
  return false
end

-- keyset: rows of ids below `before`, newest first
local function keyset(before)
  local b = math.tointeger(tonumber(before or ""))
  return (b and b > 0) and b or math.maxinteger
end
M.keyset = keyset

-- Loads rows (from messages) with their recipients, shares, badge and names: a constant number
-- of queries for any number of rows. Texts are opened here.
local function load_many(rows, viewer)
  if #rows == 0 then return rows end
  local ids = {}
  for i, r in ipairs(rows) do ids[i] = r.id end
  local idj = json.encode(ids)
  local recips, shares, liked = {}, {}, {}
  for _, r in ipairs(db.query([[SELECT mr.message_id, u.id, u.name, u.department, u.location FROM message_recipients mr
      JOIN users u ON u.id = mr.user_id WHERE mr.message_id IN (SELECT value FROM json_each(?)) ORDER BY u.name]], idj)) do
    local l = recips[r.message_id] or {}
    l[#l + 1] = { id = r.id, name = r.name, department = r.department, location = r.location }
    recips[r.message_id] = l
  end
  for _, r in ipairs(db.query([[SELECT ms.message_id, u.id, u.name FROM message_shares ms JOIN users u ON u.id = ms.user_id
      WHERE ms.message_id IN (SELECT value FROM json_each(?)) ORDER BY u.name]], idj)) do
    local l = shares[r.message_id] or {}
    l[#l + 1] = { id = r.id, name = r.name }
    shares[r.message_id] = l
  end
  if viewer then
    for _, r in ipairs(db.query([[SELECT message_id FROM message_likes WHERE user_id = ?
        AND message_id IN (SELECT value FROM json_each(?))]], viewer.id, idj)) do
      liked[r.message_id] = true
    end
  end
  for _, m in ipairs(rows) do
    m.recipients = recips[m.id] or {}
    m.shares = shares[m.id] or {}
    m.recipient_ids, m.share_ids = {}, {}
    for i, p in ipairs(m.recipients) do m.recipient_ids[i] = p.id end
    for i, p in ipairs(m.shares) do m.share_ids[i] = p.id end
    m.anonymous = m.anonymous == 1
    m.unveiled = m.unveiled == 1
    m.liked = liked[m.id] or false
    m.text = crypt.open("messages", "text_enc", { m.id }, m.text_enc)
    m.text_enc = nil
  end
  return rows
end

-- Columns every listing selects (the writer's name only joins; who may see it is decided later).
local SELECT = [[SELECT m.id, m.kind, m.author_id, m.about_id, m.audience, m.anonymous, m.unveiled, m.badge_id,
  m.request_id, m.text_enc, m.like_count, m.comment_count, m.created_at, m.updated_at,
  a.name AS author_name, ab.name AS about_name, b.title AS badge_title, b.symbol AS badge_symbol,
  b.image_type AS badge_image_type, b.image_rev AS badge_image_rev
  FROM messages m JOIN users a ON a.id = m.author_id LEFT JOIN users ab ON ab.id = m.about_id
  LEFT JOIN badges b ON b.id = m.badge_id]]
M.SELECT = SELECT

--- What viewer may see of m: the writer is hidden when anonymous (unless the viewer wrote it).
--- Sets m.author (nil when hidden), m.mine, m.can_edit. Returns m.
local function present(viewer, m)
  m.mine = viewer ~= nil and m.author_id == viewer.id
  m.can_edit = viewer ~= nil and M.can_edit(viewer, m) or false
  if m.anonymous and not m.mine then
    m.author = nil
  else
    m.author = { id = m.author_id, name = m.author_name }
  end
  m.author_id, m.author_name = nil, nil
  m.badge = m.badge_id and { id = m.badge_id, title = m.badge_title, symbol = m.badge_symbol,
    image = m.badge_image_type and ("/badges/" .. m.badge_id .. "/image?v=" .. m.badge_image_rev) or nil } or nil
  m.badge_title, m.badge_symbol, m.badge_image_type, m.badge_image_rev = nil, nil, nil, nil
  return m
end

--- Loads and filters rows (SELECT ... rows) to those viewer may read, presented. Constant queries.
function M.visible(viewer, rows)
  load_many(rows, viewer)
  local out = {}
  for _, m in ipairs(rows) do
    local ok = M.can_read(viewer, m)
    if ok then out[#out + 1] = present(viewer, m) end
  end
  return out
end

--- Company-visible praise for a screen nobody signed in to: loaded and presented without a
--- viewer (anonymous writers hidden); anything else in rows is dropped.
function M.public(rows)
  load_many(rows)
  local out = {}
  for _, m in ipairs(rows) do
    if m.kind == "praise" and m.audience == "everyone" then out[#out + 1] = present(nil, m) end
  end
  return out
end

--- Whether viewer may open message m (loaded) by its id: they may read it, or it is praise and
--- they moderate praise. The rule of M.get, for every path that reads messages one by one.
function M.may_open(viewer, m)
  return (M.can_read(viewer, m)) or (m.kind == "praise" and access.can(viewer, "praise.moderate"))
end

--- Loads rows (SELECT ... rows) and keeps those viewer could open one by one (M.may_open),
--- presented as M.get presents them. Constant queries (the XML export reads every message so).
function M.openable(viewer, rows)
  load_many(rows, viewer)
  local out = {}
  for _, m in ipairs(rows) do
    if M.may_open(viewer, m) then out[#out + 1] = present(viewer, m) end
  end
  return out
end

--- Message id as viewer may see it, or a 404 (a message one may not read does not exist).
--- HR Admins who moderate praise (praise.moderate) open any praise, whatever its audience (the
--- writer of an anonymous one stays hidden); never notes or feedback.
function M.get(viewer, id)
  id = math.tointeger(tonumber(id))
  local row = id and db.row(SELECT .. " WHERE m.id = ?", id)
  if row then
    load_many({ row }, viewer)
    if M.may_open(viewer, row) then return present(viewer, row) end
  end
  errors.not_found("There is no such message.")
end

--- Every praise, newest first, for a moderator (praise.moderate): list, next cursor.
function M.moderation_page(actor, before, limit)
  access.require(actor, "praise.moderate")
  limit = limit or M.PAGE
  local rows = db.query(SELECT .. " WHERE m.kind = 'praise' AND m.id < ? ORDER BY m.id DESC LIMIT ?", keyset(before), limit + 1)
  local more = #rows > limit
  if more then rows[#rows] = nil end
  load_many(rows, actor)
  for _, m in ipairs(rows) do present(actor, m) end
  return rows, more and rows[#rows].id or nil
end

-- The raw row (recipients and shares loaded, writer kept) for rules; 404 when absent.
local function raw(id)
  id = math.tointeger(tonumber(id))
  local row = id and db.row(SELECT .. " WHERE m.id = ?", id)
  if not row then errors.not_found("There is no such message.") end
  return load_many({ row })[1]
end

--- Comments on message ids (already known readable): id -> list { id, author = {id, name}, text, created_at }.
function M.comments(ids)
  local out = {}
  if #ids == 0 then return out end
  for _, c in ipairs(db.query([[SELECT c.id, c.message_id, c.author_id, u.name AS author_name, c.text_enc, c.created_at
      FROM message_comments c JOIN users u ON u.id = c.author_id
      WHERE c.message_id IN (SELECT value FROM json_each(?)) ORDER BY c.id]], json.encode(ids))) do
    local l = out[c.message_id] or {}
    l[#l + 1] = { id = c.id, author = { id = c.author_id, name = c.author_name }, created_at = c.created_at,
      text = crypt.open("message_comments", "text_enc", { c.id }, c.text_enc) }
    out[c.message_id] = l
  end
  return out
end

-- ---------------------------------------------------------------- writing

M.CREATE_SCHEMA = schema.record{ strict = false, fields = {
  { kind = { type = "string", required = true, one_of = M.KINDS, label = "Kind",
    description = "praise, feedback or note." } },
  { text = schema.text{ required = true, max = M.TEXT_MAX, multiline = true, label = "Message",
    description = "What you want to say (at most 5,000 characters)." } },
  { recipient_ids = { type = "array", elements = { type = "integer", between = { 1 } }, default = {},
    len_max = M.RECIPIENTS_MAX, label = "Recipients",
    description = "Who it is for (praise and feedback; at most 20)." } },
  { about_id = { type = "integer", between = { 1 }, label = "About",
    description = "Whom a note is about (optional)." } },
  { audience = { type = "string", one_of = M.AUDIENCES, label = "Who can see it",
    description = "author, recipients, managers or everyone (default: the company's default for the kind)." } },
  { anonymous = { type = "boolean", label = "Anonymous",
    description = "Hide your name (when the company allows it; default: the company's default)." } },
  { badge_id = { type = "integer", between = { 1 }, label = "Badge", description = "A badge (praise only)." } },
} }

M.UPDATE_SCHEMA = schema.record{ strict = false, fields = {
  { text = schema.text{ required = true, max = M.TEXT_MAX, multiline = true, label = "Message",
    description = "The new text." } },
  { badge_id = { type = "integer", between = { 0 }, label = "Badge", description = "A badge (praise only; 0: none)." } },
} }

local function checked(s, input)
  local v, errs = schema.validate(s, input or {}, { coerce = true, messages = schema.SENTENCES })
  if not v then errors.invalid(schema.by_field(errs)) end
  return v
end
M.checked = checked

-- The people ids as active employees (other than the actor), or a 422 on field.
local function colleagues(actor, ids, field)
  local seen, list = {}, {}
  for _, id in ipairs(ids) do
    if not seen[id] then seen[id] = true; list[#list + 1] = id end
  end
  local rows = db.query([[SELECT id, name, email, manager_id FROM users WHERE kind = 'employee' AND status = 'active'
    AND id IN (SELECT value FROM json_each(?))]], json.encode(list))
  if #rows ~= #list then errors.invalid({ [field] = "Pick colleagues from the company (active employees)." }) end
  for _, r in ipairs(rows) do
    if r.id == actor.id then errors.invalid({ [field] = "Pick colleagues other than yourself." }) end
  end
  return rows
end
M.colleagues = colleagues

local function anonymity_of(kind, wanted, defaults)
  if kind == "note" then return false end
  local mode = defaults.anonymity
  if mode == "mandatory" then return true end
  if mode == "impossible" then
    if wanted then errors.invalid({ anonymous = "Anonymous messages are switched off for this kind." }) end
    return false
  end
  return wanted and true or false
end

local function notify_recipients(m, recipients, actor)
  local base = accounts.base_url()
  local writer = m.anonymous and "Someone" or actor.name
  for _, r in ipairs(recipients) do
    mail.queue{ template = m.kind == "praise" and "praise.received" or "feedback.received", to = r,
      vars = { writer = writer, badge = m.badge_title, link = base .. "/messages/" .. m.id,
        managers = m.audience == "managers" and "yes" or nil },
      related_type = "message", related_id = m.id, dedupe_key = "message:" .. m.id .. ":to:" .. r.id }
  end
  if m.audience == "managers" then
    local told = {}
    for _, r in ipairs(recipients) do told[r.id] = true end
    for _, r in ipairs(recipients) do
      local boss = r.manager_id and not told[r.manager_id] and
        db.row("SELECT id, name, email FROM users WHERE id = ? AND status = 'active'", r.manager_id)
      if boss and boss.id ~= actor.id then
        told[boss.id] = true
        mail.queue{ template = "praise.manager", to = boss,
          vars = { writer = writer, report = r.name, kind = m.kind, link = base .. "/messages/" .. m.id },
          related_type = "message", related_id = m.id, dedupe_key = "message:" .. m.id .. ":manager:" .. boss.id }
      end
    end
  end
end

--- Writes a message. input (M.CREATE_SCHEMA) plus opts { request_id = (an answer to a feedback
--- request: the service of requests checks it) }. Returns the new message's id.
function M.create(actor, input, req, opts)
  opts = opts or {}
  access.require(actor, "messages.write")
  local v = checked(M.CREATE_SCHEMA, input)
  local kind = v.kind
  local defaults = M.defaults(kind)
  if not defaults.enabled and not opts.request_id then
    errors.invalid({ kind = ("%s is switched off in this company."):format(M.KIND_LABELS[kind]) })
  end
  local audience = v.audience or (kind == "note" and "author") or defaults.audience
  if not set_of(M.KIND_AUDIENCES[kind])[audience] then
    errors.invalid({ audience = ("%s cannot be seen by \"%s\"."):format(M.KIND_LABELS[kind],
      M.AUDIENCE_LABELS[audience]) })
  end
  local recipients = {}
  if kind == "note" then
    if #v.recipient_ids > 0 then errors.invalid({ recipient_ids = "A note has no recipients: share it by name later." }) end
    if v.about_id then colleagues(actor, { v.about_id }, "about_id") end
  else
    if #v.recipient_ids == 0 then errors.invalid({ recipient_ids = "Pick at least one colleague." }) end
    recipients = colleagues(actor, v.recipient_ids, "recipient_ids")
    if kind == "feedback" and #recipients > 1 and not opts.request_id then
      errors.invalid({ recipient_ids = "Feedback goes to one colleague at a time." })
    end
    if v.about_id and not opts.request_id then errors.invalid({ about_id = "Only notes are about someone." }) end
  end
  local badge
  if v.badge_id then
    if kind ~= "praise" then errors.invalid({ badge_id = "Only praise carries a badge." }) end
    badge = db.row("SELECT id, title FROM badges WHERE id = ? AND active = 1", v.badge_id)
    if not badge then errors.invalid({ badge_id = "Pick one of the company's badges." }) end
  end
  local anonymous = anonymity_of(kind, v.anonymous, defaults)
  local now = clock.now()
  local id = db.insert([[INSERT INTO messages(kind, author_id, about_id, audience, anonymous, badge_id, request_id,
      text_enc, created_at, updated_at) VALUES(?,?,?,?,?,?,?, x'', ?, ?)]],
    kind, actor.id, v.about_id or opts.about_id, audience, anonymous and 1 or 0, badge and badge.id, opts.request_id, now, now)
  db.exec("UPDATE messages SET text_enc = ? WHERE id = ?", crypt.seal("messages", "text_enc", { id }, v.text), id)
  for _, r in ipairs(recipients) do
    db.exec("INSERT INTO message_recipients(message_id, user_id) VALUES(?, ?)", id, r.id)
  end
  local m = { id = id, kind = kind, audience = audience, anonymous = anonymous, badge_title = badge and badge.title }
  local rids = {}
  for i, r in ipairs(recipients) do rids[i] = r.id end
  local event = { message_id = id, kind = kind, audience = audience, anonymous = anonymous,
    recipient_ids = rids, badge_id = badge and badge.id, request_id = opts.request_id }
  if not anonymous then event.actor_id = actor.id end
  events.fire(kind == "praise" and "praise.given" or (kind == "feedback" and "feedback.given" or "note.written"), event)
  if kind ~= "note" and not opts.silent then notify_recipients(m, recipients, actor) end
  return id
end

--- Changes a message's text (and a praise's badge): its writer, or an HR Admin for praise.
function M.update(actor, id, input, req)
  local m = raw(id)
  local ok, as = M.can_edit(actor, m)
  if not ok then
    if M.can_read(actor, m) then errors.forbidden("Only the writer can change this message.") end
    errors.not_found("There is no such message.")
  end
  local v = checked(M.UPDATE_SCHEMA, input)
  local badge_id = m.badge_id
  if v.badge_id ~= nil and m.kind == "praise" then
    if v.badge_id == 0 then badge_id = nil
    elseif not db.value("SELECT 1 FROM badges WHERE id = ? AND (active = 1 OR id = ?)", v.badge_id, m.badge_id or 0) then
      errors.invalid({ badge_id = "Pick one of the company's badges." })
    else badge_id = v.badge_id end
  end
  db.exec("UPDATE messages SET text_enc = ?, badge_id = ?, updated_at = ? WHERE id = ?",
    crypt.seal("messages", "text_enc", { m.id }, v.text), badge_id, clock.now(), m.id)
  if as == "moderator" then
    audit.record{ action = "message.moderated", actor = actor, req = req, target_type = "message", target_id = m.id,
      details = { change = "edited", kind = m.kind } }
  end
  events.fire("message.updated", { message_id = m.id, kind = m.kind, actor_id = actor.id, moderated = as == "moderator" })
end

--- Deletes a message (its likes, comments, recipients go with it).
function M.delete(actor, id, req)
  local m = raw(id)
  local ok, as = M.can_edit(actor, m)
  if not ok then
    if M.can_read(actor, m) then errors.forbidden("Only the writer can delete this message.") end
    errors.not_found("There is no such message.")
  end
  db.exec("DELETE FROM messages WHERE id = ?", m.id)
  if as == "moderator" then
    audit.record{ action = "message.moderated", actor = actor, req = req, target_type = "message", target_id = m.id,
      details = { change = "deleted", kind = m.kind } }
  end
  events.fire("message.deleted", { message_id = m.id, kind = m.kind, actor_id = actor.id, moderated = as == "moderator" })
end

--- Message id with its text for its writer or a moderator to change; 403 for other readers, 404
--- for everyone else.
function M.get_editable(actor, id)
  local m = raw(id)
  if not M.can_edit(actor, m) then
    if M.can_read(actor, m) then errors.forbidden("Only the writer can change this message.") end
    errors.not_found("There is no such message.")
  end
  return present(actor, m)
end

--- Shares a note (or any message one wrote) with named colleagues.
function M.share(actor, id, user_ids)
  local m = raw(id)
  if m.author_id ~= actor.id then
    if M.can_read(actor, m) then errors.forbidden("Only the writer can share this message.") end
    errors.not_found("There is no such message.")
  end
  if type(user_ids) ~= "table" or #user_ids == 0 then errors.invalid({ user_ids = "Pick at least one colleague." }) end
  local people = colleagues(actor, user_ids, "user_ids")
  local added = {}
  for _, p in ipairs(people) do
    local n = db.exec("INSERT INTO message_shares(message_id, user_id, created_at) VALUES(?,?,?) ON CONFLICT DO NOTHING",
      m.id, p.id, clock.now())
    if n > 0 then added[#added + 1] = p.id end
  end
  if #added > 0 then
    events.fire("message.shared", { message_id = m.id, kind = m.kind, user_ids = added, actor_id = actor.id })
  end
  return added
end

-- ---------------------------------------------------------------- likes and comments

local function readable(actor, id)
  local m = raw(id)
  if not M.can_read(actor, m) then errors.not_found("There is no such message.") end
  return m
end

local function day(ts) return dates.date_of(ts) end

--- Likes a message one may read (liking twice is once). Returns the like count.
function M.like(actor, id)
  local m = readable(actor, id)
  local n = db.exec("INSERT INTO message_likes(message_id, user_id, created_at) VALUES(?,?,?) ON CONFLICT DO NOTHING",
    m.id, actor.id, clock.now())
  if n > 0 then
    db.exec("UPDATE messages SET like_count = like_count + 1 WHERE id = ?", m.id)
    events.fire("praise.liked", { message_id = m.id, kind = m.kind, actor_id = actor.id })
    if m.author_id ~= actor.id then
      -- at most one mail a day per message, however many like it
      local writer = db.row("SELECT id, name, email FROM users WHERE id = ? AND status = 'active'", m.author_id)
      if writer then
        mail.queue{ template = "message.liked", to = writer,
          vars = { liker = actor.name, link = accounts.base_url() .. "/messages/" .. m.id },
          related_type = "message", related_id = m.id, dedupe_key = "message:" .. m.id .. ":likes:" .. day(clock.now()) }
      end
    end
  end
  return db.value("SELECT like_count FROM messages WHERE id = ?", m.id)
end

--- Takes a like back.
function M.unlike(actor, id)
  local m = readable(actor, id)
  local n = db.exec("DELETE FROM message_likes WHERE message_id = ? AND user_id = ?", m.id, actor.id)
  if n > 0 then db.exec("UPDATE messages SET like_count = like_count - 1 WHERE id = ?", m.id) end
  return db.value("SELECT like_count FROM messages WHERE id = ?", m.id)
end

M.COMMENT_SCHEMA = schema.record{ strict = false, fields = {
  { text = schema.text{ required = true, max = M.COMMENT_MAX, multiline = true, label = "Comment",
    description = "The comment (at most 1,000 characters)." } },
} }

--- Comments on a message one may read. Returns the comment's id.
function M.comment(actor, id, input)
  local m = readable(actor, id)
  access.require(actor, "messages.write")
  local v = checked(M.COMMENT_SCHEMA, input)
  local cid = db.insert("INSERT INTO message_comments(message_id, author_id, text_enc, created_at) VALUES(?,?,x'',?)",
    m.id, actor.id, clock.now())
  db.exec("UPDATE message_comments SET text_enc = ? WHERE id = ?",
    crypt.seal("message_comments", "text_enc", { cid }, v.text), cid)
  db.exec("UPDATE messages SET comment_count = comment_count + 1 WHERE id = ?", m.id)
  events.fire("message.commented", { message_id = m.id, comment_id = cid, kind = m.kind, actor_id = actor.id })
  if m.author_id ~= actor.id then
    local writer = db.row("SELECT id, name, email FROM users WHERE id = ? AND status = 'active'", m.author_id)
    if writer then
      -- at most one mail an hour per message: the mail says there are new comments
      mail.queue{ template = "message.commented", to = writer,
        vars = { commenter = actor.name, link = accounts.base_url() .. "/messages/" .. m.id },
        related_type = "message", related_id = m.id,
        dedupe_key = "message:" .. m.id .. ":comments:" .. (clock.now() // 3600) }
    end
  end
  return cid
end

--- Deletes a comment: its writer, or an HR Admin moderating praise.
function M.delete_comment(actor, id, comment_id, req)
  local m = readable(actor, id)
  local c = db.row("SELECT id, author_id FROM message_comments WHERE id = ? AND message_id = ?",
    math.tointeger(tonumber(comment_id)) or 0, m.id)
  if not c then errors.not_found("There is no such comment.") end
  local moderator = c.author_id ~= actor.id
  if moderator and not (m.kind == "praise" and access.can(actor, "praise.moderate")) then
    errors.forbidden("Only the writer can delete this comment.")
  end
  db.exec("DELETE FROM message_comments WHERE id = ?", c.id)
  db.exec("UPDATE messages SET comment_count = comment_count - 1 WHERE id = ?", m.id)
  if moderator then
    audit.record{ action = "message.moderated", actor = actor, req = req, target_type = "message", target_id = m.id,
      details = { change = "comment deleted", comment_id = c.id } }
  end
end

-- ---------------------------------------------------------------- unveiling

--- Unveils the writer of an anonymous praise: HR Admins (praise.unveil_anonymous, never for a
--- writer above them), with a reason; the audit log records it and the writer is told by mail.
--- Returns { id =, name = } of the writer (shown to the HR Admin who asked, once).
function M.unveil(actor, id, reason, req)
  local m = raw(id)
  if m.kind ~= "praise" or not access.can(actor, "praise.moderate") then errors.not_found("There is no such message.") end
  if not m.anonymous then errors.conflict("This praise is not anonymous.") end
  access.require(actor, "praise.unveil_anonymous", { subject = m.author_id })
  reason = util.trim(tostring(reason or ""))
  if utf8.len(reason) == nil or reason == "" then errors.invalid({ reason = "Say why the writer must be unveiled." }) end
  if utf8.len(reason) > 500 then errors.invalid({ reason = "Keep the reason under 500 characters." }) end
  return db.transaction(function()
    db.exec("UPDATE messages SET unveiled = 1 WHERE id = ?", m.id)
    local writer = db.row("SELECT id, name, email FROM users WHERE id = ?", m.author_id)
    audit.record{ action = "message.unveiled", actor = actor, req = req, target_type = "message", target_id = m.id,
      target_label = "anonymous praise", details = { reason_id = reasons.seal(reason), writer_id = writer.id } }
    mail.queue{ template = "message.unveiled", to = writer,
      vars = { admin = actor.name, reason = reason, link = accounts.base_url() .. "/messages/" .. m.id },
      related_type = "message", related_id = m.id, dedupe_key = "message:" .. m.id .. ":unveiled",
      confidential = { "reason" } } -- sealed until sent, like the audit entry's
    events.fire("message.unveiled", { message_id = m.id, actor_id = actor.id })
    return { id = writer.id, name = writer.name }
  end)
end

--- The writer of an unveiled message, for HR Admins who may unveil it (nil otherwise).
function M.unveiled_writer(actor, id)
  local m = raw(id)
  if not (m.kind == "praise" and m.anonymous and m.unveiled) then return nil end
  if not (access.can(actor, "praise.moderate") and access.can(actor, "praise.unveil_anonymous", { subject = m.author_id })) then
    return nil
  end
  return { id = m.author_id, name = m.author_name }
end

-- ---------------------------------------------------------------- lists

M.PAGE = 20


-- Fetches a page of candidates with where/args, keeps those viewer may read; the next cursor.
local function page_of(viewer, where, args, before, limit)
  limit = limit or M.PAGE
  local sql = SELECT .. " WHERE " .. where .. " AND m.id < ? ORDER BY m.id DESC LIMIT ?"
  local a = { table.unpack(args) }
  a[#a + 1] = keyset(before)
  a[#a + 1] = limit + 1
  local rows = db.query(sql, table.unpack(a))
  local more = #rows > limit
  if more then rows[#rows] = nil end
  local next_before = more and rows[#rows].id or nil
  return M.visible(viewer, rows), next_before
end
M.page_of = page_of

--- Messages for viewer's tabs: "received" (addressed to me or shared with me), "given" (written
--- by me: notes included), "about" (notes I wrote about person about_id). Returns list, next cursor.
function M.tab(viewer, tab, before, opts)
  opts = opts or {}
  if tab == "given" then
    return page_of(viewer, "m.author_id = ?", { viewer.id }, before, opts.limit)
  elseif tab == "received" then
    return page_of(viewer, [[m.id IN (SELECT message_id FROM message_recipients WHERE user_id = ?
      UNION SELECT message_id FROM message_shares WHERE user_id = ?) AND m.kind IN ('praise', 'feedback', 'note')]],
      { viewer.id, viewer.id }, before, opts.limit)
  end
  errors.not_found("There is no such list.")
end

--- Praise received by person_id that viewer may read (the profile, the review's resources).
function M.praise_for(viewer, person_id, limit)
  return page_of(viewer, [[m.kind = 'praise' AND m.id IN (SELECT message_id FROM message_recipients WHERE user_id = ?)]],
    { person_id }, nil, limit or 10)
end

--- Viewer's own notes about person_id (the review's resources).
function M.notes_about(viewer, person_id, limit)
  return page_of(viewer, "m.kind = 'note' AND m.author_id = ? AND m.about_id = ?", { viewer.id, person_id }, nil, limit or 10)
end

--- Feedback person_id received that viewer may read (the review's resources).
function M.feedback_for(viewer, person_id, limit)
  return page_of(viewer, [[m.kind = 'feedback' AND m.id IN (SELECT message_id FROM message_recipients WHERE user_id = ?)]],
    { person_id }, nil, limit or 10)
end

-- ---------------------------------------------------------------- start

function M.init()
  local defaults = {
    praise = { audience = "everyone", anonymity = "impossible" },
    feedback = { audience = "recipients", anonymity = "possible" },
    note = { audience = "author", anonymity = "impossible" },
  }
  for _, kind in ipairs(M.KINDS) do
    local d = defaults[kind]
    settings.define("messages." .. kind .. ".enabled", { type = "boolean", default = true,
      label = M.KIND_LABELS[kind] .. " on", description = "Whether people may write " .. kind .. " messages." })
    settings.define("messages." .. kind .. ".audience", { type = "string", default = d.audience,
      one_of = M.KIND_AUDIENCES[kind], label = M.KIND_LABELS[kind] .. ": default audience",
      description = "Who sees a new " .. kind .. " message unless the writer picks otherwise." })
    settings.define("messages." .. kind .. ".anonymity", { type = "string", default = d.anonymity,
      one_of = kind == "note" and { "impossible" } or M.ANONYMITY, label = M.KIND_LABELS[kind] .. ": anonymity",
      description = "impossible, possible or mandatory: whether writers may (or must) hide their name." })
  end
  mail.define_template("praise.received", {
    description = "Sent to each recipient of praise.",
    subject = "{{writer}} praised you{{#badge}} ({{badge}}){{/badge}}",
    text = "Hello {{first_name}},\n\n{{writer}} sent you praise{{#badge}} with the badge \"{{badge}}\"{{/badge}}.\n\n"
      .. "Read it here:\n{{link}}",
    vars = { writer = "the writer's name, or \"Someone\" when anonymous", badge = "the badge (optional)",
      link = "link to the praise" },
    example = { writer = "Ravi Shankar", badge = "Team player", link = "https://candor.example.com/messages/7" },
  })
  mail.define_template("feedback.received", {
    description = "Sent to the recipient of feedback.",
    subject = "{{writer}} sent you feedback",
    text = "Hello {{first_name}},\n\n{{writer}} sent you feedback on Candor. Only you{{#managers}} and your manager{{/managers}} "
      .. "can read it.\n\nRead it here:\n{{link}}",
    vars = { writer = "the writer's name, or \"Someone\" when anonymous", link = "link to the feedback",
      managers = "set when managers may read it" },
    example = { writer = "Mia Johansson", link = "https://candor.example.com/messages/8" },
  })
  mail.define_template("praise.manager", {
    description = "Sent to a recipient's manager when a message's audience includes managers.",
    subject = "{{writer}} wrote about {{report}}",
    text = "Hello {{first_name}},\n\n{{writer}} wrote {{kind}} for {{report}}, and you may read it as their manager.\n\n{{link}}",
    vars = { writer = "the writer's name, or \"Someone\"", report = "your report's name", kind = "praise or feedback",
      link = "link to the message" },
    example = { writer = "Lucas Moreau", report = "Zoe Chen", kind = "praise", link = "https://candor.example.com/messages/7" },
  })
  mail.define_template("message.liked", {
    description = "Sent to a writer when someone likes their message (at most once a day per message).",
    subject = "{{liker}} liked your message",
    text = "Hello {{first_name}},\n\n{{liker}} liked what you wrote.\n\n{{link}}",
    vars = { liker = "who liked it", link = "link to the message" },
    example = { liker = "Zoe Chen", link = "https://candor.example.com/messages/7" },
  })
  mail.define_template("message.commented", {
    description = "Sent to a writer when someone comments on their message (at most once an hour per message).",
    subject = "{{commenter}} commented on your message",
    text = "Hello {{first_name}},\n\n{{commenter}} commented on what you wrote.\n\n{{link}}",
    vars = { commenter = "who commented", link = "link to the message" },
    example = { commenter = "Ethan Brooks", link = "https://candor.example.com/messages/7" },
  })
  mail.define_template("message.unveiled", {
    description = "Sent to the writer of an anonymous message when an HR Admin unveils them.",
    subject = "Your anonymous praise was unveiled",
    text = "Hello {{first_name}},\n\n{{admin}} (HR Admin) unveiled you as the writer of an anonymous praise.\n\n"
      .. "Their reason: {{reason}}\n\n{{link}}",
    vars = { admin = "the HR Admin", reason = "the reason they gave", link = "link to the message" },
    example = { admin = "Marcus Webb", reason = "Reported as abusive", link = "https://candor.example.com/messages/7" },
  })
end

return M
