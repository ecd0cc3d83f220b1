-- Placeholder: this number belongs to a migration being written on another
-- branch (quiet hours and digests: 0007; remind-again and DM reminders:
-- 0008). Versions must run without gaps, so 0009 needs it here until that
-- branch merges; delete this file when the real one arrives.
SELECT 1;
