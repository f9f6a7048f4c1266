-- The fixture every suite under t/ reads.  The test command loads it into
-- the database named by TEST_NGINX_PG_DBNAME; nothing is created through
-- nginx.  Balances cover the edges of the hex encoding.

SET client_min_messages = warning;

DROP VIEW IF EXISTS slow_state;
DROP VIEW IF EXISTS kill_state;
DROP FUNCTION IF EXISTS kill_slow();
DROP TABLE IF EXISTS current_state;
DROP TABLE IF EXISTS accounts;

-- Studio's table, as Studio creates it
CREATE TABLE current_state (
    id         varchar(255) PRIMARY KEY,
    data       jsonb,
    balance    numeric(78,0) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at timestamptz DEFAULT current_timestamp
);

INSERT INTO current_state (id, data, balance) VALUES
    -- EIP-55's own test vectors
    ('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '{}', 0),
    ('0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '{}', 1),
    ('0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '{}', 9007199254740993),
    ('0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb', '{}',
        1000000000000000000000000),
    ('0x52908400098527886E0F7030069857D2E4169EE7', '{}',
        115792089237316195423570985008687907853269984665640564039457584007913129639935),
    ('0x8617E340B3D01FA5F11F306F4090FD50E238070D', '{}', 255),
    ('0xde709f2102306220921060314715629080e2fb77', '{}', 4096),
    ('0x27b1fdb04752bbc536007a920d24acb045561c26', '{}', 1000000000000000000);

-- a second layout, for the configurable table and column names
CREATE TABLE accounts (
    address  text PRIMARY KEY,
    wei      numeric NOT NULL
);

INSERT INTO accounts (address, wei) VALUES
    ('0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', 42),
    ('0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', 7.000),
    ('0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', 1.5);

-- a lookup through this view takes one second: for timeouts, queues and
-- client aborts (the CTE runs once per statement, whatever the row count)
CREATE VIEW slow_state AS
    WITH pause AS MATERIALIZED (SELECT pg_sleep(1))
    SELECT c.id, c.balance FROM current_state c, pause;

-- a lookup through this view terminates, 200 ms in, every other backend
-- running a statement over slow_state: a connection lost mid-statement
CREATE FUNCTION kill_slow() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_sleep(0.2);
    SELECT count(pg_terminate_backend(pid)) INTO n
        FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
          AND state = 'active'
          AND query LIKE '%slow\_state%';
    RETURN n;
END
$$;

CREATE VIEW kill_state AS
    WITH k AS MATERIALIZED (SELECT kill_slow())
    SELECT c.id, c.balance FROM current_state c, k;
