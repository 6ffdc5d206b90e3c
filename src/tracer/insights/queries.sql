-- The SQL of `tracer insights`, one named block per job (`-- name: NAME`); a block may hold several statements,
-- each ending with `;` at the end of a line. Values are always parameters ($since, $until, $repo…), never text
-- pasted into the SQL.
--
-- The tables are those of the index (created by `schema`) or, for `tracer insights --dataset DIR`, tables of
-- the same names and columns made from the dataset's Parquet files (`dataset_*`): the queries below run
-- unchanged on both. Times: `started_at` is a TIMESTAMP in UTC; `*_us` are microseconds since the session
-- start; integers are -1 where unknown (a command that never finished has exit_status -1).

-- name: schema
CREATE TABLE meta (key VARCHAR, value VARCHAR);
CREATE TABLE files (path VARCHAR, size BIGINT, mtime_ns BIGINT, session_id VARCHAR, problem VARCHAR);
CREATE TABLE sessions (
    session_id VARCHAR, session_name VARCHAR, path VARCHAR, started_at TIMESTAMP, duration DOUBLE, task VARCHAR,
    repository VARCHAR, workspace VARCHAR, base_commit VARCHAR, branch VARCHAR, verdict VARCHAR,
    commands INTEGER, failed_commands INTEGER, edits INTEGER, notes INTEGER, interrupted BOOLEAN, problem VARCHAR,
    shell_kind VARCHAR, tracer_version VARCHAR
);
CREATE TABLE commands (
    session_id VARCHAR, command_id INTEGER, start_us BIGINT, end_us BIGINT, duration DOUBLE, command VARCHAR,
    cwd VARCHAR, exit_status INTEGER, finished BOOLEAN, program VARCHAR, is_test BOOLEAN, tests_failed BOOLEAN,
    error_rule VARCHAR, error_detail VARCHAR
);
COMMENT ON COLUMN commands.tests_failed IS 'For a test run: whether its tests failed (from its exit status when that is the tests'', else from the summary its runner printed: `pytest | tail -3`); NULL when nothing says, and for other commands.';
CREATE TABLE failed_tests (session_id VARCHAR, command_id INTEGER, test VARCHAR);
CREATE TABLE edits (
    session_id VARCHAR, t_us BIGINT, path VARCHAR, op VARCHAR, command_id INTEGER, added INTEGER, removed INTEGER
);
CREATE TABLE notes (
    session_id VARCHAR, note_id VARCHAR, t_us BIGINT, text VARCHAR, tags VARCHAR[], source VARCHAR,
    command_id INTEGER
);
COMMENT ON TABLE files IS 'A cache: tracer insights rebuilds this database from the session files whenever it is missing, and deletes it at will. The sessions are the truth.';

-- name: read_meta
SELECT key, value FROM meta;

-- name: write_meta
DELETE FROM meta WHERE key = $key;
INSERT INTO meta VALUES ($key, $value);

-- name: known_files
SELECT path, size, mtime_ns, session_id FROM files;

-- name: unreadable_files
SELECT path, problem FROM files WHERE session_id IS NULL ORDER BY path;

-- name: count_sessions
SELECT count(*) FROM sessions;

-- name: insert_files
INSERT INTO files SELECT unnest($path), unnest($size), unnest($mtime_ns), unnest($session_id), unnest($problem);

-- name: forget
DELETE FROM sessions WHERE session_id IN (SELECT unnest($ids));
DELETE FROM commands WHERE session_id IN (SELECT unnest($ids));
DELETE FROM failed_tests WHERE session_id IN (SELECT unnest($ids));
DELETE FROM edits WHERE session_id IN (SELECT unnest($ids));
DELETE FROM notes WHERE session_id IN (SELECT unnest($ids));
DELETE FROM files WHERE path IN (SELECT unnest($paths));

-- name: insert_sessions
INSERT INTO sessions SELECT
    unnest($session_id), unnest($session_name), unnest($path), unnest($started_at), unnest($duration),
    unnest($task), unnest($repository), unnest($workspace), unnest($base_commit), unnest($branch),
    unnest($verdict), unnest($commands), unnest($failed_commands), unnest($edits), unnest($notes),
    unnest($interrupted), unnest($problem), unnest($shell_kind), unnest($tracer_version);

-- name: insert_commands
INSERT INTO commands SELECT
    unnest($session_id), unnest($command_id), unnest($start_us), unnest($end_us), unnest($duration),
    unnest($command), unnest($cwd), unnest($exit_status), unnest($finished), unnest($program), unnest($is_test),
    unnest($tests_failed), unnest($error_rule), unnest($error_detail);

-- name: insert_failed_tests
INSERT INTO failed_tests SELECT unnest($session_id), unnest($command_id), unnest($test);

