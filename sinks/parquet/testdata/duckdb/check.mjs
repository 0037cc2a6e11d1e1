// Reads an asana-beam Parquet export with DuckDB and prints what it finds
// as JSON: per stream the row count, the gids, the names (if it has them)
// and the column types; and a
// query through nested fields (tasks.memberships[].project.gid).
//
//   node check.mjs EXPORT_DIR
import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();
const q = (s) => "'" + s.replaceAll("'", "''") + "'";

const out = { streams: {}, nested: {} };
for (const stream of readdirSync(dir).sort()) {
  const sdir = join(dir, stream);
  if (stream.startsWith('_') || !readdirSync(sdir).some((f) => f.endsWith('.parquet'))) continue;
  const src = `read_parquet(${q(join(sdir, '*.parquet'))})`;
  const columns = {};
  for (const c of await rows(`DESCRIBE SELECT * FROM ${src}`)) columns[c.column_name] = c.column_type;
  const count = Number((await rows(`SELECT count(*) AS n FROM ${src}`))[0].n);
  let keys = [];
  if ('gid' in columns) keys = (await rows(`SELECT gid FROM ${src} ORDER BY gid`)).map((r) => r.gid);
  let names = [];
  if ('name' in columns) names = (await rows(`SELECT name FROM ${src} ORDER BY gid`)).map((r) => r.name);
  out.streams[stream] = { rows: count, keys, columns, names };
}
if (existsSync(join(dir, 'tasks'))) {
  const src = `read_parquet(${q(join(dir, 'tasks', '*.parquet'))})`;
  out.nested.membership_project_gids = (await rows(
    `SELECT m.project.gid AS gid FROM (SELECT unnest(memberships) AS m FROM ${src}) ORDER BY gid`)).map((r) => r.gid);
  out.nested.first_membership = (await rows(
    `SELECT count(*) AS n FROM ${src} WHERE memberships[1].project.gid IS NOT NULL`))[0].n;
}
console.log(JSON.stringify(out));
