/** The sessions table of docs/mpta.md ("Sessions"), created if missing, as the original did. */

export const SESSION_SCHEMA = "gas_station_1";
export const SESSION_TABLE = `${SESSION_SCHEMA}.car_frontal_info`;

export const CREATE_SESSION_TABLE: string[] = [
  `CREATE SCHEMA IF NOT EXISTS ${SESSION_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${SESSION_TABLE} (
    display_id VARCHAR(255),
    captured_timestamp VARCHAR(255),
    session_id VARCHAR(255) PRIMARY KEY,
    license_character VARCHAR(255) DEFAULT NULL,
    license_type VARCHAR(255) DEFAULT 'No model available',
    car_brand VARCHAR(255) DEFAULT NULL,
    car_model VARCHAR(255) DEFAULT NULL,
    car_body_type VARCHAR(255) DEFAULT NULL,
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW())`,
  // Tables made by older versions of the original lack some columns.
  `ALTER TABLE ${SESSION_TABLE} ADD COLUMN IF NOT EXISTS car_brand VARCHAR(255) DEFAULT NULL`,
  `ALTER TABLE ${SESSION_TABLE} ADD COLUMN IF NOT EXISTS car_model VARCHAR(255) DEFAULT NULL`,
  `ALTER TABLE ${SESSION_TABLE} ADD COLUMN IF NOT EXISTS car_body_type VARCHAR(255) DEFAULT NULL`,
  `ALTER TABLE ${SESSION_TABLE} ADD COLUMN IF NOT EXISTS created_at TIMESTAMP DEFAULT NOW()`,
  `ALTER TABLE ${SESSION_TABLE} ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP DEFAULT NOW()`,
];

/** The initial row of a session; idempotent (a replayed write changes nothing). */
export const INSERT_SESSION = `INSERT INTO ${SESSION_TABLE}
  (display_id, captured_timestamp, session_id, license_character, license_type, car_brand, car_model, car_body_type)
  VALUES ($1, $2, $3, NULL, 'No model available', NULL, NULL, NULL)
  ON CONFLICT (session_id) DO NOTHING`;
