// Prepared statements, compiled once per SQL text: better-sqlite3's prepare
// parses and plans the SQL each time, which costs more than most of the
// statements it prepares on the replica's hot path.

import type Database from 'better-sqlite3';

export class Statements {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Database.Statement {
    let statement = this.cache.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }
}
