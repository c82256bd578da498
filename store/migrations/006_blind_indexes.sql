-- Blind indexes (store/blind-index.ts): a keyed digest (HMAC-SHA256) of a person's normalised
-- e-mail address, so the planner can find two people claiming one address without the address
-- ever being stored in clear. Written with every stored snapshot; null for a person whose snapshot
-- has no e-mail or was stored before this migration (their next snapshot writes it). Purging a
-- person deletes the row, and the digest with it.
alter table identities add column email_digest bytea;
create index identities_email_digest on identities (email_digest) where email_digest is not null;
