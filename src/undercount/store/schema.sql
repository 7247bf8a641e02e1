-- undercount case schema (its version: undercount.store.migrations.SCHEMA_VERSION). Every table
-- is append-only: rows are inserted, never updated or deleted. A run that changes results writes rows tagged with its run_id and, in the
-- same transaction, one row in uc_runs; the newest run of a kind is the current one.
-- Rows whose run_id has no uc_runs row belong to an aborted run and are ignored.

CREATE TABLE IF NOT EXISTS uc_meta (
    key VARCHAR,
    value VARCHAR,
    written_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS uc_runs (
    run_id VARCHAR PRIMARY KEY,       -- e.g. 'link-20261124T230812-3f2a'
    kind VARCHAR NOT NULL,            -- import | link | review | recluster | estimate | export | report | user
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    username VARCHAR,                 -- who ran it (OS user for the CLI, account for the app)
    params JSON,                      -- settings used
    summary JSON,                     -- headline results
    version VARCHAR,                  -- undercount version
    inputs JSON                       -- what the run read: e.g. the cluster run and the decisions (schema 2)
);

CREATE TABLE IF NOT EXISTS uc_sources (
    name VARCHAR NOT NULL,            -- the list's name (defaults to the file stem)
    file_hash VARCHAR NOT NULL,       -- sha256 of the file's bytes
    file_name VARCHAR NOT NULL,       -- original file name (no directories)
    stored_as VARCHAR NOT NULL,       -- sources/<sha256>.<ext>
    size BIGINT NOT NULL,
    format VARCHAR,                   -- csv | xlsx | json | parquet
    encoding VARCHAR,
    header_row INTEGER,               -- 1-based line of the header in the file
    row_count INTEGER NOT NULL,
    columns JSON,                     -- mapping canonical field -> header in the file
    spec JSON,                        -- the spec used (TOML as JSON), or null
    imported_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL,
    compiled_by VARCHAR,              -- who compiled the list (set at import; schema 4)
    description VARCHAR               -- how: what the list is, how it was gathered (set at import; schema 4)
);

-- uc_records and uc_record_seq are generated from the field table, undercount.store.fields.RECORD.

-- Releases of one list (written by the import, in its transaction). A list keeps its releases in
-- order of their publication date; each release is a source (its uc_sources name, the records'
-- source). A source without a row here is a list of one release. The newest row per source wins.
CREATE TABLE IF NOT EXISTS uc_releases (
    source VARCHAR NOT NULL,          -- the release: uc_sources.name, uc_records.source
    list_name VARCHAR NOT NULL,       -- the list it is a release of
    released DATE,                    -- when the publisher released it (null: unknown, the oldest)
    top_line BIGINT,                  -- the total the publisher announced with it (may exceed its rows)
    top_line_identified BIGINT,       -- of that total, those the publisher called identified
    written_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL           -- the import run
);

-- The diff of two releases of one list (written by undercount.releases, a 'diff' run): one row per
-- record of either release; a record matched across the releases shares one row.
CREATE TABLE IF NOT EXISTS uc_release_diffs (
    run_id VARCHAR NOT NULL,
    list_name VARCHAR NOT NULL,
    from_source VARCHAR NOT NULL,     -- the earlier release
    to_source VARCHAR NOT NULL,       -- the later release
    class VARCHAR NOT NULL,           -- unchanged | corrected | status_moved | new_id | id_reassigned | added | removed | duplicate_resolved | duplicate_added
    record_from BIGINT,               -- record in the earlier release (null: only in the later)
    record_to BIGINT,                 -- record in the later release (null: only in the earlier)
    probability DOUBLE,               -- match probability of the pair (null: no pair)
    changes JSON                      -- fields that changed and how (names of fields only: no values)
);

-- Linkage (written by undercount.link). One row per candidate pair above the floor.
CREATE TABLE IF NOT EXISTS uc_pairs (
    run_id VARCHAR NOT NULL,
    record_id_l BIGINT NOT NULL,      -- record_id_l < record_id_r
    record_id_r BIGINT NOT NULL,
    match_weight DOUBLE,
    probability DOUBLE NOT NULL,
    evidence JSON                     -- per comparison: {"name": {"level": "...", "weight": 1.2}, ...}
);

CREATE TABLE IF NOT EXISTS uc_clusters (
    run_id VARCHAR NOT NULL,
    record_id BIGINT NOT NULL,
    person_id VARCHAR NOT NULL,       -- 'P' + zero-padded smallest record_id of the cluster
    probability DOUBLE                -- strength of the record's attachment (1.0 for singletons)
);

CREATE TABLE IF NOT EXISTS uc_link_models (
    run_id VARCHAR NOT NULL,
    engine VARCHAR NOT NULL,
    threshold DOUBLE NOT NULL,
    settings JSON NOT NULL            -- trained Splink settings (weights) and undercount options
);

-- The model's expected number of true pairs among the pairs a link run did not store, per pair
-- of lists (written by undercount.link.missed from a sample of them scored with the trained model).
CREATE TABLE IF NOT EXISTS uc_missed_links (
    run_id VARCHAR NOT NULL,          -- the link run
    list_l VARCHAR NOT NULL,          -- list_l <= list_r; equal: pairs within one list
    list_r VARCHAR NOT NULL,
    frame_pairs BIGINT NOT NULL,      -- unstored pairs sharing two or more name parts (the frame)
    sampled_pairs BIGINT NOT NULL,    -- of them scored (Poisson sample)
    expected DOUBLE NOT NULL,         -- estimated sum of match probabilities over the frame
    se DOUBLE NOT NULL,               -- its standard error
    detail JSON                       -- cap of the frame's blocks, sample size, notes
);

-- The unstored pairs that link run scored for that estimate (its Poisson sample), so that an
-- estimate without a search sample can correct for them (undercount.estimate.correction).
CREATE TABLE IF NOT EXISTS uc_missed_sample (
    run_id VARCHAR NOT NULL,
    record_id_l BIGINT NOT NULL,
    record_id_r BIGINT NOT NULL,
    probability DOUBLE NOT NULL,      -- the trained model's match probability
    inclusion DOUBLE NOT NULL,        -- the probability that the pair was drawn
    final_probability DOUBLE          -- the run's final model's (the stored pairs' model), global prior
);

-- The clerical search sample (written by undercount.review.sample): persons drawn at random from
-- the capture-history cells that missed links inflate, searched for by people in the other lists.
CREATE TABLE IF NOT EXISTS uc_search_sample (
    sample_id VARCHAR NOT NULL,       -- the drawing (a run of kind 'search-sample')
    item INTEGER NOT NULL,            -- 1..n, the order people see
    person_id VARCHAR NOT NULL,       -- the person drawn, in link_run_id's clusters
    link_run_id VARCHAR NOT NULL,
    cell VARCHAR NOT NULL,            -- the person's lists at drawing, e.g. 'hospital+survey'
    cell_size BIGINT NOT NULL,        -- persons in that cell (the stratum's size)
    cell_sampled BIGINT NOT NULL,     -- persons drawn from it
    record_ids BIGINT[] NOT NULL,     -- the person's records at drawing
    search_lists VARCHAR[] NOT NULL   -- the lists to search (those the person is not on)
);
CREATE SEQUENCE IF NOT EXISTS uc_search_answer_seq START 1;
CREATE TABLE IF NOT EXISTS uc_search_answers (
    answer_id BIGINT PRIMARY KEY,
    sample_id VARCHAR NOT NULL,
    item INTEGER NOT NULL,
    list_name VARCHAR NOT NULL,       -- the list searched
    answer VARCHAR NOT NULL,          -- found | absent (not on that list) | skip; the newest per item and list wins
    found_record_id BIGINT,           -- the record found (answer 'found')
    username VARCHAR NOT NULL,
    answered_at TIMESTAMP NOT NULL,
    note VARCHAR
);

-- Review decisions (written by the app). The newest decision on a pair wins.
CREATE SEQUENCE IF NOT EXISTS uc_decision_seq START 1;
CREATE TABLE IF NOT EXISTS uc_decisions (
    decision_id BIGINT PRIMARY KEY,
    record_id_l BIGINT NOT NULL,      -- record_id_l < record_id_r
    record_id_r BIGINT NOT NULL,
    decision VARCHAR NOT NULL,        -- same | different | skip
    username VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    link_run_id VARCHAR,              -- the link run whose pair was shown
    note VARCHAR
);

-- Estimation results (written by undercount.estimate).
CREATE TABLE IF NOT EXISTS uc_estimates (
    run_id VARCHAR NOT NULL,
    stratum VARCHAR NOT NULL,         -- 'total' or e.g. 'age_group=0-17|sex=female'
    method VARCHAR,
    documented BIGINT,
    estimate DOUBLE,
    lower DOUBLE,
    upper DOUBLE,
    result JSON                       -- the full to_dict() of the result
);

-- Accounts of the review app. The newest row for a username wins; role 'disabled' disables.
CREATE TABLE IF NOT EXISTS uc_users (
    username VARCHAR NOT NULL,
    role VARCHAR NOT NULL,            -- viewer | reviewer | admin | disabled
    password_hash VARCHAR NOT NULL,   -- argon2
    written_at TIMESTAMP NOT NULL,
    written_by VARCHAR
);

-- Sessions of the review app: a 'start' row at login, an 'end' row at logout. An 'end' row
-- with session_hash '*' ends every session of the account that began before it (written when
-- the account's role or password changes or it is disabled).
CREATE TABLE IF NOT EXISTS uc_sessions (
    session_hash VARCHAR NOT NULL,    -- sha256 of the session id (the id itself is only in the cookie)
    username VARCHAR NOT NULL,
    event VARCHAR NOT NULL,           -- start | end
    "at" TIMESTAMP NOT NULL,
    reason VARCHAR                    -- why it ended: logout | account changed
);

-- Blind double review: the share of candidate pairs two reviewers decide without seeing each
-- other's decision (the newest row stands; share 0 turns it off).
CREATE TABLE IF NOT EXISTS uc_review_plan (
    set_at TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,
    double_share DOUBLE NOT NULL,     -- 0..1
    seed BIGINT NOT NULL              -- which pairs: a fixed function of the two record ids and the seed
);

-- Audit log: who imported, linked, decided, exported what, and when.
CREATE SEQUENCE IF NOT EXISTS uc_audit_seq START 1;
CREATE TABLE IF NOT EXISTS uc_audit (
    event_id BIGINT PRIMARY KEY,
    "at" TIMESTAMP NOT NULL,
    username VARCHAR,
    action VARCHAR NOT NULL,          -- import | link | decide | recluster | estimate | export | report | login | user
    detail JSON                       -- no names or ID numbers of victims
);
