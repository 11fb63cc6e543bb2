-- Drift detection (issue 18): per stack whose config asks for checks, when the next one is
-- due (jittered), whether one runs now (`running_until`, a lease: the fleet-wide cap counts
-- these), and how the last one went; and per drifted resource what differs, first and last
-- seen. Checks never write to `operations`: they hold no stack and change no state.
CREATE TABLE drift_checks (
    stack_name TEXT PRIMARY KEY NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    next_at TIMESTAMP NOT NULL,
    running_until TIMESTAMP,
    started_at TIMESTAMP,
    checked_at TIMESTAMP,
    error TEXT
);
CREATE INDEX drift_checks_due ON drift_checks (next_at);

CREATE TABLE drift_resources (
    stack_name TEXT NOT NULL REFERENCES stacks (stack_name) ON DELETE CASCADE,
    urn TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    name TEXT NOT NULL,
    op TEXT NOT NULL,
    paths TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (stack_name, urn)
);
