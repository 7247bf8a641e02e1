-- Incidents and displacement (undercount.incidents, undercount.displacement). Append-only like
-- every table of a case: rows are inserted, never updated or deleted; a run writes rows tagged
-- with its run_id and, in the same transaction, one row in uc_runs. Created on first use.

-- Files of incident reports and of displacement counts (victim lists are in uc_sources).
CREATE TABLE IF NOT EXISTS uc_entity_files (
    name VARCHAR NOT NULL,            -- the file's name in the case (defaults to the file stem)
    kind VARCHAR NOT NULL,            -- incidents | displacement
    file_hash VARCHAR NOT NULL,       -- sha256 of the file's bytes
    file_name VARCHAR NOT NULL,
    stored_as VARCHAR NOT NULL,       -- sources/<sha256>.<ext>
    size BIGINT NOT NULL,
    format VARCHAR,
    encoding VARCHAR,
    header_row INTEGER,
    row_count INTEGER NOT NULL,
    hxl BOOLEAN NOT NULL,             -- the file carried a row of HXL hashtags
    columns JSON,                     -- field -> header (and hashtag) read
    spec JSON,
    imported_at TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL
);

-- One row per incident report (a data row of an incidents file).
CREATE TABLE IF NOT EXISTS uc_incident_reports (
    report_id BIGINT PRIMARY KEY,     -- unique within the case, assigned at import
    file VARCHAR NOT NULL,            -- uc_entity_files.name
    "row" INTEGER NOT NULL,           -- 1-based data row (header and hashtag rows not counted)
    file_hash VARCHAR NOT NULL,
    raw JSON,
    code VARCHAR,                     -- the source's own identifier of the incident
    date_start DATE,                  -- the day, or the first day of the week/month/year
    date_end DATE,                    -- the last day the date allows
    date_precision VARCHAR,           -- day | week | month | year
    place VARCHAR,                    -- canonical locality or area, else as written
    place_written VARCHAR,            -- the cell as written (any script)
    locality VARCHAR,
    adm1 VARCHAR,                     -- first-level area (governorate)
    admin_level INTEGER,              -- 1 area, 2 district, 3 locality, 4 site; null unknown
    lat DOUBLE,
    lon DOUBLE,
    geo_precision_m DOUBLE,           -- how far the true spot may be from lat/lon, in metres
    object_type VARCHAR,              -- health_facility | school | place_of_worship | shelter | water_sanitation | aid_distribution | residential | other
    object_name VARCHAR,
    weapon VARCHAR,                   -- as reported
    weapon_class VARCHAR,             -- airstrike | shelling | gunfire | drone | explosive | demolition | siege | other
    killed_min INTEGER,               -- reported killed: null ends are unknown
    killed_max INTEGER,
    injured_min INTEGER,
    injured_max INTEGER,
    actor VARCHAR,                    -- suspected actor as reported (never inferred)
    acknowledged BOOLEAN,             -- the named actor accepted responsibility
    source_name VARCHAR NOT NULL,     -- who published the report
    source_kind VARCHAR,
    reference VARCHAR,                -- URL or document reference
    archive_hash VARCHAR,             -- sha256 of an archived copy of the source
    reported_date DATE,
    credible BOOLEAN,                 -- false when the file marks the source not credible
    assessment VARCHAR,               -- the source's own grade, if it gives one
    family VARCHAR,                   -- families whose home was hit, as written
    family_keys VARCHAR[],            -- their transliteration keys (comparable across scripts)
    victims VARCHAR,                  -- names of victims the report gives, as written
    victim_keys VARCHAR[],            -- 'given|family' transliteration keys of those names
    description VARCHAR,
    run_id VARCHAR NOT NULL
);

-- Deduplication of reports into incidents (undercount incidents dedupe).
CREATE TABLE IF NOT EXISTS uc_incident_pairs (
    run_id VARCHAR NOT NULL,
    report_id_l BIGINT NOT NULL,      -- report_id_l < report_id_r
    report_id_r BIGINT NOT NULL,
    match_weight DOUBLE,
    probability DOUBLE NOT NULL,
    evidence JSON                     -- per comparison: {"date": {"level": "...", "weight": 1.2}, ...}
);

