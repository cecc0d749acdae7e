-- 010: a workflow version whose `only` rule keeps being stopped on its jobs (out of its
-- instruction budget, its memory or its time: services/workflows.lua) is suspended: its rules
-- no longer run, and the HR Admins are told by mail.
ALTER TABLE workflow_versions ADD COLUMN failures INTEGER NOT NULL DEFAULT 0; -- stopped job runs in a row
ALTER TABLE workflow_versions ADD COLUMN last_failure TEXT;                  -- why the last one was stopped
ALTER TABLE workflow_versions ADD COLUMN suspended_at INTEGER;               -- seconds; NULL while its rules run