-- name: insert_edits
INSERT INTO edits SELECT
    unnest($session_id), unnest($t_us), unnest($path), unnest($op), unnest($command_id), unnest($added),
    unnest($removed);

-- name: insert_notes
INSERT INTO notes SELECT
    unnest($session_id), unnest($note_id), unnest($t_us), unnest($text), unnest($tags), unnest($source),
    unnest($command_id);

-- name: attach
ATTACH $path AS idx;
USE idx;

-- name: detach
USE memory;
DETACH idx;

-- name: compact
-- The index copied to a new file ($path), which then replaces it: freed blocks are not copied.
ATTACH $path AS compacted;
COPY FROM DATABASE idx TO compacted;
DETACH compacted;
USE memory;
DETACH idx;

-- name: macros
-- The sessions of a period [since, until), of one repository when repo is not NULL: the repository's remote URL
-- (datasets), its directory, or a directory inside it.
CREATE OR REPLACE TEMP MACRO period_sessions(since, until, repo) AS TABLE
    SELECT * FROM sessions
    WHERE started_at >= since AND started_at < until
      AND (repo IS NULL OR repository = repo OR workspace = repo OR starts_with(workspace, repo || '/'));

-- name: totals
SELECT
    count(*) AS sessions,
    coalesce(sum(duration), 0) AS seconds,
    coalesce(sum(commands), 0) AS commands,
    coalesce(sum(failed_commands), 0) AS failed,
    coalesce(sum(edits), 0) AS edits,
    coalesce(sum(notes), 0) AS notes,
    count(*) FILTER (WHERE interrupted) AS interrupted,
    count(DISTINCT coalesce(repository, workspace)) AS repositories
FROM period_sessions($since, $until, $repo);

-- name: verdicts
SELECT coalesce(verdict, 'unverified') AS verdict, count(*) AS sessions
FROM period_sessions($since, $until, $repo)
GROUP BY ALL
ORDER BY sessions DESC, verdict;

-- name: activity
-- Sessions, commands and failures per local day ($utc_offset: seconds east of UTC).
SELECT
    CAST(started_at + to_seconds($utc_offset) AS DATE) AS day,
    count(*) AS sessions,
    sum(commands) AS commands,
    sum(failed_commands) AS failed
FROM period_sessions($since, $until, $repo)
GROUP BY ALL
ORDER BY day;

