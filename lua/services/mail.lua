-- Outgoing mail: templates with {{placeholders}}, queued in the outbox table inside the
-- caller's transaction, delivered later by the "mail.deliver" job (SMTP settings), or kept
-- in the outbox when no SMTP server is configured.
local db = require "lib.db"
local json = require "lib.json"
local errors = require "lib.errors"
local clock = require "core.clock"
local template = require "lib.template"

local M = {}

-- name -> { subject=, text=, description=, vars = { name = "what it is" } }
M.templates = {}

--- Declares a notification template with its default text.
function M.define_template(name, spec)
  assert(spec.subject and spec.text and spec.description, "mail template " .. name .. " needs subject, text, description")
  M.templates[name] = spec
end

-- {{name}} is replaced by the variable; {{#name}}...{{/name}} keeps the part only when the
-- variable is set. Unknown names are left visible so a preview shows the mistake.
local function fill(text, vars, escape)
  text = text:gsub("{{#([%w_]+)}}(.-){{/%1}}", function(k, inner)
    local v = vars[k]
    if v == nil or v == "" or v == false then return "" end
    return inner
  end)
  return (text:gsub("{{([%w_]+)}}", function(k)
    local v = vars[k]
    if v == nil then return "{{" .. k .. "}}" end
    v = tostring(v)
    return escape and template.escape(v) or v
  end))
end

--- The template's current text (a company's edited version when there is one).
function M.template_text(name)
  local spec = M.templates[name]
  if not spec then error("unknown mail template " .. tostring(name)) end
  local custom = M.custom_template and M.custom_template(name)
  return custom and custom.subject or spec.subject, custom and custom.text or spec.text
end

--- Renders a template: subject, text, html.
function M.render(name, vars)
  local subject_t, text_t = M.template_text(name)
  local subject = fill(subject_t, vars, false):gsub("[\r\n]+", " ")
  local text = fill(text_t, vars, false)
  local html_body = fill(text_t, vars, true)
    :gsub("\r?\n\r?\n", "</p><p>"):gsub("\r?\n", "<br>")
    :gsub("(https?://[%w%-%._~:/%?#%[%]@!%$&'%(%)%*%+,;=%%]+)", '<a href="%1">%1</a>')
  local html = ('<!doctype html><html><body style="font-family:system-ui,Arial,sans-serif;'
    .. 'line-height:1.5;color:#111827"><p>%s</p></body></html>'):format(html_body)
  return subject, text, html
end

--- Queues a mail: { template=, to = user row or {email=, name=, id=}, vars = {}, cc=,
--- related_type=, related_id=, dedupe_key= }. Returns the outbox id (nil when the dedupe key
--- was queued already).
function M.queue(m)
  local to = m.to
  if not to or not to.email then errors.bad_request("mail without a recipient") end
  local vars = {}
  for k, v in pairs(m.vars or {}) do vars[k] = v end
  vars.name = vars.name or to.name
  vars.first_name = vars.first_name or (to.name and to.name:match("^(%S+)"))
  vars.email = vars.email or to.email
  local subject, text, html = M.render(m.template, vars)
  local n, id = db.try_exec([[INSERT INTO outbox(created_at, template, to_email, to_name, to_user_id, cc,
      subject, body_text, body_html, status, related_type, related_id, dedupe_key, next_attempt_at)
      VALUES(?,?,?,?,?,?,?,?,?, 'queued', ?,?,?,?)]],
    clock.now(), m.template, to.email, to.name, to.id, m.cc, subject, text, html,
    m.related_type, m.related_id, m.dedupe_key, clock.now())
  if not n then
    if id.code == "constraint" and m.dedupe_key then return nil end
    error("cannot queue mail: " .. id.message)
  end
  if M.after_queue then M.after_queue(id) end
  return id
end

function M.init()
  M.define_template("user.invite", {
    description = "Sent when someone is added to Candor with an invitation.",
    subject = "{{inviter}} invited you to {{company}} on Candor",
    text = "Hello {{first_name}},\n\n{{inviter}} added you to {{company}}'s performance and feedback space on Candor."
      .. "{{#message}}\n\nA note from {{inviter}}:\n{{message}}{{/message}}\n\n"
      .. "Choose your password here (the link works for 7 days):\n{{link}}\n\nSee you there!",
    vars = { inviter = "who invited them", company = "company name", message = "personal note (optional)",
      link = "link to choose a password" },
  })
  M.define_template("guest.invite", {
    description = "Sent to an external guest reviewer when their account is created with an invitation.",
    subject = "{{inviter}} at {{company}} asks for your feedback",
    text = "Hello {{first_name}},\n\n{{inviter}} at {{company}} invited you to give feedback on Candor."
      .. "{{#message}}\n\nA note from {{inviter}}:\n{{message}}{{/message}}\n\n"
      .. "Choose your password here (the link works for 7 days):\n{{link}}\n\n"
      .. "As a guest you only see the feedback you are asked to write.",
    vars = { inviter = "who invited them", company = "company name", message = "personal note (optional)",
      link = "link to choose a password" },
  })
  M.define_template("password.reset", {
    description = "Sent when someone asks to reset their password, or HR sends reset instructions.",
    subject = "Reset your Candor password",
    text = "Hello {{first_name}},\n\nSomeone (hopefully you) asked to reset your Candor password."
      .. " Choose a new one here within the next hour:\n{{link}}\n\n"
      .. "If it was not you, ignore this mail: your password stays as it is.",
    vars = { link = "single-use reset link, valid for 1 hour" },
  })
end

return M
