-- The results of a pulse survey: per closed round, each question's average and distribution, the
-- participation, the trend across rounds, the comments (in random order) and breakdowns by
-- department, location and manager team.
--
-- Anonymity rules (PRODUCT.md "Pulse surveys", policies/README.md):
--   * only closed rounds have results: while a round is open, watching the figures move after each
--     answer would tell what one person answered;
--   * a round, a group or a team slice with fewer responses than the survey's threshold shows no
--     score, no distribution and no comment, only that it is hidden and why;
--   * a breakdown never lets a hidden group be worked out by subtraction: when the hidden groups
--     together have fewer responses than the threshold, the smallest shown groups are hidden too
--     until they have at least that many together (or the breakdown is hidden whole); and across
--     breakdowns, a set one can work out minus the shown groups of another breakdown inside it
--     leaves nobody or at least the threshold (M.protect);
--   * no answer is ever tied to a person: there is nothing to tie it with (services/surveys.lua).
-- Everything is aggregated in SQL: a constant number of queries whatever the number of answers.
-- A closed round's answers never change (they go to open rounds only: surveys.record), so its
-- aggregates are kept in memory until a round opens, closes or goes (a write to survey_rounds).
local db = require "lib.db"
local crypt = require "lib.crypt"
local json = require "lib.json"
local memo = require "lib.memo"
local audit = require "services.audit"
local surveys = require "services.surveys"

local M = {}

M.DIMENSIONS = { "department", "location", "manager" }
M.DIMENSION_LABELS = { department = "Department", location = "Location", manager = "Manager's team" }
local DIM_SQL = { department = "r.department", location = "r.location",
  manager = "json_extract(r.manager_ids, '$[0]')" }

local function round1(x) return math.floor(x * 10 + 0.5) / 10 end

-- The rows of closed rounds' aggregates by query and arguments (read-only once kept).
local closed_memo = memo.new({ "survey_rounds" }, 512)

local function load_rows(_, sql, ...) return db.query(sql, ...) end

-- db.query(sql, ...) over closed rounds only, kept.
local function closed_rows(sql, ...)
  local parts = { sql }
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  return closed_memo:fetch(table.concat(parts, "\0"), load_rows, sql, ...)
end