-- name: debugging
-- Per session with tests: the first failing test run (red), the first passing one after it (green), whether
-- the last test run that said failed; and the edit -> test cycles: test runs with an edit since the previous
-- test run (each edit joined to the first test run after it). A test run passed or failed by `tests_failed`
-- (its exit status, or the summary it printed when the status is not the tests').
WITH s AS (SELECT session_id FROM period_sessions($since, $until, $repo)),
tests AS (
    SELECT c.session_id, c.start_us, c.end_us, c.tests_failed,
           min(c.start_us) FILTER (WHERE c.tests_failed) OVER (PARTITION BY c.session_id) AS red_start
    FROM commands c SEMI JOIN s ON c.session_id = s.session_id
    WHERE c.is_test AND c.finished
),
per_session AS (
    SELECT session_id,
           count(*) AS runs,
           any_value(red_start) AS red_start,
           arg_max(tests_failed, start_us) FILTER (WHERE tests_failed IS NOT NULL) AS last_failed,
           min(end_us) FILTER (WHERE start_us = red_start) AS red_end,
           min(end_us) FILTER (WHERE NOT tests_failed AND start_us > red_start) AS green_end
    FROM tests
    GROUP BY ALL
),
cycles AS (
    SELECT count(DISTINCT (t.session_id, t.start_us)) AS cycles
    FROM (SELECT e.session_id, e.t_us FROM edits e SEMI JOIN s ON e.session_id = s.session_id) e
    ASOF JOIN tests t ON e.session_id = t.session_id AND e.t_us < t.start_us
)
SELECT
    count(*) AS sessions_with_tests,
    coalesce(sum(runs), 0) AS test_runs,
    count(red_start) AS sessions_with_failures,
    count(green_end) AS loops,
    median(green_end - red_end) / 1e6 AS median_seconds,
    max(green_end - red_end) / 1e6 AS max_seconds,
    (SELECT cycles FROM cycles) AS cycles,
    count(*) FILTER (WHERE last_failed) AS abandoned
FROM per_session;

-- name: abandoned
-- Sessions whose last test run failed: the work stopped without a passing test. Newest first.
WITH s AS (SELECT * FROM period_sessions($since, $until, $repo)),
last_test AS (
    SELECT session_id, arg_max(tests_failed, start_us) AS last_failed
    FROM commands
    WHERE is_test AND finished AND tests_failed IS NOT NULL AND session_id IN (SELECT session_id FROM s)
    GROUP BY ALL
)
SELECT s.session_id, s.session_name, s.started_at, s.task, coalesce(s.repository, s.workspace) AS repository
FROM s JOIN last_test l ON s.session_id = l.session_id
WHERE l.last_failed
ORDER BY s.started_at DESC, s.session_name
LIMIT $limit;

-- name: top_commands
-- The commands most run (a shell's `exit` is left out of both rankings: every interactive session ends with it).
SELECT c.program, count(*) AS runs, count(*) FILTER (WHERE c.exit_status > 0) AS failed
FROM commands c SEMI JOIN period_sessions($since, $until, $repo) s ON c.session_id = s.session_id
WHERE c.program NOT IN ('', 'exit', 'logout')
GROUP BY ALL
ORDER BY runs DESC, c.program
LIMIT $limit;

-- name: top_failing
SELECT c.program, count(*) FILTER (WHERE c.exit_status > 0) AS failed, count(*) AS runs
FROM commands c SEMI JOIN period_sessions($since, $until, $repo) s ON c.session_id = s.session_id
WHERE c.program NOT IN ('', 'exit', 'logout')
GROUP BY ALL
HAVING failed > 0
ORDER BY failed DESC, runs DESC, c.program
LIMIT $limit;

-- name: error_patterns
-- Failed commands by error pattern (rule, detail), in the period ($since..$until) and the one before it
-- ($previous..$since).
WITH s AS (
    SELECT session_id, started_at >= $since AS current FROM period_sessions($previous, $until, $repo)
)
SELECT c.error_rule AS rule, c.error_detail AS detail,
       count(*) FILTER (WHERE s.current) AS count,
       count(*) FILTER (WHERE NOT s.current) AS previous
FROM commands c JOIN s ON c.session_id = s.session_id
WHERE c.exit_status > 0 AND NOT list_contains($carried, trim(c.command))  -- (tracer.model.Command.failed)
GROUP BY ALL
ORDER BY count DESC, previous DESC, rule, detail;

-- name: failing_tests
WITH s AS (
    SELECT session_id, started_at >= $since AS current FROM period_sessions($previous, $until, $repo)
)
SELECT f.test,
       count(*) FILTER (WHERE s.current) AS count,
       count(*) FILTER (WHERE NOT s.current) AS previous,
       count(DISTINCT f.session_id) FILTER (WHERE s.current) AS sessions
FROM failed_tests f JOIN s ON f.session_id = s.session_id
GROUP BY ALL
HAVING count > 0
ORDER BY count DESC, f.test
LIMIT $limit;

-- name: repositories
SELECT coalesce(repository, workspace) AS repository,
       count(*) AS sessions,
       sum(duration) AS seconds,
       sum(commands) AS commands,
       sum(failed_commands) AS failed,
       sum(edits) AS edits,
       max(started_at) AS last_started
FROM period_sessions($since, $until, $repo)
GROUP BY ALL
ORDER BY sessions DESC, repository
LIMIT $limit;

-- name: dataset
-- `tracer insights --dataset DIR`: the index's tables made from the Parquet shards of a dataset of `tracer
-- dataset build` ($sessions, $commands, $edits, $notes: lists of files). Columns the dataset has are taken as
-- they are; what the index derives (a command's program, whether it runs tests, the error pattern of a failure,
-- the failing tests) comes from the same Python code, called as functions.
SET TimeZone = 'UTC';
CREATE TEMP TABLE sessions AS
SELECT session_id, session_name, NULL::VARCHAR AS path,
       CAST(started_at AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS started_at, duration, task, repository, workspace,
       base_commit, branch, verdict, commands, failed_commands, edits, notes, interrupted, problem, shell_kind,
       tracer_version
FROM read_parquet($sessions);
CREATE TEMP TABLE classified AS
SELECT session_id, command_id, start_us, end_us, duration, command, cwd, exit_status, finished,
       tracer_command_kind(command) AS kind,
       CASE WHEN exit_status > 0 THEN tracer_failure(output, exit_status, command) END AS failure,
       tracer_tests_failed(command, exit_status, output) AS tests_failed
FROM read_parquet($commands);
CREATE TEMP TABLE commands AS
SELECT session_id, command_id, start_us, end_us, duration, command, cwd, exit_status, finished,
       kind.program AS program, kind.is_test AS is_test, CASE WHEN kind.is_test THEN tests_failed END AS tests_failed,
       failure.rule AS error_rule,
       failure.detail AS error_detail
FROM classified;
CREATE TEMP TABLE failed_tests AS
SELECT session_id, command_id, unnest(failure.tests) AS test FROM classified WHERE failure IS NOT NULL;
DROP TABLE classified;
CREATE TEMP TABLE edits AS
SELECT session_id, t_us, path, op, command_id, added, removed FROM read_parquet($edits);
CREATE TEMP TABLE notes AS
SELECT session_id, note_id, t_us, text, tags, source, command_id FROM read_parquet($notes);
