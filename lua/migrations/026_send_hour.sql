-- 026: the send hour of dated mails is an hour of the company's time zone now (Administration ›
-- Date & time), so its setting loses "_utc" from its name. The value stays: a company that had
-- none set keeps UTC as its zone, where the hour means what it meant.
UPDATE settings SET key = 'notifications.send_hour' WHERE key = 'notifications.send_hour_utc'
  AND NOT EXISTS (SELECT 1 FROM settings WHERE key = 'notifications.send_hour');
DELETE FROM settings WHERE key = 'notifications.send_hour_utc';
