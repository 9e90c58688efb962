-- The first schema of the PostgreSQL store. Ids are uuids (their byte order
-- is the sled store's key order, so exports page the same way), times are
-- milliseconds and seqs are bigints. Records the server reads whole are
-- kept as JSON in the same format the sled store writes (records.rs); what
-- is looked up, paged or counted has a column and an index of its own.

CREATE TABLE users (
    id uuid PRIMARY KEY,
    canonical text NOT NULL UNIQUE,
    record json NOT NULL
);
-- Keys no other account may share (usernames.rs makes them).
CREATE TABLE lookalikes (
    key text PRIMARY KEY,
    user_id uuid NOT NULL
);
CREATE TABLE last_seen (
    user_id uuid PRIMARY KEY,
    at bigint NOT NULL
);
CREATE TABLE user_bans (
    user_id uuid PRIMARY KEY,
    record json NOT NULL
);

CREATE TABLE tokens (
    hash bytea PRIMARY KEY,
    user_id uuid NOT NULL,
    issued_at bigint NOT NULL,
    last_used bigint NOT NULL
);
CREATE INDEX tokens_of_user ON tokens (user_id, issued_at);
CREATE INDEX tokens_by_last_use ON tokens (last_used);

CREATE TABLE rooms (
    id uuid PRIMARY KEY,
    record json NOT NULL
);
-- Each room's highest seq: the row a batch locks and advances in its own
-- transaction (a row per room that ever had a message).
CREATE TABLE room_seqs (
    room_id uuid PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0
);
CREATE TABLE members (
    room_id uuid NOT NULL,
    user_id uuid NOT NULL,
    joined_at bigint NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX members_in_join_order ON members (room_id, joined_at, user_id);
CREATE INDEX rooms_of_user ON members (user_id, room_id);
CREATE TABLE reads (
    room_id uuid NOT NULL,
    user_id uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE messages (
    room_id uuid NOT NULL,
    seq bigint NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (room_id, seq)
);
-- Idempotency: a retry on any node finds the original here.
CREATE TABLE dedup (
    sender uuid NOT NULL,
    room_id uuid NOT NULL,
    client_msg_id text NOT NULL,
    seq bigint NOT NULL,
    ts bigint NOT NULL,
    PRIMARY KEY (sender, room_id, client_msg_id)
);
CREATE INDEX dedup_by_time ON dedup (ts);
CREATE TABLE mentions (
    user_id uuid NOT NULL,
    room_id uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (user_id, room_id, seq)
);
CREATE TABLE relations (
    room_id uuid NOT NULL,
    target bigint NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,
    PRIMARY KEY (room_id, target, seq)
);
-- Which committed messages carry a media: its rooms (download access) and
-- whether anything still carries it.
CREATE TABLE media_messages (
    media_id uuid NOT NULL,
    room_id uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (media_id, room_id, seq)
);

CREATE TABLE pairs (
    room_id uuid PRIMARY KEY,
    record json NOT NULL
);
CREATE TABLE blocks (
    blocker uuid NOT NULL,
    blocked uuid NOT NULL,
    shown uuid NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (blocker, blocked)
);
CREATE TABLE reports (
    id uuid PRIMARY KEY,
    at bigint NOT NULL,
    open boolean NOT NULL,
    record json NOT NULL
);
CREATE INDEX open_reports ON reports (at, id) WHERE open;
CREATE TABLE room_bans (
    room_id uuid NOT NULL,
    user_id uuid NOT NULL,
    record json NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- A call's state; `pending` while its ring expiry is owed a `missed`,
-- `ringing` for the one call that rings in its room.
CREATE TABLE calls (
    room_id uuid NOT NULL,
    call_id uuid NOT NULL,
    state json NOT NULL,
    expires_at bigint NOT NULL,
    pending boolean NOT NULL DEFAULT false,
    ringing boolean NOT NULL DEFAULT false,
    PRIMARY KEY (room_id, call_id)
);
CREATE UNIQUE INDEX one_ringing_call_per_room ON calls (room_id) WHERE ringing;
CREATE INDEX pending_call_expiries ON calls (expires_at, room_id, call_id) WHERE pending;
CREATE TABLE call_declines (
    room_id uuid NOT NULL,
    call_id uuid NOT NULL,
    user_id uuid NOT NULL,
    PRIMARY KEY (room_id, call_id, user_id)
);

-- The media catalog (media/catalog.rs).
CREATE TABLE uploads (
    id uuid PRIMARY KEY,
    owner uuid NOT NULL,
    record json NOT NULL
);
CREATE TABLE media_usage (
    owner uuid PRIMARY KEY,
    bytes bigint NOT NULL,
    pending bigint NOT NULL
);
CREATE TABLE media_blobs (
    sha256 text PRIMARY KEY,
    refs bigint NOT NULL
);

CREATE TABLE health_probe (
    id integer PRIMARY KEY,
    value bytea NOT NULL
);