CREATE TABLE IF NOT EXISTS uc_incident_clusters (
    run_id VARCHAR NOT NULL,
    report_id BIGINT NOT NULL,
    incident_id VARCHAR NOT NULL      -- 'I' + zero-padded smallest report_id of the incident
);

CREATE TABLE IF NOT EXISTS uc_incidents (
    run_id VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL,
    date_start DATE,
    date_end DATE,
    date_precision VARCHAR,
    place VARCHAR,
    locality VARCHAR,
    adm1 VARCHAR,
    lat DOUBLE,
    lon DOUBLE,
    object_type VARCHAR,
    weapon VARCHAR,
    killed_min INTEGER,
    killed_max INTEGER,
    injured_min INTEGER,
    injured_max INTEGER,
    actors JSON,                      -- every suspected actor reported, as written
    family_keys VARCHAR[],            -- every family its reports name
    victim_keys VARCHAR[],            -- every victim name key its reports give
    n_reports INTEGER NOT NULL,
    n_sources INTEGER NOT NULL,       -- independent sources
    sources JSON,                     -- [{"name", "kind", "reference", "archive_hash", "file", "row"}]
    grade VARCHAR NOT NULL,           -- confirmed | fair | weak | contested | discounted
    grade_reason VARCHAR NOT NULL
);

-- Review decisions on pairs of reports, and on grades. The newest decision wins.
CREATE SEQUENCE IF NOT EXISTS uc_incident_decision_seq START 1;
CREATE TABLE IF NOT EXISTS uc_incident_decisions (
    decision_id BIGINT PRIMARY KEY,
    report_id_l BIGINT NOT NULL,
    report_id_r BIGINT NOT NULL,
    decision VARCHAR NOT NULL,        -- same | different | skip
    username VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    dedupe_run_id VARCHAR,
    note VARCHAR
);

CREATE SEQUENCE IF NOT EXISTS uc_incident_grade_seq START 1;
CREATE TABLE IF NOT EXISTS uc_incident_grade_decisions (
    decision_id BIGINT PRIMARY KEY,
    report_id BIGINT NOT NULL,        -- any report of the incident: the grade follows the incident holding it
    grade VARCHAR NOT NULL,           -- confirmed | discounted | clear (back to the rule)
    username VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    note VARCHAR
);

-- Victims linked to incidents (undercount incidents assign): at most one incident per person.
CREATE TABLE IF NOT EXISTS uc_victim_incidents (
    run_id VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    incident_id VARCHAR NOT NULL,
    method VARCHAR NOT NULL,          -- reference | named | family | locality
    killed BOOLEAN NOT NULL,          -- a record of the person says killed
    score DOUBLE,
    link_run_id VARCHAR NOT NULL,     -- the person linkage used
    dedupe_run_id VARCHAR NOT NULL,   -- the incidents used
    rule VARCHAR,                     -- the rule within the method ('family at own locality' ...)
    confidence VARCHAR                -- high | medium | low (docs/incidents.md)
);
-- cases whose table was made before links carried a rule and a grade
ALTER TABLE uc_victim_incidents ADD COLUMN IF NOT EXISTS rule VARCHAR;
ALTER TABLE uc_victim_incidents ADD COLUMN IF NOT EXISTS confidence VARCHAR;

-- Displacement counts (undercount displacement import). Never mixed with deaths.
CREATE TABLE IF NOT EXISTS uc_displacement (
    count_id BIGINT PRIMARY KEY,
    file VARCHAR NOT NULL,
    "row" INTEGER NOT NULL,
    file_hash VARCHAR NOT NULL,
    raw JSON,
    date_start DATE,
    date_end DATE,
    date_precision VARCHAR,
    origin VARCHAR,                   -- place people fled from (canonical when known)
    origin_adm1 VARCHAR,
    arrival VARCHAR,                  -- place where they were counted
    arrival_adm1 VARCHAR,
    displaced BIGINT,                 -- people
    households BIGINT,
    population VARCHAR,               -- idps | returnees (what the count counts)
    source_name VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL
);