--- Hides groups below threshold (and those marked .forced) and, when the hidden ones together have
--- fewer than threshold responses, the smallest shown ones too (so none can be worked out as total
--- minus the shown). groups: list of { n = responses, forced? }; sets .hidden on each. Returns how
--- many are shown.
function M.suppress(groups, threshold)
  local hidden_n, any_hidden = 0, false
  for _, g in ipairs(groups) do
    g.hidden = g.n < threshold or g.forced == true
    if g.hidden then hidden_n, any_hidden = hidden_n + g.n, true end
  end
  if any_hidden and hidden_n < threshold then
    local shown = {}
    for _, g in ipairs(groups) do if not g.hidden then shown[#shown + 1] = g end end
    table.sort(shown, function(a, b) return a.n < b.n end)
    for _, g in ipairs(shown) do
      if hidden_n >= threshold then break end
      g.hidden = true
      hidden_n = hidden_n + g.n
    end
  end
  local n = 0
  for _, g in ipairs(groups) do if not g.hidden then n = n + 1 end end
  return n
end

--- The same rule across dimensions: a set one can work out (a shown group, or the hidden groups of a
--- dimension together: the total minus the shown) minus the shown groups of another dimension that
--- lie wholly inside it must leave nobody or at least threshold responses; otherwise the few left
--- could be read by subtraction (a department of two teams, one shown). dims: list of lists of
--- groups (as suppress takes); joint: list of { keys = { key per dimension }, n } (how many
--- responses have each combination). Hides groups (.forced, then suppress) until no such set is
--- left; each step hides at least one more group, so it ends.
function M.protect(dims, joint, threshold)
  local by_key = {}
  for d, groups in ipairs(dims) do
    by_key[d] = {}
    for _, g in ipairs(groups) do by_key[d][g.key] = g end
  end
  -- inter[d][g][e][h]: responses in group g of dimension d and group h of dimension e
  local inter = {}
  for _, row in ipairs(joint) do
    for d = 1, #dims do
      local g = by_key[d][row.keys[d]]
      inter[g] = inter[g] or {}
      for e = 1, #dims do
        if e ~= d then
          local h = by_key[e][row.keys[e]]
          local m = inter[g][e] or {}
          inter[g][e] = m
          m[h] = (m[h] or 0) + row.n
        end
      end
    end
  end
  local function leak()
    for d, groups in ipairs(dims) do
      -- the sets of d one can work out: each shown group, and the hidden ones together
      local hidden, hidden_n = {}, 0
      for _, g in ipairs(groups) do if g.hidden then hidden[#hidden + 1] = g; hidden_n = hidden_n + g.n end end
      local sets = {}
      for _, g in ipairs(groups) do if not g.hidden then sets[#sets + 1] = { members = { g }, n = g.n, group = g } end end
      if #hidden > 0 and #hidden < #groups then sets[#sets + 1] = { members = hidden, n = hidden_n } end
      for _, a in ipairs(sets) do
        for e, others in ipairs(dims) do
          if e ~= d then
            local overlap = {} -- group of e -> responses shared with a
            for _, g in ipairs(a.members) do
              for h, n in pairs((inter[g] or {})[e] or {}) do overlap[h] = (overlap[h] or 0) + n end
            end
            local inside, smallest, e_hidden_in, e_hidden_n, e_hidden_all = 0, nil, 0, 0, 0
            for _, h in ipairs(others) do
              if h.hidden then
                e_hidden_all = e_hidden_all + h.n
                e_hidden_in = e_hidden_in + (overlap[h] or 0)
                e_hidden_n = e_hidden_n + h.n
              elseif overlap[h] == h.n then
                inside = inside + h.n
                if not smallest or h.n < smallest.n then smallest = h end
              end
            end
            if e_hidden_n > 0 and e_hidden_in == e_hidden_all then inside = inside + e_hidden_n end
            local rest = a.n - inside
            if inside > 0 and rest > 0 and rest < threshold then
              if a.group then a.group.forced = true
              elseif smallest then smallest.forced = true
              else for _, h in ipairs(others) do h.forced = true end end
              return true
            end
          end
        end
      end
    end
    return false
  end
  repeat
    for _, groups in ipairs(dims) do M.suppress(groups, threshold) end
  until not leak()
end

-- The SQL condition and arguments for the slice reader sees: everything, or (team) the responses of
-- people below manager_id.
local function slice(view, manager_id)
  if view == "team" then
    return " AND EXISTS (SELECT 1 FROM json_each(r.manager_ids) m WHERE m.value = ?)", { manager_id }
  end
  return "", {}
end

local function args(list, ...)
  local out = { ... }
  for _, v in ipairs(list) do out[#out + 1] = v end
  return table.unpack(out)
end

-- Per round and question: n, sum and the count per score (one query): out[round_id][q] = { n, sum, dist }
local function stats_by_round(round_ids, where, wargs)
  local out = {}
  for _, x in ipairs(closed_rows(([[SELECT r.round_id, CAST(a.key AS INTEGER) + 1 AS q, a.value AS v, count(*) AS n
      FROM survey_responses r, json_each(r.answers) a
      WHERE r.round_id IN (SELECT value FROM json_each(?)) AND a.type = 'integer'%s
      GROUP BY r.round_id, a.key, a.value]]):format(where), args(wargs, json.encode(round_ids)))) do
    local per = out[x.round_id] or {}
    out[x.round_id] = per
    local st = per[x.q] or { n = 0, sum = 0, dist = {} }
    per[x.q] = st
    st.n, st.sum = st.n + x.n, st.sum + x.v * x.n
    st.dist[x.v] = (st.dist[x.v] or 0) + x.n
  end
  return out
end

-- Responses per round in the slice (one query).
local function counts_by_round(round_ids, where, wargs)
  local out = {}
  for _, x in ipairs(closed_rows(([[SELECT r.round_id, count(*) AS n FROM survey_responses r
      WHERE r.round_id IN (SELECT value FROM json_each(?))%s GROUP BY r.round_id]]):format(where),
      args(wargs, json.encode(round_ids)))) do
    out[x.round_id] = x.n
  end
  return out
end

local function question_view(q, st, shown)
  local v = { text = q.text, scale = q.scale, low = q.low, high = q.high, hidden = not shown }
  if shown and st and st.n > 0 then
    v.n, v.average = st.n, round1(st.sum / st.n)
    v.distribution = {}
    for score = 1, q.scale do
      local n = st.dist[score] or 0
      v.distribution[score] = { score = score, n = n, percent = math.floor(n * 100 / st.n + 0.5) }
    end
  end
  return v
end

-- The breakdowns of each of round_ids by department, location and manager's team: { [round id] = a
-- list of { dimension, label, groups = [{ key, label, n, hidden, averages = [per question] }], shown,
-- hidden_count } }. Groups below the threshold, and those subtraction would give away (within a
-- dimension and across them: M.suppress, M.protect), are hidden; each round on its own. Five
-- queries, whatever the number of rounds.
local function breakdowns_many(round_ids, threshold)
  local list = json.encode(round_ids)
  local per = {} -- round id -> { dims, by_key, joint }
  for _, rid in ipairs(round_ids) do
    local p = { dims = {}, by_key = {}, joint = {} }
    for d = 1, #M.DIMENSIONS do p.dims[d], p.by_key[d] = {}, {} end
    per[rid] = p
  end
  local function key_of(v) return v == nil and "" or tostring(v) end
  for _, x in ipairs(db.query(([[SELECT r.round_id, %s AS d1, %s AS d2, %s AS d3, count(*) AS n FROM survey_responses r
      WHERE r.round_id IN (SELECT value FROM json_each(?)) GROUP BY 1, 2, 3, 4]]):format(DIM_SQL.department,
      DIM_SQL.location, DIM_SQL.manager), list)) do
    local p = per[x.round_id]
    local keys = { key_of(x.d1), key_of(x.d2), key_of(x.d3) }
    p.joint[#p.joint + 1] = { keys = keys, n = x.n }
    for d = 1, 3 do
      local g = p.by_key[d][keys[d]]
      if not g then
        g = { key = keys[d], n = 0, averages = {} }
        p.by_key[d][keys[d]] = g
        p.dims[d][#p.dims[d] + 1] = g
      end
      g.n = g.n + x.n
    end
  end
  for _, rid in ipairs(round_ids) do M.protect(per[rid].dims, per[rid].joint, threshold) end
  local out = {}
  for _, rid in ipairs(round_ids) do out[rid] = {} end
  for d, dim in ipairs(M.DIMENSIONS) do
    for _, x in ipairs(db.query(([[SELECT r.round_id, %s AS g, CAST(a.key AS INTEGER) + 1 AS q, sum(a.value) AS total,
        count(*) AS n FROM survey_responses r, json_each(r.answers) a
        WHERE r.round_id IN (SELECT value FROM json_each(?)) AND a.type = 'integer' GROUP BY 1, 2, 3]]):format(
        DIM_SQL[dim]), list)) do
      local g = per[x.round_id].by_key[d][key_of(x.g)]
      if g and not g.hidden and x.n > 0 then g.averages[x.q] = round1(x.total / x.n) end
    end
    local names = {}
    if dim == "manager" then
      local ids, seen = {}, {}
      for _, rid in ipairs(round_ids) do
        for _, g in ipairs(per[rid].dims[d]) do
          if g.key ~= "" and not seen[g.key] then seen[g.key] = true; ids[#ids + 1] = tonumber(g.key) end
        end
      end
      if #ids > 0 then
        for _, u in ipairs(db.query("SELECT id, name FROM users WHERE id IN (SELECT value FROM json_each(?))", json.encode(ids))) do
          names[tostring(u.id)] = u.name
        end
      end
    end
    for _, rid in ipairs(round_ids) do
      local groups = per[rid].dims[d]
      if dim == "manager" then
        for _, g in ipairs(groups) do g.label = g.key == "" and "No manager" or ("Team of " .. (names[g.key] or "a former manager")) end
      else
        for _, g in ipairs(groups) do g.label = g.key == "" and ("No " .. dim) or g.key end
      end
      local shown = 0
      for _, g in ipairs(groups) do if g.hidden then g.averages = {} else shown = shown + 1 end end
      table.sort(groups, function(a, b)
        if a.hidden ~= b.hidden then return not a.hidden end
        return a.label < b.label
      end)
      out[rid][d] = { dimension = dim, label = M.DIMENSION_LABELS[dim], groups = groups, shown = shown,
        hidden_count = #groups - shown }
    end
  end
  return out
end

-- The breakdowns of round_id (as breakdowns_many gives them).
local function breakdowns_of(_, round_id, threshold) return breakdowns_many({ round_id }, threshold)[round_id] end

-- A closed round's breakdowns at a threshold (the managers' names from users) and its comments,
-- decrypted (like the review chart's memo: a few rounds, only while no round moves), are kept.
-- Both are shared: read-only.
local closed_views = memo.new({ "survey_rounds", "users" }, 16)
local closed_comments = memo.new({ "survey_rounds" }, 16)

local function breakdowns(s, round_id)
  local threshold = surveys.threshold_of(s)
  return closed_views:fetch(round_id .. ":" .. threshold, breakdowns_of, round_id, threshold)
end

-- The comments of each of round_ids, decrypted: { [round id] = list } (one query). Ids are random,
-- so their order is a shuffle unrelated to who answered when.
local function comments_many(round_ids)
  local out = {}
  for _, rid in ipairs(round_ids) do out[rid] = {} end
  for _, c in ipairs(db.query([[SELECT id, round_id, comment_enc FROM survey_responses
      WHERE round_id IN (SELECT value FROM json_each(?)) AND comment_enc IS NOT NULL ORDER BY id]], json.encode(round_ids))) do
    local list = out[c.round_id]
    list[#list + 1] = crypt.open("survey_responses", "comment_enc", { c.id }, c.comment_enc)
  end
  return out
end

local function comments_of(round_id) return comments_many({ round_id })[round_id] end

--- The results of survey id as actor may read them: { survey, view ("all" | "team"), threshold,
--- rounds (closed, newest first: { id, seq, opens_on, closes_on, invited?, responded, hidden }),
--- round (the one shown: ?round= or the latest closed), questions (for it: average and distribution
--- or hidden), trend (per question: { seq, average or nil }), comments (view "all": texts in random
--- order, or nil when hidden), breakdowns (view "all") }. A constant number of queries. (Also
--- returns each closed round's figures per question: stats[round id][question] = { n, sum, dist }.)
local function results_of(actor, id, round_id)
  local s = surveys.get(actor, id)
  local threshold = surveys.threshold_of(s)
  local view = s.reader
  local where, wargs = slice(view, actor.id)
  local all_rounds = surveys.rounds(s.id)
  local closed, ids = {}, {}
  for _, r in ipairs(all_rounds) do
    if r.status == "closed" then closed[#closed + 1] = r; ids[#ids + 1] = r.id end
  end
  -- the answers the figures are made of decide (not the invitations' flags)
  local counts = counts_by_round(ids, where, wargs)
  for _, r in ipairs(closed) do
    r.responded = counts[r.id] or 0
    if view == "team" then r.invited, r.rate = nil, nil end
    r.hidden = r.responded < threshold
  end
  local stats = stats_by_round(ids, where, wargs)
  local want = math.tointeger(tonumber(round_id))
  local round = closed[1]
  for _, r in ipairs(closed) do if r.id == want then round = r end end
  if want and (not round or round.id ~= want) then
    require("lib.errors").not_found("There are no results for that round (it is open, or not of this survey).")
  end
  local out = { survey = s, view = view, threshold = threshold, rounds = closed, round = round,
    open_round = all_rounds[1] and all_rounds[1].status == "open" and all_rounds[1] or nil }
  out.questions = {}
  if round then
    for i, q in ipairs(s.questions) do
      out.questions[i] = question_view(q, (stats[round.id] or {})[i], not round.hidden)
    end
  end
  out.trend = {}
  for i, q in ipairs(s.questions) do
    local points = {}
    for k = #closed, 1, -1 do
      local r = closed[k]
      local st = (stats[r.id] or {})[i]
      points[#points + 1] = { seq = r.seq, round_id = r.id, closes_on = r.closes_on,
        average = (not r.hidden and st and st.n > 0) and round1(st.sum / st.n) or nil }
    end
    out.trend[i] = { text = q.text, scale = q.scale, points = points }
  end
  if view == "all" and round then
    if s.comment_question and not round.hidden then
      out.comments = closed_comments:fetch(round.id, comments_of)
    end
    out.breakdowns = round.hidden and {} or breakdowns(s, round.id)
  end
  return out, stats
end

--- The results of survey id as actor may read them (see results_of above).
function M.results(actor, id, round_id) return (results_of(actor, id, round_id)) end

--- Participation of survey id (those who manage it): per round invited, responded and the rate,
--- and for the latest round the invited and responded per department (groups with fewer invited
--- than the threshold hidden, with the subtraction rule). Never who.
function M.participation(actor, id)
  local s = surveys.get(actor, id)
  if not s.can.manage then require("lib.errors").forbidden("Participation is for HR Admins and the survey's creator.") end
  local rounds = surveys.rounds(s.id)
  local latest = rounds[1]
  local groups = {}
  if latest then
    for _, x in ipairs(db.query([[SELECT u.department AS g, count(*) AS n, sum(i.responded) AS responded
        FROM survey_invitations i JOIN users u ON u.id = i.user_id WHERE i.round_id = ? GROUP BY 1 ORDER BY 1]], latest.id)) do
      groups[#groups + 1] = { label = x.g == "" and "No department" or x.g, n = x.n, responded = x.responded }
    end
    M.suppress(groups, surveys.threshold_of(s))
    for _, g in ipairs(groups) do
      if g.hidden then g.responded = nil else g.rate = math.floor(g.responded * 100 / g.n + 0.5) end
    end
  end
  return { survey = s, rounds = rounds, round = latest, departments = groups, threshold = surveys.threshold_of(s) }
end

local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[",\r\n]') or v:match("^[=+%-@\t]") then
    if v:match("^[=+%-@\t]") then v = "'" .. v end -- never a formula in a spreadsheet
    v = '"' .. v:gsub('"', '""') .. '"'
  end
  return v
end

--- The results of survey id as CSV text (those who manage it): one line per closed round and
--- question (responses, average, count per score), one per shown breakdown group and question,
--- and the comments of rounds above the threshold. Hidden cells say so; no line is one person's.
--- Audited (survey.export). Returns the text and the survey.
function M.csv(actor, id, req)
  local s = surveys.get(actor, id)
  if not s.can.manage then require("lib.errors").forbidden("Exports are for HR Admins and the survey's creator.") end
  local lines = {}
  local function line(...)
    local cells = table.pack(...)
    for i = 1, cells.n do cells[i] = csv_cell(cells[i]) end
    lines[#lines + 1] = table.concat(cells, ",", 1, cells.n)
  end
  local maxscale = 5
  for _, q in ipairs(s.questions) do if q.scale > maxscale then maxscale = q.scale end end
  local head = { "round", "round closed", "group", "question", "responses", "average" }
  for k = 1, maxscale do head[#head + 1] = "score " .. k end
  line(table.unpack(head))
  -- every closed round at once: the figures of all, then the breakdowns and comments of those shown
  local res, stats = results_of(actor, id)
  local closed, shown = res.rounds, {}
  for _, r in ipairs(closed) do if not r.hidden then shown[#shown + 1] = r.id end end
  local all = res.view == "all" and #shown > 0
  local views = all and breakdowns_many(shown, res.threshold) or {}
  local comments = all and s.comment_question and comments_many(shown) or {}
  local hidden = ("hidden (fewer than %d)"):format(res.threshold)
  for k = #closed, 1, -1 do
    local r = closed[k]
    local questions = {}
    for i, q in ipairs(s.questions) do questions[i] = question_view(q, (stats[r.id] or {})[i], not r.hidden) end
    for _, q in ipairs(questions) do
      local cells = { r.seq, r.closes_on, "Everyone", q.text, q.hidden and hidden or (q.n or 0), q.hidden and "" or q.average }
      for score = 1, maxscale do
        cells[#cells + 1] = (not q.hidden and q.distribution and q.distribution[score]) and q.distribution[score].n or ""
      end
      line(table.unpack(cells))
    end
    for _, b in ipairs(views[r.id] or {}) do
      for _, g in ipairs(b.groups) do
        if not g.hidden then
          for i, q in ipairs(s.questions) do
            line(r.seq, r.closes_on, b.label .. ": " .. g.label, q.text, g.n, g.averages[i] or "")
          end
        end
      end
    end
    for _, c in ipairs(comments[r.id] or {}) do line(r.seq, r.closes_on, "Comment", s.comment_question, "", c) end
  end
  audit.record{ action = "survey.export", actor = actor, req = req, target_type = "survey", target_id = s.id,
    target_label = s.title }
  return table.concat(lines, "\r\n") .. "\r\n", s
end

return M
