-- Studio's table, as GenLayer Studio creates it.
CREATE TABLE IF NOT EXISTS current_state (
    id         varchar(255) PRIMARY KEY,
    data       jsonb,
    balance    numeric(78,0) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at timestamptz DEFAULT current_timestamp
);
