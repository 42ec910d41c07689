-- What each remembered event said (Acceptance.Fingerprint), so that an id
-- reused by another event is refused (store.ErrEventConflict) rather than
-- dropped as a repeat. Events remembered before it have '': unknown, and
-- any repeat of them is taken as a repeat, as before.
ALTER TABLE events ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
